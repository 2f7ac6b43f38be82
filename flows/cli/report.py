"""``posecoach report --store DIR --out DIR [--date D]``: build the HTML reports from the store.

Reports read only the store: what a chart needs of the rule files (the rep signal, every check's
bands) scoring stored with the features, reps and findings. So ``--rules`` no longer has an
effect; it is still accepted, because the command line is a stable interface and scripts pass
it, and it says so on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, help="the store (folder or fsspec URL)")
    parser.add_argument("--out", required=True, help="the report folder (created if missing)")
    parser.add_argument(
        "--date",
        help="only this night (YYYY-MM-DD, the store's partition date); default: every night",
    )
    parser.add_argument(
        "--rules",
        default=None,
        metavar="DIR",
        help="ignored (accepted for scripts that pass it): reports chart from what scoring "
        "stored, not from rule files; to apply other rules run `posecoach score --rules DIR` first",
    )
    parser.add_argument(
        "--videos",
        action="append",
        default=[],
        metavar="DIR",
        help="folder that relative video paths are found under (the inbox), for thumbnails from "
        "the video's frames; repeatable. Without it, missing videos give skeletons on a blank frame",
    )


def run(args: argparse.Namespace) -> int:
    from posecoach.store import Store
    from reports.build import build_reports

    start = time.perf_counter()
    if args.rules is not None:
        print(
            f"posecoach report: --rules {args.rules} is ignored: the reports show what the "
            "store was scored with (`posecoach score --rules DIR` re-scores it)",
            file=sys.stderr,
        )
    store = Store(args.store)
    if not store.files("videos"):
        print(f"{store.url}: the store holds no video; nothing to report", file=sys.stderr)
    try:
        page = build_reports(store, args.out, date=args.date, video_roots=args.videos)
    except ValueError as exc:
        print(f"posecoach report: {exc}", file=sys.stderr)
        return 2
    print(f"{page}  ({time.perf_counter() - start:.1f} s)")
    return 0
