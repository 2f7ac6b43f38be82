"""``posecoach token create|list|revoke``: API tokens for the web app's JSON API.

``token create NAME --store DIR`` prints the new token on its last line; it is shown once and
stored only as a hash. ``token revoke NAME [--id ID]`` revokes one token or all of a user's.
"""

from __future__ import annotations

import argparse
import sys

from flows.web.users import AccountError, Accounts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create an API token for a user (printed once)")
    create.add_argument("name", help="the user the token acts as")
    listing = sub.add_parser("list", help="list token ids (never the tokens)")
    listing.add_argument("name", nargs="?", help="only this user's tokens")
    revoke = sub.add_parser("revoke", help="revoke a user's tokens")
    revoke.add_argument("name")
    revoke.add_argument("--id", dest="token_id", help="only this token (from token list)")
    for p in (create, listing, revoke):
        p.add_argument("--store", required=True, metavar="DIR", help="the store folder")


def run(args: argparse.Namespace) -> int:
    try:
        accounts = Accounts.for_store(args.store)
        if args.action == "create":
            token_id, token = accounts.create_token(args.name)
            print(f"token {token_id} for {args.name}; shown once, keep it secret:", file=sys.stderr)
            print(token)
        elif args.action == "revoke":
            _known(accounts, args.name)
            n = accounts.revoke_tokens(args.name, args.token_id)
            if n == 0 and args.token_id is not None:
                raise AccountError(
                    f"{args.name!r} has no active token {args.token_id!r} (see: token list)"
                )
            if n == 0:
                raise AccountError(f"no active token of {args.name!r} to revoke")
            print(f"revoked {n} token(s) of {args.name}")
        else:
            if args.name is not None:
                _known(accounts, args.name)
            for t in accounts.tokens(args.name):
                state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
                print(f"{t['token_id']}\t{t['user']}\t{t['created_at']}\t{state}")
    except AccountError as exc:
        print(f"posecoach token: {exc}", file=sys.stderr)
        return 1
    return 0


def _known(accounts: Accounts, name: str) -> None:
    if accounts.user(name) is None:  # say so, rather than list or revoke nothing
        raise AccountError(f"no user {name!r}")
