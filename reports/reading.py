"""Reading the store for the pages: one video's rows of a table, every video in page order,
and whose reps and findings are whose.

A video belongs to its ``videos.athlete``; in a group video a coach may name a tracked person
(the ``track_athletes`` table, `posecoach.annotations`): that track's reps and findings then
belong to the named athlete, on that athlete's page, and no longer to the video's athlete. A
file filed under several athletes (``videos.same_content_as``: one recording of a class) is
on each one's page, with the person named for them, or, until then, with every person nobody
named, marked as waiting for a name (`posecoach.annotations.track_owners`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from posecoach.annotations import filed_under, track_names, track_owners
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
    """The findings metadata of each ok video, by analysed video id (one file footer each:
    what scoring recorded, each check's views among it)."""
    ok = videos[videos["status"] == "ok"] if len(videos) else videos
    ids = dict.fromkeys(content_of(v) for v in ok.itertuples())  # a copy: its analysed video's
    return {vid: store.metadata("findings", vid) for vid in ids}


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


def content_of(video: Any) -> str:
    """The id of the analysed video whose rows a videos row shows (a row or a namedtuple of
    one): its own, or, for a copy, ``same_content_as``'s."""
    copy_of = getattr(video, "same_content_as", None)
    return str(copy_of) if isinstance(copy_of, str) and copy_of else str(video.video_id)


def athlete_videos(
    videos: pd.DataFrame, names: dict[tuple[str, int], str], athlete: str
) -> pd.DataFrame:
    """An athlete's videos rows, one per recording, in the given order: those filed under the
    athlete (analysed or copies) and those with a track named for them; where both, the
    athlete's own filing."""
    if not len(videos):
        return videos
    named_here = {vid for (vid, _), name in names.items() if name == athlete}
    content = pd.Series([content_of(v) for v in videos.itertuples()], index=videos.index)
    own = (videos["athlete"] == athlete).to_numpy(dtype=bool)
    is_copy = (content != videos["video_id"]).to_numpy()
    pick = own | (content.isin(named_here).to_numpy() & ~is_copy)
    rows = videos[pick].assign(_content=content[pick], _own=own[pick])
    rows = rows[~(rows.duplicated("_content", keep=False) & ~rows["_own"])]
    return rows.drop_duplicates("_content").drop(columns=["_content", "_own"])


@dataclass(frozen=True)
class AthleteRows:
    """What an athlete's page shows: the videos (one row per recording, the athlete's own
    filing where there is one) and the reps and findings of the athlete's tracks, under the
    analysed video's id. ``waiting``: the (video, track) pairs among them of a video filed under
    several athletes where nobody named this athlete's person yet (every person is shown);
    ``filed``: who each of the videos is filed under (`filed_under`)."""

    videos: pd.DataFrame
    reps: pd.DataFrame
    findings: pd.DataFrame
    waiting: frozenset[tuple[str, int]]
    filed: dict[str, list[str]]


def athlete_tracks(store: Store, athlete: str) -> AthleteRows:
    """An athlete's videos, reps and findings (in page order), honouring ``track_athletes`` and
    the copies of a file filed under several athletes (see the module docstring)."""
    everything = all_videos(store)
    names = track_names(store)
    filed = filed_under(everything)
    videos = athlete_videos(everything, names, athlete)
    ids = [content_of(v) for v in videos.itertuples()]
    reps, findings = store.read("reps", ids), store.read("findings", ids)
    tracks: dict[str, set[int]] = {vid: set() for vid in ids}
    for frame in (reps, findings):
        for vid, track in zip(frame["video_id"], frame["track_id"], strict=True):
            tracks[str(vid)].add(int(track))
    mine: set[tuple[str, int]] = set()
    waiting: set[tuple[str, int]] = set()
    for vid in ids:
        under = filed.get(vid, [])
        named = {t: a for (v, t), a in names.items() if v == vid}
        for track, owners in track_owners(under, named, tracks[vid]).items():
            if track < 0:  # the video's notes (no rule file, ...): its athletes' own
                owners = tuple(under)
            if athlete in owners:
                mine.add((vid, track))
                if len(under) > 1 and track not in named and track >= 0:
                    waiting.add((vid, track))

    def theirs(rows: pd.DataFrame) -> pd.DataFrame:
        if not len(rows):
            return rows
        keys = zip(rows["video_id"], rows["track_id"], strict=True)
        return rows[np.array([(str(v), int(t)) in mine for v, t in keys], dtype=bool)]

    filed = {vid: filed.get(vid, []) for vid in ids}
    return AthleteRows(videos, theirs(reps), theirs(findings), frozenset(waiting), filed)


def athlete_rows(store: Store, athlete: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """An athlete's videos, reps and findings (`athlete_tracks` without ``waiting``)."""
    rows = athlete_tracks(store, athlete)
    return rows.videos, rows.reps, rows.findings
