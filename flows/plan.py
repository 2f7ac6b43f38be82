"""What a night has to do: from the inbox items and the store's ``videos`` rows to a `Plan`.

"Already done" means a ``videos`` row for the same content (video id = content hash) made with
the same model preset and pipeline version, whose status is ``ok``/``empty``, or ``failed`` for a
reason `posecoach.failures` does not try again (the file itself is bad, or given up). A
transient failure (``error_kind`` transient: the worker died, the store was unreachable, ...)
is tried again next night, up to `posecoach.failures.MAX_ATTEMPTS` runs in a row; then it is recorded as given up,
so that a video that crashes or exhausts the machine every time does not cost every night
(``retry_failed`` tries the failed videos again once the cause is mended).
A done video whose findings were scored with other rules (a different `rules digest`) is only
re-scored and re-rendered: no model runs. So is an ``ok`` video with keypoints but no
``features`` file: a store written before that table existed gets it on the next night.

The same content in two athletes' folders (one recording of a class) is analysed once, as the
video of the athlete it was first filed under (the stored row's, else the first file's), and
every other athlete's file of it is a copy (`flows.copies`): recorded, or recorded again after
its analysed video changed, never analysed. Where only copies of an analysed video are left in
the inbox, the first of them stands in for it when it must be analysed or re-scored, under the
stored row's athlete and exercise. A second file of the same content for the same athlete is
still a duplicate, and only noted.

Pure functions over `VideoRow` records and dataclasses; no Prefect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

import pandas as pd

from flows.copies import copy_id, copy_is_current
from flows.inbox import InboxItem
from posecoach import PIPELINE_VERSION, failures
from posecoach.failures import ErrorKind
from posecoach.videos import VideoRow

DONE_STATUS = ("ok", "empty")


@dataclass(frozen=True)
class Plan:
    """The night's work, each list sorted by inbox-relative path."""

    analyze: list[InboxItem] = field(default_factory=list)  # run the models
    rescore: list[InboxItem] = field(default_factory=list)  # rules or features: score + render
    record_failed: list[InboxItem] = field(default_factory=list)  # refused before any model
    done: list[InboxItem] = field(default_factory=list)  # nothing to do
    duplicates: list[InboxItem] = field(default_factory=list)  # same content, same athlete
    copies: list[InboxItem] = field(default_factory=list)  # another athlete's: its copy row

    def summary(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in self.__dataclass_fields__}


def is_done(
    row: VideoRow | None,
    preset: str,
    pipeline_version: str = PIPELINE_VERSION,
    *,
    retry_failed: bool = False,
) -> bool:
    """Whether a ``videos`` row means the video needs no new inference.

    ``retry_failed``: no failed row counts as done, whatever its kind.
    """
    if row is None:
        return False
    if row.status == "failed" and (retry_failed or failures.retry_next_night(row)):
        return False
    if row.status not in (*DONE_STATUS, "failed"):
        return False
    if row.status == "failed" and row.preset in (None, ""):
        return True  # refused before any model ran: the file, not the models, was the problem
    return _same_models(row, preset, pipeline_version)


def _same_models(row: VideoRow, preset: str, pipeline_version: str) -> bool:
    return row.preset == preset and str(row.pipeline_version) == pipeline_version


def attempt_number(
    previous: VideoRow | None, preset: str, pipeline_version: str = PIPELINE_VERSION
) -> int:
    """Which run at a video this is (`posecoach.failures.attempt_number`) with these models."""
    same = previous is not None and _same_models(previous, preset, pipeline_version)
    return failures.attempt_number(previous, same_models=same)


def latest_rows(videos: pd.DataFrame) -> dict[str, VideoRow]:
    """``video_id -> row`` from the store's videos table (as `Store.read` returns it)."""
    return {row.video_id: row for row in VideoRow.from_frame(videos)}


