"""Reading the store for the pages: one video's rows of a table, every video in page order,
and whose reps and findings are whose.

A video belongs to its ``videos.athlete``; in a group video a coach may name a tracked person
(the ``track_athletes`` table, `posecoach.annotations`): that track's reps and findings then
belong to the named athlete, on that athlete's page, and no longer to the video's athlete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from posecoach.annotations import track_names
from posecoach.store import Store

_DATE_IN_PATH = re.compile(r"date=(\d{4}-\d{2}-\d{2})")
#: The people of a video who may be named beside those scored (bystanders without reps): the
#: longest tracks. In a crowd a tracker breaks people into many short tracks; a thumbnail and a
#: name form for each would bury the ones that matter.
MAX_BYSTANDERS = 8


def video_rows(store: Store, table: str, video_id: str) -> tuple[pd.DataFrame, str | None]:
    """One video's rows of a table (read from its own file, not a scan) and its partition date.

    Every column of the file is read, also those beyond the table's schema (the rule file's own
    metrics in ``features``). A video without a file gives no rows, the table's columns and
    date None.
    """
    files = store.files(table, video_id)
    if not files:
        return pd.DataFrame(columns=store.dataset(table).schema.names), None
    frames = []
    for path in files:
        with store.fs.open(path, "rb") as fh:
            frames.append(pq.read_table(fh).to_pandas())
    match = _DATE_IN_PATH.search(files[-1])
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return df, match.group(1) if match else None


def track_frames(store: Store, video_id: str) -> pd.Series:
    """Frames seen per track of a video (index: track id), most first; only the ``track_id``
    column of its keypoints is read."""
    counts = pd.Series(dtype="int64")
    for path in store.files("keypoints", video_id):
        with store.fs.open(path, "rb") as fh:
            ids = pq.read_table(fh, columns=["track_id"]).column("track_id").to_pandas()
        counts = counts.add(ids.value_counts(), fill_value=0).astype("int64")
    return counts.sort_values(ascending=False, kind="stable")


def nameable_tracks(frames_per_track: pd.Series, scored: Iterable[int]) -> list[int]:
    """The tracks a coach may name, in track order: every scored one and the longest
    `MAX_BYSTANDERS` others (``frames_per_track``: as `track_frames` gives)."""
    scored = {int(t) for t in scored}
    others = frames_per_track[~frames_per_track.index.isin(list(scored))]
    # longest first; a tie goes to the earlier track
    ranked = sorted(((-int(n), int(t)) for t, n in others.items()))[:MAX_BYSTANDERS]
    return sorted(scored | {t for _, t in ranked})


def scoring_metadata(store: Store, videos: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The findings metadata of each ok video (one file footer each: what scoring recorded,
    each check's views among it)."""
    ok = videos[videos["status"] == "ok"] if len(videos) else videos
    return {str(vid): store.metadata("findings", str(vid)) for vid in ok["video_id"]}


def all_videos(store: Store) -> pd.DataFrame:
    """Every ``videos`` row, by night, then recording time, then file name."""
    videos = store.read("videos")
    return videos.sort_values(
        ["date", "recorded_at", "file_name"], kind="stable", na_position="last"
    )


def athlete_names(store: Store, videos: pd.DataFrame) -> list[str]:
    """The athletes of some videos: their ``videos.athlete`` and the names given to their
    tracks, sorted."""
    ids = [str(v) for v in videos["video_id"]] if len(videos) else []
    named = set(track_names(store, ids).values()) if ids else set()
    return sorted({str(a) for a in videos["athlete"].dropna() if a} | named)


def athlete_rows(store: Store, athlete: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """An athlete's videos, reps and findings (in page order), honouring ``track_athletes``.

    The videos are the athlete's own and those with a track named for the athlete; the reps and
    findings those of the athlete's tracks: a named track's are its athlete's, any other
    track's (and the video's notes, track -1) the video's athlete's.
    """
    videos = all_videos(store)
    names = track_names(store)
    named_here = {vid for (vid, _), name in names.items() if name == athlete}
    videos = videos[(videos["athlete"] == athlete) | videos["video_id"].isin(named_here)]
    ids = [str(v) for v in videos["video_id"]]
    owners = dict(zip(videos["video_id"], videos["athlete"], strict=True))

    def mine(rows: pd.DataFrame) -> pd.DataFrame:
        if not len(rows) or not names:
            return rows
        owner = [
            names.get((str(v), int(t)), owners.get(v))
            for v, t in zip(rows["video_id"], rows["track_id"], strict=True)
        ]
        return rows[np.array([o == athlete for o in owner], dtype=bool)]

    return videos, mine(store.read("reps", ids)), mine(store.read("findings", ids))
