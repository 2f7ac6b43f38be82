"""What coaches add to the store: reviews of findings and the names of tracked people.

Both are Parquet tables of the store like the analysis tables (``reviews``, ``track_athletes``,
schema 8), one file per video in the video's own date partition, so that an analyst queries them
with DuckDB beside ``findings`` and ``reps`` (`posecoach.store.Store.query`). A file holds the
current state: a coach's new review of a finding replaces that coach's earlier one, a new name
of a track replaces the old. Writes read the video's file, change it and replace it atomically
(`Store.write`); a lock makes that read-modify-write safe between the web app's threads (one
``posecoach web`` process writes these tables).

Whose a tracked person's reps are (`track_owners`): a named person's are the named athlete's.
A person nobody named is the video's athlete's as long as that athlete has no named person in
the video; a video filed under several athletes (one recording of a class in two athletes'
folders, `posecoach.videos.VideoRow.as_copy`) has several such athletes, and each of them,
until named, is shown every person not named yet (the pages say to name them). Names belong
to the recording, the analysed video: naming person 1 Ana on Ana's copy and person 2 Bob on
Bob's leaves each page with exactly its own athlete's person.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
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

    def same_key(old: pd.DataFrame) -> pd.Series:
        same = pd.Series(True, index=old.index)
        for k in key:
            same &= old[k] == row[k]
        return same

    keep = row.get("athlete", "x") != ""
    _rewrite(store, table, video_id, same_key, row if keep else None)


def _rewrite(
    store: Store,
    table: str,
    video_id: str,
    drop: Callable[[pd.DataFrame], pd.Series],
    row: dict[str, object] | None,
) -> None:
    """A video's file of ``table`` without the rows ``drop`` marks, and with ``row`` if given."""
    date = video_date(store, video_id)
    with _LOCK:
        old = store.read(table, [video_id]).drop(columns=["date"])
        if len(old):
            old = old[~drop(old)]
        rows = pd.concat([old, pd.DataFrame([row])], ignore_index=True) if row else old
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


def name_athlete(
    store: Store, video_id: str, athlete: str, track_id: int | None, named_by: str
) -> None:
    """Say which person of a video is ``athlete`` (one the video is filed under): the track
    named for them, any other track named for them before no longer; ``track_id`` None: none
    (every track named for them is un-named).

    Raises:
        ValueError: an empty athlete.
        StoreError: the video is not in the store.
    """
    if not athlete:
        raise ValueError("name_athlete: the athlete is empty")

    def theirs_or_this_track(old: pd.DataFrame) -> pd.Series:
        return (old["athlete"] == athlete) | (old["track_id"] == track_id)

    row = None
    if track_id is not None:
        row = asdict(TrackName(video_id, track_id, athlete, named_by, _now()))
    _rewrite(store, "track_athletes", video_id, theirs_or_this_track, row)


def track_owners(
    filed_under: Sequence[str], named: Mapping[int, str], tracks: Iterable[int]
) -> dict[int, tuple[str, ...]]:
    """Whose each of a video's tracks is (see the module docstring): a named track its
    athlete's; a track nobody named every athlete's the video is ``filed_under`` who has no
    named track in it (none left: nobody's).

    >>> track_owners(["Ana", "Bob"], {1: "Ana"}, [1, 2])
    {1: ('Ana',), 2: ('Bob',)}
    """
    resolved = set(named.values())
    waiting = tuple(a for a in dict.fromkeys(filed_under) if a and a not in resolved)
    return {t: (named[t],) if t in named else waiting for t in tracks}


def filed_under(videos: pd.DataFrame) -> dict[str, list[str]]:
    """Analysed video id -> the athletes its file is filed under, from the ``videos`` rows (as
    the store reads them): the analysed row's athlete first, then its copies', sorted."""
    out: dict[str, list[str]] = {}
    if not len(videos):
        return out
    copy_of = videos.get("same_content_as", pd.Series(None, index=videos.index, dtype=object))
    is_copy = copy_of.notna().to_numpy()
    for vid, athlete in zip(videos["video_id"][~is_copy], videos["athlete"][~is_copy], strict=True):
        out[str(vid)] = [str(athlete)] if isinstance(athlete, str) and athlete else []
    copies = sorted(zip(copy_of[is_copy], videos["athlete"][is_copy], strict=True))
    for vid, athlete in copies:
        names = out.setdefault(str(vid), [])
        if isinstance(athlete, str) and athlete and athlete not in names:
            names.append(athlete)
    return out


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


#: Each athlete's counted reps per person, in the videos filed under them (the README's
#: example): a file filed under several athletes (``same_content_as``) shows its analysed
#: video's reps; each athlete gets the person named for them, or, before anyone is named for
#: them, every person nobody named (`track_owners`).
ATHLETE_REPS_SQL = """
SELECT v.athlete, v.file_name, r.track_id, count(*) AS reps
FROM videos v
JOIN reps r ON r.video_id = coalesce(v.same_content_as, v.video_id)
LEFT JOIN track_athletes t ON t.video_id = r.video_id AND t.track_id = r.track_id
WHERE r.kind = 'rep' AND r.partial IS NOT TRUE
  AND (t.athlete = v.athlete
       OR (t.athlete IS NULL AND v.athlete NOT IN (
           SELECT n.athlete FROM track_athletes n WHERE n.video_id = r.video_id)))
GROUP BY ALL
ORDER BY v.athlete, v.file_name, r.track_id
"""
