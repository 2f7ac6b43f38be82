"""``posecoach run``: the nightly flow, once, now, on Prefect's ephemeral API.

Nothing to start by hand: without ``PREFECT_API_URL`` a temporary local Prefect server runs for
the duration of the command (about 8 s of start-up; its database is Prefect's usual one, so the
history stays). With ``PREFECT_API_URL`` set, the run is recorded on that server instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from flows.cli.options import add_model_arguments, engine_options
from flows.inbox import LAYOUT_EXAMPLE, scan_inbox
from flows.prefect_api import prefect_api


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inbox", nargs="+", required=True, metavar="DIR", help="inbox folder(s) to process"
    )
    parser.add_argument("--store", required=True, metavar="DIR", help="the Parquet store")
    parser.add_argument("--reports", required=True, metavar="DIR", help="where the HTML goes")
    parser.add_argument("--rules", metavar="DIR", help="rule files (default: the shipped library)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes, each loading the models once (0: in this process; default 1)",
    )
    parser.add_argument(
        "--dispatch",
        choices=("pool", "deployment"),
        default="pool",
        help="pool: worker processes here; deployment: one posecoach-video flow run per batch "
        "on the work pool (needs PREFECT_API_URL and prefect.yaml deployed; docs/scale-out.md)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1, help="videos per flow run (deployment)"
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="also analyse again the videos whose last analysis failed (given up after "
        "repeated out-of-memory or crashes, or bad files), e.g. once the cause is mended",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the night's outcomes as JSON")
    add_model_arguments(parser)


def empty_inbox_message(inboxes: list[str]) -> str:
    names = ", ".join(inboxes)
    return (
        f"No videos in {names}. Put recorded training videos (or images) there, one folder per "
        f"athlete and exercise:\n\n{LAYOUT_EXAMPLE}\n"
        "The exercise folder picks the rule file. A sidecar <video>.yaml may set athlete, "
        "exercise, view (side | front | oblique) and recorded_at (ISO 8601).\n"
        "Then run this command again."
    )


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    inboxes = [str(Path(p)) for p in args.inbox]
    for inbox in inboxes:
        if not Path(inbox).exists():
            Path(inbox).mkdir(parents=True)
            print(f"created the empty inbox folder {inbox}")
    exclude = [args.store, args.reports]
    if not any(scan_inbox(i, hash_files=False, exclude=exclude) for i in inboxes):
        print(empty_inbox_message(inboxes))
        return 0

    from flows.nightly import nightly

    with prefect_api():
        result = nightly(
            inboxes=[str(Path(p).resolve()) for p in inboxes],
            store=_absolute(args.store),
            reports=str(Path(args.reports).resolve()),
            engine=engine_options(args),
            rules_dir=str(Path(args.rules).resolve()) if args.rules else None,
            workers=args.workers,
            dispatch=args.dispatch,
            batch_size=args.batch_size,
            retry_failed=args.retry_failed,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    print(summary_text(result))
    return 0


def _absolute(path_or_url: str) -> str:
    # Worker processes may run elsewhere: pass absolute paths; URLs (s3://...) stay as they are.
    return path_or_url if "://" in path_or_url else str(Path(path_or_url).resolve())


def summary_text(result: dict[str, Any]) -> str:
    """What the night did, its failures with reasons, and where the reports are."""
    lines = ["night: " + ", ".join(f"{v} {k}" for k, v in result["counts"].items())]
    for o in result["outcomes"]:
        if o.get("error"):
            lines.append(f"  {o['status'] or o['action']}: {o['rel_path']}: {o['error']}")
    index = Path(result["index"])
    lines.append(f"reports: {index}")
    lines.append(f"open:    {index.resolve().as_uri()}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from flows.cli.main import main

    sys.exit(main(["run", *sys.argv[1:]]))
