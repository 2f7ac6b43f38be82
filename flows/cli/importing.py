"""``posecoach import FILE --store DIR --athlete A --exercise E``: keypoints from another tool."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="CSV or Parquet file in the import format")
    parser.add_argument("--store", required=True, help="store folder or fsspec URL")
    parser.add_argument("--athlete", required=True)
    parser.add_argument("--exercise", required=True, help="exercise (picks the rule file)")
    parser.add_argument("--fps", type=float, help="frame rate (needed when there is no t_s)")
    parser.add_argument("--width", type=int, help="frame width in pixels")
    parser.add_argument("--height", type=int, help="frame height in pixels")
    parser.add_argument("--date", help="session date YYYY-MM-DD (default: the file's mtime)")
    parser.add_argument("--view", choices=("side", "front", "oblique"), help="declared view")
    parser.add_argument("--rules", help="rules folder (default: the shipped library)")


def run(args: argparse.Namespace) -> int:
    from analysis.ingest.importer import ImportFileError
    from flows.importing import import_keypoints
    from posecoach.store import Store
    from rules.schema import RuleFileError

    try:
        row = import_keypoints(
            args.file,
            Store(args.store),
            athlete=args.athlete,
            exercise=args.exercise,
            fps=args.fps,
            width=args.width,
            height=args.height,
            date=args.date,
            view=args.view,
            rules_dir=args.rules,
        )
    except (ImportFileError, RuleFileError) as exc:
        print(f"posecoach import: {exc}", file=sys.stderr)
        return 1
    print(
        f"{row.video_id}  {row.status}  {row.n_tracks} track(s), view {row.view}, {args.exercise}"
    )
    return 0