def make_plan(
    items: Iterable[InboxItem],
    rows: dict[str, VideoRow],
    *,
    preset: str,
    rules_digest: str | None,
    scored_digest: Callable[[str], str | None],
    unfeatured: Collection[str] = frozenset(),
    pipeline_version: str = PIPELINE_VERSION,
    retry_failed: bool = False,
) -> Plan:
    """Sort the items into a `Plan`.

    ``scored_digest(video_id)`` returns the rules digest a video's findings were made with (None
    when never scored); it is only called for done videos with status ``ok``.
    ``unfeatured``: the ids of videos with a keypoints file but no features file (a store from
    before that table, see `unfeatured_ids`); those of them that are done and ``ok`` are
    re-scored whatever the digest.
    ``retry_failed`` analyses again every video whose last analysis failed, for whatever reason.
    """
    plan = Plan()
    owner: dict[str, str | None] = {}  # content -> the athlete it is analysed under
    primary: set[str] = set()  # contents whose owner's own file is in the inbox
    copies: dict[str, list[InboxItem]] = {}

    def classify(item: InboxItem) -> list[InboxItem]:
        row = rows.get(item.video_id)
        if not item.ok:
            return plan.done if row else plan.record_failed
        if not is_done(row, preset, pipeline_version, retry_failed=retry_failed):
            return plan.analyze
        if (
            row
            and row.status == "ok"
            and _needs_scoring(item.video_id, rules_digest, scored_digest, unfeatured)
        ):
            return plan.rescore
        return plan.done

    for item in items:
        if item.duplicate_of:
            plan.duplicates.append(item)
            continue
        if item.ok and item.sha256:
            row = rows.get(item.video_id)
            first = owner.setdefault(item.video_id, (row.athlete if row else None) or item.athlete)
            if item.athlete != first:
                copies.setdefault(item.video_id, []).append(item)
                continue
            primary.add(item.video_id)
        classify(item).append(item)

    for content, group in copies.items():
        row = rows.get(content)
        if content not in primary and row is not None:
            stand_in = dataclasses.replace(group[0], athlete=row.athlete, exercise=row.exercise)
            if (todo := classify(stand_in)) is not plan.done:
                todo.append(stand_in)
        changing = any(i.video_id == content for i in (*plan.analyze, *plan.rescore))
        for item in group:
            current = copy_is_current(item, row, rows.get(copy_id(item)))
            (plan.done if current and not changing else plan.copies).append(item)
    for todo in (plan.analyze, plan.rescore, plan.done, plan.copies):
        todo.sort(key=lambda it: it.rel_path)
    return plan


def _needs_scoring(
    video_id: str,
    rules_digest: str | None,
    scored_digest: Callable[[str], str | None],
    unfeatured: Collection[str],
) -> bool:
    if video_id in unfeatured:
        return True  # checked first: it costs no read
    return rules_digest is not None and scored_digest(video_id) != rules_digest


def unfeatured_ids(keypoints_files: Iterable[str], features_files: Iterable[str]) -> set[str]:
    """The video ids with a keypoints file but no features file, from two tables' file lists.

    The store's files are named ``<video_id>.parquet`` (`posecoach.store.Store.files`), so two
    listings say it for every video, without reading one file. Only videos with keypoints count:
    re-scoring reads them, and one without would have its reps and findings replaced by none.
    """
    return _ids(keypoints_files) - _ids(features_files)


def _ids(paths: Iterable[str]) -> set[str]:
    return {posixpath.basename(p).removesuffix(".parquet") for p in paths}


def refused_row(item: InboxItem, now: dt.datetime | None = None) -> VideoRow:
    """The ``failed`` videos row (a bad file) of an item refused before any model ran.

    No preset is recorded. Its partition ``date`` is the day it was refused (UTC): nothing about
    the file is trusted.
    """
    now = now or dt.datetime.now(dt.UTC)
    return VideoRow(
        video_id=item.video_id,
        date=now.date().isoformat(),
        path=item.rel_path,
        file_name=item.rel_path.rsplit("/", 1)[-1],
        sha256=item.sha256,
        size_bytes=item.size_bytes,
        athlete=item.athlete,
        exercise=item.exercise,
        view=item.view,
        view_source="declared" if item.view else None,
        recorded_at=dt.datetime.fromisoformat(item.recorded_at) if item.recorded_at else None,
        source=item.kind,
        status="failed",
        error=item.error,
        error_kind=ErrorKind.BAD_FILE,
        pipeline_version=PIPELINE_VERSION,
        processed_at=now,
    )


def retryable_row(
    item: InboxItem,
    reason: str,
    preset: str,
    previous: VideoRow | None = None,
    now: dt.datetime | None = None,
) -> VideoRow:
    """A ``failed`` row for a video whose processing failed for a transient reason.

    ``previous`` is the video's current row: the `posecoach.failures.MAX_ATTEMPTS`-th such
    failure in a row is recorded as given up, which the plan treats as done.
    """
    attempt = attempt_number(previous, preset)
    return dataclasses.replace(
        refused_row(item, now),
        error=failures.transient_message(attempt, reason),
        error_kind=failures.kind_after(attempt),
        preset=preset,
        attempts=attempt,
    )
