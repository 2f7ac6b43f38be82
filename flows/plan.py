"""What a night has to do: from the inbox items and the store's ``videos`` rows to a `Plan`.

"Already done" means a ``videos`` row for the same content (video id = content hash) made with
the same model preset and pipeline version, whose status is ``ok``/``empty``, or ``failed`` for a
permanent reason (the file itself is bad). A failure marked retryable (``error`` starting with
`RETRYABLE`: the worker died, the store was unreachable, ...) is tried again next night, up to
`MAX_ATTEMPTS` runs in a row; then it is recorded as given up, like a bad file, so that a video
that crashes or exhausts the machine every time does not cost every night (``retry_failed``
tries the failed videos again once the cause is mended).
A done video whose findings were scored with other rules (a different `rules digest`) is only
re-scored and re-rendered: no model runs.

Pure functions over DataFrames and dataclasses; no Prefect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from posecoach.failures import is_retryable
from flows.inbox import InboxItem
from posecoach import PIPELINE_VERSION
from posecoach.schema import RETRYABLE

DONE_STATUS = ("ok", "empty")
#: Runs in a row that may fail for a retryable reason before a video is given up on.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Plan:
    """The night's work, each list sorted by inbox-relative path."""

    analyze: list[InboxItem] = field(default_factory=list)  # run the models
    rescore: list[InboxItem] = field(default_factory=list)  # rules changed: score + render only
    record_failed: list[InboxItem] = field(default_factory=list)  # refused before any model
    done: list[InboxItem] = field(default_factory=list)  # nothing to do
    duplicates: list[InboxItem] = field(default_factory=list)  # same content as another file

    def summary(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in self.__dataclass_fields__}


def is_done(
    row: dict[str, Any] | None,
    preset: str,
    pipeline_version: str = PIPELINE_VERSION,
    *,
    retry_failed: bool = False,
) -> bool:
    """Whether a ``videos`` row means the video needs no new inference.

    ``retry_failed``: no failed row counts as done, whatever its reason.
    """
    if not row:
        return False
    status = row.get("status")
    if status == "failed" and (retry_failed or is_retryable(row.get("error"))):
        return False
    if status not in (*DONE_STATUS, "failed"):
        return False
    if status == "failed" and row.get("preset") in (None, ""):
        return True  # refused before any model ran: the file, not the models, was the problem
    return row.get("preset") == preset and str(row.get("pipeline_version")) == pipeline_version


def attempt_number(
    previous: dict[str, Any] | None, preset: str, pipeline_version: str = PIPELINE_VERSION
) -> int:
    """Which run at a video this is: one more than the last when that failed for a retryable
    reason with the same models and pipeline, else 1."""
    if not previous or previous.get("status") != "failed":
        return 1
    if not is_retryable(previous.get("error")):
        return 1
    if (
        previous.get("preset") != preset
        or str(previous.get("pipeline_version")) != pipeline_version
    ):
        return 1
    prior = previous.get("attempts")
    return (1 if prior is None or pd.isna(prior) else int(prior)) + 1


def latest_rows(videos: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``video_id -> row`` (with its ``date`` partition) from the store's videos table."""
    if videos.empty:
        return {}
    return {r["video_id"]: r for r in videos.to_dict("records")}


def make_plan(
    items: Iterable[InboxItem],
    rows: dict[str, dict[str, Any]],
    *,
    preset: str,
    rules_digest: str | None,
    scored_digest: Callable[[str], str | None],
    pipeline_version: str = PIPELINE_VERSION,
    retry_failed: bool = False,
) -> Plan:
    """Sort the items into a `Plan`.

    ``scored_digest(video_id)`` returns the rules digest a video's findings were made with (None
    when never scored); it is only called for done videos with status ``ok``.
    ``retry_failed`` analyses again every video whose last analysis failed, for whatever reason.
    """
    plan = Plan()
    for item in items:
        row = rows.get(item.video_id)
        if item.duplicate_of:
            plan.duplicates.append(item)
        elif not item.ok:
            (plan.done if row else plan.record_failed).append(item)
        elif not is_done(row, preset, pipeline_version, retry_failed=retry_failed):
            plan.analyze.append(item)
        elif (
            row
            and row.get("status") == "ok"
            and rules_digest is not None
            and scored_digest(item.video_id) != rules_digest
        ):
            plan.rescore.append(item)
        else:
            plan.done.append(item)
    return plan


def refused_row(item: InboxItem, now: dt.datetime | None = None) -> dict[str, Any]:
    """The ``failed`` videos row of an item refused before any model ran (no preset recorded).

    Its partition ``date`` is the day it was refused (UTC): nothing about the file is trusted.
    """
    now = now or dt.datetime.now(dt.UTC)
    return {
        "date": now.date().isoformat(),
        "video_id": item.video_id,
        "path": item.rel_path,
        "file_name": item.rel_path.rsplit("/", 1)[-1],
        "sha256": item.sha256,
        "size_bytes": item.size_bytes,
        "athlete": item.athlete,
        "exercise": item.exercise,
        "view": item.view,
        "recorded_at": dt.datetime.fromisoformat(item.recorded_at) if item.recorded_at else None,
        "source": item.kind,
        "status": "failed",
        "error": item.error,
        "pipeline_version": PIPELINE_VERSION,
        "processed_at": now,
    }


def retryable_row(
    item: InboxItem,
    reason: str,
    preset: str,
    previous: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A ``failed`` row for a video whose processing failed for a reason worth retrying.

    ``previous`` is the video's current row: the `MAX_ATTEMPTS`-th such failure in a row is
    recorded as given up (no `RETRYABLE` prefix), which the plan treats as done.
    """
    row = refused_row(item, now)
    attempt = attempt_number(previous, preset)
    if attempt < MAX_ATTEMPTS:
        error = f"{RETRYABLE}{reason}"
    else:
        error = (
            f"given up after {attempt} runs that each failed for a reason worth retrying "
            f"(after mending it: posecoach run --retry-failed); last: {reason}"
        )
    row.update(error=error, preset=preset, attempts=attempt)
    return row
