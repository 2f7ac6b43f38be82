"""``posecoach query "SQL" --store DIR [--format table|csv|json]``."""

from __future__ import annotations

import argparse
import sys

import duckdb
import pandas as pd

from posecoach.store import Store, StoreError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sql",
        help="SQL over the views videos, keypoints, features, reps, findings, reviews, "
        "track_athletes",
    )
    parser.add_argument("--store", required=True, help="store folder or fsspec URL")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    try:
        df = Store(args.store).query(args.sql)
    except (duckdb.Error, StoreError) as exc:
        print(f"posecoach query: {exc}", file=sys.stderr)
        return 1
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        # One JSON object per line: easy for other programs to stream.
        df.to_json(sys.stdout, orient="records", lines=True, date_format="iso")
    else:
        with pd.option_context("display.max_columns", 60, "display.width", 200):
            print(df.to_string(index=False))
    return 0
