"""What coaches add to the store: reviews of findings and the names of tracked people.

Both are Parquet tables of the store like the analysis tables (``reviews``, ``track_athletes``,
schema 8), one file per video in the video's own date partition, so that an analyst queries them
with DuckDB beside ``findings`` and ``reps`` (`posecoach.store.Store.query`). A file holds the
current state: a coach's new review of a finding replaces that coach's earlier one, a new name
of a track replaces the old. Writes read the video's file, change it and replace it atomically
(`Store.write`); a lock makes that read-modify-write safe between the web app's threads (one
``posecoach web`` process writes these tables).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import asdict, dataclass

import pandas as pd

from posecoach.schema import VERDICTS
from posecoach.store import Store, StoreError

REVIEW_KEY = ("video_id", "track_id", "rep_index", "check_id", "rule_id", "rule_version")
MAX_NOTE_CHARS = 2000
_DATE_IN_PATH = re.compile(r"date=(\d{4}-\d{2}-\d{2})")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Review:
    """One coach's verdict on one finding (a row of ``reviews``)."""

    video_id: str
    track_id: int
    rep_index: int
    check_id: str
    rule_id: str
    rule_version: str
    reviewer: str
    verdict: str  # agree | disagree
    note: str = ""
    reviewed_at: dt.datetime | None = None  # None: now


@dataclass(frozen=True)
class TrackName:
    """Who a tracked person is (a row of ``track_athletes``)."""

    video_id: str
    track_id: int
    athlete: str
    named_by: str
    named_at: dt.datetime | None = None  # None: now


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def video_date(store: Store, video_id: str) -> str:
    """The date partition of a video's ``videos`` row.

    Raises:
        StoreError: the store has no such video.
    """
    files = store.files("videos", video_id)
    match = _DATE_IN_PATH.search(files[-1]) if files else None
    if match is None:
        raise StoreError(f"{store.url}: no videos row for video_id {video_id!r}")
    return match.group(1)


def _replace_rows(
    store: Store, table: str, video_id: str, row: dict[str, object], key: tuple[str, ...]
) -> None:
    """Put ``row`` into a video's file of ``table``, in place of the row with the same ``key``
    (a ``row`` whose ``athlete`` is empty only removes it)."""
    date = video_date(store, video_id)
    with _LOCK:
        old = store.read(table, [video_id]).drop(columns=["date"])
        if len(old):
            same = pd.Series(True, index=old.index)
            for k in key:
                same &= old[k] == row[k]
            old = old[~same]
        keep = row.get("athlete", "x") != ""
        rows = pd.concat([old, pd.DataFrame([row])], ignore_index=True) if keep else old
        if len(rows):
            store.write(table, rows, video_id=video_id, date=date)
        else:
            store.delete(video_id, tables=(table,))


def record_review(store: Store, review: Review) -> Review:
    """Store a review (replacing the reviewer's earlier one of the same finding); returns it
    as stored.

    Raises:
        ValueError: a verdict other than agree or disagree, an empty reviewer, a note too long.
        StoreError: the video is not in the store.
    """
    if review.verdict not in VERDICTS:
        raise ValueError(f"verdict {review.verdict!r}: expected one of {', '.join(VERDICTS)}")
    if not review.reviewer:
        raise ValueError("a review needs a reviewer")
    if len(review.note) > MAX_NOTE_CHARS:
        raise ValueError(f"a note is at most {MAX_NOTE_CHARS} characters")
    stored = Review(**{**asdict(review), "reviewed_at": review.reviewed_at or _now()})
    _replace_rows(store, "reviews", review.video_id, asdict(stored), (*REVIEW_KEY, "reviewer"))
    return stored


def latest_reviews(reviews: pd.DataFrame) -> pd.DataFrame:
    """The latest review per (finding, reviewer), whatever files the rows came from."""
    if not len(reviews):
        return reviews
    ordered = reviews.sort_values("reviewed_at", kind="stable")
    return ordered.drop_duplicates([*REVIEW_KEY, "reviewer"], keep="last").reset_index(drop=True)


def video_reviews(store: Store, video_id: str) -> pd.DataFrame:
    """A video's reviews, the latest per (finding, reviewer), oldest first."""
    return latest_reviews(store.read("reviews", [video_id]))


def name_track(store: Store, name: TrackName) -> None:
    """Say who a video's track is; an empty ``athlete`` gives the track back to the video's
    athlete.

    Raises:
        StoreError: the video is not in the store.
    """
    row = {**asdict(name), "named_at": name.named_at or _now()}
    _replace_rows(store, "track_athletes", name.video_id, row, ("video_id", "track_id"))


def track_names(store: Store, video_ids: list[str] | None = None) -> dict[tuple[str, int], str]:
    """(video_id, track_id) -> the athlete a coach named, for the named tracks."""
    rows = store.read("track_athletes", video_ids)
    if not len(rows):
        return {}
    rows = rows.sort_values("named_at", kind="stable")
    return {
        (str(r.video_id), int(r.track_id)): str(r.athlete)
        for r in rows.itertuples(index=False)
        if r.athlete
    }


#: The coaches' agreement with the findings, per check and rule version (the README's example):
#: each review joined to the finding it judges, so that reviews of findings a re-analysis no
#: longer makes are left out.
AGREEMENT_SQL = """
SELECT f.check_id, f.rule_version, count(*) AS reviews,
       avg(CASE WHEN r.verdict = 'agree' THEN 1.0 ELSE 0.0 END) AS agreement
FROM reviews r
JOIN findings f USING (video_id, track_id, rep_index, check_id, rule_id, rule_version)
GROUP BY f.check_id, f.rule_version
ORDER BY f.check_id, f.rule_version
"""
