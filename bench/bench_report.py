"""How long rendering one video's report page takes (target: under 2 s on 2 cores).

Builds a store in a temporary folder: synthetic squats (`analysis.testing.synthetic`, real geometry
with noise and dropouts) scored by the shipped rule library (`rules.scoring`), written as a real
MJPG video beside the store so that the thumbnails decode frames, as in the nightly run. Then
renders that video's page several times and prints the median, the best, the page's size and
its thumbnails' size. A second, multi-person case puts several people in one video.

Usage: bench/bench_report.py [--reps 20] [--people 1] [--fps 30] [--runs 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _limit_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import cv2

    cv2.setNumThreads(n)


def build_store(root: Path, reps: int, people: int, fps: float, width: int, height: int) -> tuple:
    """A store with one scored multi-rep video (and its video file); returns (store, video_id)."""
    import cv2
    import numpy as np
    import pandas as pd

    from analysis.io.drawing import draw_skeleton
    from analysis.testing.synthetic import generate_clip
    from posecoach.schema import COCO17
    from posecoach.store import Store
    from posecoach.videos import VideoRow, write_video_row
    from rules.scoring import score_video

    parts = []
    for p in range(people):
        depth = [125.0 if i % 4 == 2 else 70.0 for i in range(reps)]
        clip = generate_clip(
            "squat", reps=reps, view="side", fps=fps, width=width, height=height,
            noise_px=1.5, dropout=0.02, seed=p, track_id=p, depth=depth,
        )  # fmt: skip
        kp = clip.keypoints.copy()
        shift = (p - (people - 1) / 2) * width / max(people, 2) * 0.9
        for name in COCO17:
            for col in (f"{name}_x", f"{name}_x_raw"):
                kp[col] = kp[col] + shift
        kp["bbox_x1"] += shift
        kp["bbox_x2"] += shift
        parts.append(kp)
    keypoints = pd.concat(parts, ignore_index=True).sort_values(["frame", "track_id"])
    n_frames = int(keypoints["frame"].max()) + 1
    video_path = root / "squats.avi"
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    xy = np.stack(
        [
            keypoints[[f"{n}_x" for n in COCO17]].to_numpy(),
            keypoints[[f"{n}_y" for n in COCO17]].to_numpy(),
        ],
        axis=-1,
    )
    frames = keypoints["frame"].to_numpy()
    for f in range(n_frames):
        img = np.full((height, width, 3), (70, 90, 60), np.uint8)
        for pts in xy[frames == f]:
            draw_skeleton(img, pts, None, color=(220, 220, 220), thickness=6, label="", copy=False)
        writer.write(img)
    writer.release()

    store = Store(root / "store")
    vid, date = "be7c4be7c4be7c4b", "2024-01-01"
    store.write("keypoints", keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path=str(video_path), file_name="squats.avi", athlete="Bench",
        exercise="squat", view="side", fps=fps, width=width, height=height, frames=n_frames,
        duration_s=n_frames / fps, status="ok", rotation=0, n_tracks=people,
        recorded_at=dt.datetime(2024, 1, 1, 18, tzinfo=dt.UTC),
    )  # fmt: skip
    score_video(store, vid, video=row.to_dict())
    write_video_row(store, row)
    return store, vid, n_frames


def measure(reps: int, people: int, fps: float, runs: int, width: int, height: int) -> None:
    from reports.build import _context, render_video

    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        store, vid, n_frames = build_store(root, reps, people, fps, width, height)
        setup_s = time.perf_counter() - t0
        out = root / "out"
        ctx = _context(out)  # plotly.js is written once per folder, not per page
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            page = render_video(store, vid, out, _ctx=ctx)
            times.append(time.perf_counter() - t)
        # the first render also pays for lazy imports and compiling the templates (ctx keeps
        # them); no rule file is read: the page charts the features stored with the findings
        page_kb = page.stat().st_size / 1024
        img_kb = sum(p.stat().st_size for p in (page.parent / "img").glob(f"{vid}-*.jpg")) / 1024
        n_img = len(list((page.parent / "img").glob(f"{vid}-*.jpg")))
        print(
            f"{people} person(s), {reps} reps each, {n_frames} frames at {fps:g} fps "
            f"({n_frames / fps:.0f} s, {width}x{height}); store built in {setup_s:.1f} s"
        )
        print(
            f"  render_video: median {statistics.median(times):.3f} s, best {min(times):.3f} s, "
            f"first {times[0]:.3f} s over {runs} runs (target < 2 s)"
        )
        print(
            f"  page {page_kb:.0f} KiB + {n_img} thumbnails {img_kb:.0f} KiB (limit 5 MiB, plotly.js apart)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--people", type=int, default=0, help="0: a 1-person and a 3-person case")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    _limit_threads(args.threads)
    print(f"bench_report: {args.threads} thread(s), {os.cpu_count()} CPUs visible")
    for people in [args.people] if args.people else [1, 3]:
        measure(args.reps, people, args.fps, args.runs, args.width, args.height)
    return 0


if __name__ == "__main__":
    sys.exit(main())
