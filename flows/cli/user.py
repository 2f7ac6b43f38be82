"""``posecoach user add|list|remove``: the web app's users (kept in ``<store>/_web/web.sqlite``).

``user add NAME [--role coach|admin] --store DIR`` reads the password from standard input: typed
twice without echo on a terminal (getpass), else the first line of what is piped in, so that a
script can create users (``printf '%s\\n' "$PW" | posecoach user add ...``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from flows.web.users import ROLES, AccountError, Accounts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a user (password from standard input)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="coach", help="default coach")
    listing = sub.add_parser("list", help="list the users and their roles")
    remove = sub.add_parser("remove", help="remove a user, their tokens and sessions")
    remove.add_argument("name")
    for p in (add, listing, remove):
        p.add_argument("--store", required=True, metavar="DIR", help="the store folder")


def read_password(stream: TextIO | None = None) -> str:
    """The new password: asked twice without echo on a terminal, else one line of stdin."""
    stream = stream or sys.stdin
    if stream.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise AccountError("the two passwords differ")
        return first
    return stream.readline().rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    try:
        accounts = Accounts.for_store(args.store)
        if args.action == "add":
            user = accounts.add_user(args.name, read_password(), args.role)
            print(f"added {user.role} {user.name}")
        elif args.action == "remove":
            accounts.remove_user(args.name)
            print(f"removed {args.name} (with their tokens and sessions)")
        else:
            for user in accounts.users():
                print(f"{user.name}\t{user.role}\t{user.created_at}")
    except AccountError as exc:
        print(f"posecoach user: {exc}", file=sys.stderr)
        return 1
    return 0
