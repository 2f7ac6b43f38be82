"""flows.web.status: a video's status from its upload record, its claim and its videos row."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from flows.claims import claim_path
from flows.progress import clear_progress, write_progress
from flows.web.status import upload_video_id, video_status
from flows.web.users import Accounts
from posecoach.store import Store
from posecoach.videos import VideoRow, copy_video_id, read_video_rows, write_video_row

VID = "0123456789abcdef"


@pytest.fixture
def store(config) -> Store:
    return Store(config.store)


def _status(store: Store, accounts: Accounts, reports: Path) -> dict | None:
    return video_status(store, accounts, reports, VID)


def _row(status: str, processed: dt.datetime, error: str | None = None) -> VideoRow:
    return VideoRow(
        video_id=VID, date="2026-11-30", status=status, error=error, processed_at=processed
    )


def test_queued_then_running_only_while_its_claim_is_held(store, accounts, config) -> None:
    assert _status(store, accounts, config.reports) is None
    upload = accounts.add_upload(VID, "Ana/squat/a.mp4", "Ana", "squat", "bob")
    assert _status(store, accounts, config.reports)["status"] == "queued"  # type: ignore[index]
    accounts.set_upload_status([upload.upload_id], "running")
    # its batch runs, but another video holds the worker
    assert _status(store, accounts, config.reports)["status"] == "queued"  # type: ignore[index]
    claim = Path(claim_path(store, VID))
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text("{}")
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "running"
    assert status["path"] == "Ana/squat/a.mp4" and status["athlete"] == "Ana"


def test_the_row_tells_once_written_and_the_report_once_built(store, accounts, config) -> None:
    upload = accounts.add_upload(VID, "Ana/squat/a.mp4", "Ana", "squat", "bob")
    accounts.set_upload_status([upload.upload_id], "running")
    write_video_row(store, _row("ok", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)))
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "ok" and status["report_url"] is None
    page = config.reports / "2026-11-30" / f"{VID}.html"
    page.parent.mkdir(parents=True)
    page.write_text("report")
    status = _status(store, accounts, config.reports)
    assert status is not None and status["report_url"] == f"/reports/2026-11-30/{VID}.html"


def test_an_upload_newer_than_the_row_is_queued_again(store, accounts, config) -> None:
    write_video_row(store, _row("failed", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "out of memory"))
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "failed" and status["report_url"] is None
    assert status["error"] == "out of memory"
    accounts.add_upload(VID, "Ana/squat/a.mp4", "Ana", "squat", "bob")
    assert _status(store, accounts, config.reports)["status"] == "queued"  # type: ignore[index]


def test_a_finished_upload_without_a_row_is_failed_with_a_reason(store, accounts, config) -> None:
    upload = accounts.add_upload(VID, "Ana/squat/a.mp4", "Ana", "squat", "bob")
    accounts.set_upload_status([upload.upload_id], "done")
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "failed"
    assert status["error"] == "the analysis recorded no result for this video"


def test_progress_is_read_from_the_workers_record_while_running(store, accounts, config) -> None:
    upload = accounts.add_upload(VID, "Ana/squat/a.mp4", "Ana", "squat", "bob")
    status = _status(store, accounts, config.reports)
    assert status is not None and status["progress"] is None  # queued
    accounts.set_upload_status([upload.upload_id], "running")
    write_progress(store, VID, 30, 120)  # no claim: not this video's turn yet
    assert _status(store, accounts, config.reports)["progress"] is None  # type: ignore[index]
    claim = Path(claim_path(store, VID))
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text("{}")
    clear_progress(store, VID)
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "running"
    assert (status["progress"], status["frames_done"]) == (0.0, None)  # the models load
    for done in (30, 90):
        write_progress(store, VID, done, 120)
        status = _status(store, accounts, config.reports)
        assert status is not None
        assert (status["progress"], status["frames_done"], status["frames"]) == (
            done / 120,
            done,
            120,
        )
    row = dataclasses.replace(
        _row("ok", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)), frames=118
    )
    write_video_row(store, row)
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "ok"
    assert (status["progress"], status["frames_done"], status["frames"]) == (1.0, 118, 118)


def test_a_failed_video_has_no_progress(store, accounts, config) -> None:
    write_video_row(store, _row("failed", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "bad file"))
    status = _status(store, accounts, config.reports)
    assert status is not None and status["progress"] is None and status["frames_done"] is None


def test_a_class_recording_uploaded_for_a_second_athlete_answers_that_athletes_copy(
    store, accounts, config
) -> None:
    analysed = dataclasses.replace(
        _row("ok", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), athlete="Ana", path="Ana/squat/a.mp4"
    )
    write_video_row(store, analysed)
    upload = accounts.add_upload(VID, "Bob/squat/class.mp4", "Bob", "squat", "bob")
    copy_id = upload_video_id(store, upload)
    assert copy_id == copy_video_id(VID, "Bob") != VID
    status = video_status(store, accounts, config.reports, copy_id)
    assert status is not None and status["status"] == "queued" and status["athlete"] == "Bob"
    assert status["video_id"] == copy_id
    # Ana's video keeps answering Ana's row, whoever uploads the recording next.
    status = _status(store, accounts, config.reports)
    assert status is not None and status["status"] == "ok" and status["athlete"] == "Ana"
    accounts.set_upload_status([upload.upload_id], "done")
    copy = analysed.as_copy(
        athlete="Bob",
        path="Bob/squat/class.mp4",
        file_name="class.mp4",
        processed_at=dt.datetime.now(dt.UTC),
    )
    write_video_row(store, copy)
    page = config.reports / "2026-11-30" / f"{VID}.html"
    page.parent.mkdir(parents=True)
    page.write_text("report")
    status = video_status(store, accounts, config.reports, copy_id)
    assert status is not None and status["status"] == "ok"
    assert status["athlete"] == "Bob" and status["same_content_as"] == VID
    assert status["video_id"] == copy.video_id == copy_id
    assert status["report_url"] == f"/reports/2026-11-30/{VID}.html"  # the analysed video's page
    status = _status(store, accounts, config.reports)
    assert status is not None and status["athlete"] == "Ana" and status["video_id"] == VID
    assert status["report_url"] == f"/reports/2026-11-30/{VID}.html"
    # The start page reads the rows once for all its uploads: the same answers.
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert upload_video_id(store, upload, rows) == copy_id
    for vid, up in ((copy_id, upload), (VID, None)):
        once = video_status(store, accounts, config.reports, vid, up, rows)
        assert once == video_status(store, accounts, config.reports, vid, up)
