"""``posecoach import`` as one call: an import file into the store, scored, its row written last.

The same order as a video's analysis (`flows.workers`): keypoints (atomic), then reps, findings
and features, then the ``videos`` row, the "done" marker. It lives in `flows` because it joins
the analysis layer (reading the file) and the rules (scoring); no Prefect here.
"""

from __future__ import annotations

import dataclasses
import os

import pandas as pd

from analysis.ingest.importer import prepare_import
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from rules.scoring import score_video


def import_keypoints(
    path: str | os.PathLike[str],
    store: Store,
    *,
    athlete: str,
    exercise: str,
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
    date: str | None = None,
    view: str | None = None,
    rules_dir: str | os.PathLike[str] | None = None,
) -> VideoRow:
    """Import one file into the store, score it, write its videos row last; returns the row."""
    imported = prepare_import(
        path,
        athlete=athlete,
        exercise=exercise,
        fps=fps,
        width=width,
        height=height,
        date=date,
        view=view,
    )
    row = imported.row
    video_id = row.video_id
    keypoints = imported.keypoints.to_frame(video_id)
    store.write(
        "keypoints",
        keypoints,
        video_id=video_id,
        date=row.date,
        metadata=imported.keypoints_metadata,
    )
    # Scoring takes a declared view only (row.view_source); an estimated one is recomputed per
    # track and per view segment.
    score_video(store, video_id, rules_dir, video=row.to_dict(), keypoints=imported.keypoints)
    row = dataclasses.replace(row, processed_at=pd.Timestamp.now(tz="UTC"))
    write_video_row(store, row)
    return row
