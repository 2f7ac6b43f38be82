"""Reading the store for the pages: one video's rows of a table, every video in page order."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from posecoach.store import Store

_DATE_IN_PATH = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


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
