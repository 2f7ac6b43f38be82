"""``posecoach analyze PATH... --store DIR``: pose estimation on videos, images or image folders.

The models are loaded once; each input is analysed into the store (keypoints, then its
``videos`` row) with a progress bar, and a one-line summary per input is printed (with
``--json``, one JSON object per line instead, for other programs). The exit status is non-zero
if any input failed, after all inputs have been processed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from analysis.pipeline.config import EngineConfig
from flows.cli.options import add_model_arguments, engine_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="video files, images or folders")
    parser.add_argument("--store", required=True, help="store folder or fsspec URL")
    parser.add_argument(
        "--overlay",
        metavar="OUT.mp4",
        help="write the video with skeletons and track ids (a folder when several inputs)",
    )
    parser.add_argument("--athlete", help="athlete recorded with the video(s)")
    parser.add_argument("--exercise", help="exercise recorded with the video(s)")
    parser.add_argument("--view", choices=("side", "front", "oblique"), help="camera view")
    parser.add_argument(
        "--recorded-at", help="recording time, ISO 8601 (default: from the file's date)"
    )
    parser.add_argument("--images-fps", type=float, help="frame rate of image-folder sequences")
    parser.add_argument(
        "--rules", help="folder of rule files (default: the shipped library in rules/library)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per input (its videos row, the keypoints file, findings "
        "per severity, overlay) instead of the text summary; implies --quiet",
    )
    add_model_arguments(parser)


def json_record(
    row: dict[str, Any],
    path: str,
    *,
    keypoints_file: str | None,
    severities: dict[str, int] | None,
    scoring_error: str | None,
    overlay: str | None,
    seconds: float,
) -> dict[str, Any]:
    """One input's result as plain JSON types: the ``videos`` row (every column, and ``date``)
    plus where its keypoints are and what scoring found. NaN and missing values are null."""

    def plain(value: Any) -> Any:
        if value is None or value != value:  # NaN and NaT differ from themselves
            return None
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "item"):  # numpy scalars
            return plain(value.item())
        return value

    from posecoach.schema import VIDEOS

    # Every column, in the table's order, whether or not this row has it: one shape per line.
    columns = [*VIDEOS.names, "date"]
    record = {"input": path, **{name: plain(row.get(name)) for name in columns}}
    record.update(
        keypoints_file=keypoints_file,
        findings=severities,
        scoring_error=scoring_error,
        overlay=overlay,
        seconds=round(seconds, 3),
    )
    return record


def _overlay_path(overlay: str, video_path: str, n_inputs: int) -> Path:
    out = Path(overlay)
    if n_inputs == 1 and out.suffix.lower() in (".mp4", ".mov", ".mkv", ".avi"):
        return out
    return out / f"{Path(video_path).stem}.overlay.mp4"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from analysis.ingest.analyze import VideoMeta, analyze_into_store
    from analysis.pipeline.engine import PoseEngine
    from posecoach.store import Store
    from posecoach.videos import write_video_row
    from rules.scoring import score_video

    recorded_at = None
    if args.recorded_at:
        try:
            recorded_at = dt.datetime.fromisoformat(args.recorded_at)
        except ValueError:
            print(f"--recorded-at: not an ISO 8601 time: {args.recorded_at!r}", file=sys.stderr)
            return 2
    try:
        config = EngineConfig(**engine_options(args))
        engine = PoseEngine(config)
    except Exception as exc:  # model resolution errors carry their own explanation
        print(f"posecoach analyze: cannot load the models: {exc}", file=sys.stderr)
        return 2
    if engine.random_weights:
        print(
            "WARNING: running with RANDOM (untrained) weights: keypoints are meaningless; "
            "recorded as random_weights=true in the store",
            file=sys.stderr,
        )
    store = Store(args.store)
    failed = 0
    for path in args.paths:
        meta = VideoMeta(
            athlete=args.athlete, exercise=args.exercise, view=args.view, recorded_at=recorded_at
        )
        bar = tqdm(
            total=0,
            unit="frame",
            desc=Path(path).name,
            disable=args.quiet or args.json,
            leave=False,
            file=sys.stderr,
        )

        def progress(done: int, total: int, bar: tqdm = bar) -> None:
            bar.total = total
            bar.update(done - bar.n)

        start = time.perf_counter()
        video = analyze_into_store(engine, path, store, meta, progress=progress)
        row = video.to_dict()
        bar.close()
        seconds = time.perf_counter() - start
        severities = scoring_error = None
        if row["status"] == "ok":
            # Scored before the videos row (the "done" marker) is written, as the nightly flow
            # does; a rules problem is reported and leaves the keypoints for `posecoach score`.
            try:
                scored = score_video(store, row["video_id"], args.rules, video=row)
                counts = scored.findings["severity"].value_counts() if len(scored.findings) else {}
                severities = {str(k): int(v) for k, v in dict(counts).items()}
            except Exception as exc:
                scoring_error = str(exc)
                print(f"{path}: not scored: {exc}", file=sys.stderr)
        write_video_row(store, video)
        overlay = None
        if row["status"] == "failed":
            failed += 1
        elif args.overlay:
            from analysis.io.overlay import write_overlay
            from posecoach.keypoints import KeyPoints

            overlay = _overlay_path(args.overlay, path, len(args.paths))
            keypoints = store.read("keypoints", video_ids=[row["video_id"]])
            write_overlay(path, KeyPoints.from_frame(keypoints), overlay)
        if args.json:
            files = store.files("keypoints", row["video_id"])
            record = json_record(
                row,
                str(path),
                keypoints_file=files[0] if files else None,
                severities=severities,
                scoring_error=scoring_error,
                overlay=str(overlay) if overlay else None,
                seconds=seconds,
            )
            print(json.dumps(record), flush=True)
            continue
        frames = row.get("frames") or 0
        fps = frames / seconds if seconds > 0 else 0.0
        line = f"{row['video_id']}  {row['status']:<6}  {path}"
        if row["status"] != "failed":
            line += f"  tracks={row.get('n_tracks')}  frames={frames}  {fps:.1f} frames/s"
        if row.get("error"):
            line += f"  ({row['error']})"
        print(line)
        if overlay:
            print(f"  overlay: {overlay}")
    if failed:
        print(f"{failed} of {len(args.paths)} input(s) failed", file=sys.stderr)
    return 1 if failed else 0
