"""``posecoach score``: re-score stored videos against the rule files, without running a model.

A declared view (``videos.view_source = 'declared'``) is kept; otherwise the view is estimated
anew and a videos row whose stored estimate differs (or that predates ``view_source``) is
rewritten with it.
"""

from __future__ import annotations

import argparse
import sys

from posecoach.store import Store
from posecoach.videos import record_estimated_view
from rules.loader import load_library
from rules.schema import RuleFileError
from rules.scoring import score_video


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, help="store folder or fsspec URL")
    parser.add_argument("--rules", help="rules folder (default: the shipped library)")
    parser.add_argument(
        "--video", action="append", help="video id to score (repeatable; default: all ok videos)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        library = load_library(args.rules)
    except (RuleFileError, FileNotFoundError) as exc:
        print(f"posecoach score: {exc}", file=sys.stderr)
        return 1
    store = Store(args.store)
    videos = store.read("videos", video_ids=args.video)
    if args.video:
        missing = sorted(set(args.video) - set(videos["video_id"]))
        if missing:
            print(f"posecoach score: no videos row for {', '.join(missing)}", file=sys.stderr)
            return 1
    # a copy (a file filed under a second athlete) has no keypoints: its analysed video has
    videos = videos[(videos["status"] == "ok") & videos["same_content_as"].isna()]
    failures = 0
    for _, row in videos.iterrows():
        try:
            result = score_video(store, row["video_id"], video=row.to_dict(), library=library)
        except Exception as exc:  # one bad video must not stop the others; reported, exit 1
            failures += 1
            print(f"{row['video_id']}  failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        record_estimated_view(store, row.to_dict(), result.video_view)
        what = f"{result.n_holds} hold(s)" if result.n_holds else f"{result.n_reps} rep(s)"
        rule = result.rule_id + (f" v{result.rule_version}" if result.rule_version else "")
        rule = rule or "no rule file"
        print(
            f"{result.video_id}  {result.exercise or '-'}  {rule}  {what}  "
            f"worst {result.worst_severity}" + (f"  ({result.note})" if result.note else "")
        )
    print(f"scored {len(videos) - failures} video(s), rules digest {library.digest[:12]}")
    return 1 if failures else 0
