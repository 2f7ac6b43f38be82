"""``posecoach serve``: the nightly flow on a cron schedule, in this one long-running process.

``flow.serve`` registers a deployment (``posecoach-nightly/posecoach-nightly``) with the Prefect
API and runs each scheduled run as a subprocess of this process. For a UI and run history that
outlive this process, start ``prefect server start`` first and set ``PREFECT_API_URL``; for
several machines, deploy ``prefect.yaml`` to a work pool instead (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.cli.options import add_model_arguments, engine_options
from flows.cli.run import _absolute
from flows.prefect_api import prefect_api

DEFAULT_CRON = "0 2 * * *"  # 02:00 every night


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inbox", nargs="+", required=True, metavar="DIR")
    parser.add_argument("--store", required=True, metavar="DIR")
    parser.add_argument("--reports", required=True, metavar="DIR")
    parser.add_argument("--rules", metavar="DIR", help="rule files (default: the shipped library)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--cron", default=DEFAULT_CRON, help=f"when to run, cron syntax (default {DEFAULT_CRON!r})"
    )
    parser.add_argument(
        "--timezone",
        default=None,
        help="IANA time zone of the cron, e.g. Europe/Berlin (default: this machine's, else UTC)",
    )
    parser.add_argument("--name", default="posecoach-nightly", help="deployment name")
    add_model_arguments(parser)


def local_timezone() -> str:
    """This machine's IANA zone name when it can be found ($TZ, /etc/timezone), else UTC."""
    candidates = [os.environ.get("TZ", "")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    link = Path("/etc/localtime")
    if link.is_symlink() and "zoneinfo/" in str(link.resolve()):
        candidates.append(str(link.resolve()).split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            if name:
                ZoneInfo(name)
                return name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    timezone = args.timezone or local_timezone()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(
            f"posecoach serve: --timezone {timezone!r} is not an IANA time zone"
        ) from None

    from prefect.schedules import Cron

    from flows.nightly import nightly

    parameters = {
        "inboxes": [str(Path(p).resolve()) for p in args.inbox],
        "store": _absolute(args.store),
        "reports": _absolute(args.reports),
        "engine": engine_options(args),
        "rules_dir": str(Path(args.rules).resolve()) if args.rules else None,
        "workers": args.workers,
    }
    print(f"serving {args.name}: cron {args.cron!r} ({timezone}); Ctrl-C stops")
    with prefect_api():
        nightly.serve(
            name=args.name,
            schedule=Cron(args.cron, timezone=timezone),
            parameters=parameters,
            limit=1,  # one night at a time; the claims make overlaps safe, this makes them rare
        )
    return 0
