"""flows.web.uploads: multipart streamed to disk, names sanitised, content checked, placed."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from flows.web.uploads import (
    PARTIAL_DIR,
    MultipartReceiver,
    UploadError,
    folder_label,
    place_upload,
    safe_file_name,
)
from tests.helpers import MULTIPART_BOUNDARY, shared_path
from tests.helpers import multipart_body as multipart

CONTENT_TYPE = f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"
EXERCISES = ("squat", "lunge")


def receive(body: bytes, partial: Path, limit: int = 2**30, chunk: int = 777):
    receiver = MultipartReceiver(CONTENT_TYPE, partial, limit)
    for start in range(0, len(body), chunk):
        receiver.feed(body[start : start + chunk])
    return receiver.finish()


def test_fields_and_file_arrive_whatever_the_chunking(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    body = multipart({"athlete": "Ana", "exercise": "squat"}, data)
    for chunk in (1, 777, len(body)):
        got = receive(body, tmp_path / PARTIAL_DIR, chunk=chunk)
        assert got.fields == {"athlete": "Ana", "exercise": "squat"}
        assert got.temp is not None and got.temp.parent == tmp_path / PARTIAL_DIR
        assert got.temp.read_bytes() == data and got.size == len(data)
        assert got.sha256 == hashlib.sha256(data).hexdigest() and got.head == data[:256]
        got.discard()
    assert list((tmp_path / PARTIAL_DIR).iterdir()) == []


def test_memory_stays_flat_while_a_large_file_streams(tmp_path: Path) -> None:
    block = os.urandom(64 * 1024)
    receiver = MultipartReceiver(CONTENT_TYPE, tmp_path, 2**30)
    head, tail = multipart({"athlete": "Ana"}, b"<>").split(b"<>")
    tracemalloc.start()
    receiver.feed(head)
    for _ in range(320):  # 20 MB
        receiver.feed(block)
    receiver.feed(tail)
    got = receiver.finish()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert got.size == 320 * len(block)
    assert peak < 2 * 2**20  # a few chunks, not the file
    got.discard()


def test_above_the_limit_it_stops_at_once_and_leaves_nothing(tmp_path: Path) -> None:
    body = multipart({"athlete": "Ana"}, b"x" * 10_001)
    with pytest.raises(UploadError) as err:
        receive(body, tmp_path, limit=10_000)
    assert err.value.status == 413 and "limit" in err.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (multipart({"athlete": "x" * 5000}, None), "longer than"),
        (multipart({f"f{i}": "v" for i in range(20)}, None), "more than 16"),
        (
            multipart({}, b"a").removesuffix(f"--{MULTIPART_BOUNDARY}--\r\n".encode())
            + multipart({}, b"b"),
            "more than one",
        ),
    ],
)
def test_oversized_or_repeated_parts_are_refused(tmp_path: Path, body: bytes, reason: str) -> None:
    with pytest.raises(UploadError, match=reason) as err:
        receive(body, tmp_path)
    assert err.value.status == 400


def test_a_body_cut_inside_the_file_is_refused(tmp_path: Path) -> None:
    body = multipart({}, b"y" * 5000)[:-2000]
    with pytest.raises(UploadError, match="ended before the file"):
        receive(body, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("uploaded", "fmt", "expected"),
    [
        ("clip.mp4", "mp4", "clip.mp4"),
        ("../../etc/passwd", "mp4", "passwd.mp4"),
        ("<script>alert(1)</script>.mp4", "mov", "script.mov"),
        ('"><img src=x onerror=alert(1)>.avi', "avi", "img_src_x_onerror_alert_1.avi"),
        ("C:\\Users\\me\\Set 1.MOV", "mov", "Set_1.mov"),
        (".hidden.mp4", "mp4", "hidden.mp4"),
        ("..", "mp4", "upload.mp4"),
        ("", "jpeg", "upload.jpg"),
        ("Übung 1.webm", "webm", "Übung_1.webm"),
        ("page.html", "mp4", "page.mp4"),
        ("a" * 300 + ".mp4", "mp4", "a" * 100 + ".mp4"),
    ],
)
def test_file_names_are_sanitised(uploaded: str, fmt: str, expected: str) -> None:
    assert safe_file_name(uploaded, fmt) == expected


@pytest.mark.parametrize(
    "bad", ["", "  ", "../x", "a/b", "a\\b", ".x", "a\x00b", "a\nb", "x" * 201]
)
def test_hostile_folder_names_are_refused(bad: str) -> None:
    with pytest.raises(UploadError) as err:
        folder_label("athlete", bad)
    assert err.value.status == 400


def test_names_that_are_only_odd_stay_as_given() -> None:
    assert folder_label("athlete", "  Ana <b>Maria<b> ") == "Ana <b>Maria<b>"  # escaped on pages
    assert folder_label("athlete", "Zoë") == "Zoë"


def _received(tmp_path: Path, content: bytes, filename: str = "clip.mp4", **fields: str):
    body = multipart({"athlete": "Ana", "exercise": "squat", **fields}, content, filename)
    return receive(body, tmp_path / "inbox" / PARTIAL_DIR)


def _files(inbox: Path) -> list[str]:
    return sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())


def test_a_real_video_lands_in_the_inbox_with_its_sidecar(tmp_path: Path) -> None:
    video = shared_path("data", "videos", "street_5frames.mp4").read_bytes()
    inbox = tmp_path / "inbox"
    first = place_upload(
        _received(
            tmp_path, video, "street.MP4", view="side", recorded_at="2026-11-30T18:00:00+01:00"
        ),
        inbox,
        EXERCISES,
    )
    assert first.rel_path == "Ana/squat/street.mp4"
    assert first.video_id == hashlib.sha256(video).hexdigest()[:16]
    assert (inbox / "Ana/squat/street.mp4.yaml").read_text().splitlines() == [
        "recorded_at: '2026-11-30T18:00:00+01:00'",
        "view: side",
    ]
    second = place_upload(_received(tmp_path, video, "street.mp4"), inbox, EXERCISES)
    assert second.rel_path == "Ana/squat/street-2.mp4"  # never replaces a file
    assert _files(inbox) == [
        "Ana/squat/street-2.mp4",
        "Ana/squat/street.mp4",
        "Ana/squat/street.mp4.yaml",
    ]
    assert (inbox / second.rel_path).read_bytes() == video


def test_an_image_is_checked_by_its_content(tmp_path: Path) -> None:
    image = next(shared_path("data", "images", "coco").glob("*.jpg")).read_bytes()
    placed = place_upload(_received(tmp_path, image, "photo.png"), tmp_path / "inbox", EXERCISES)
    assert placed.rel_path == "Ana/squat/photo.jpg"


@pytest.mark.parametrize(
    ("content", "fields", "status", "reason"),
    [
        (b"", {}, 400, "empty"),
        (b"just some text, not a video" * 20, {}, 415, "not a video or image"),
        (b"\x00\x00\x00\x20ftypisom" + b"\x00" * 500, {}, 415, "not a readable video"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 500, {}, 415, "not a readable image"),
        (b"x" * 300, {"exercise": "yoga"}, 422, "unknown exercise 'yoga'"),
        (b"x" * 300, {"athlete": "../../etc"}, 400, "cannot be a folder name"),
        (b"x" * 300, {"view": "top"}, 422, "view"),
        (b"x" * 300, {"recorded_at": "yesterday"}, 422, "recorded_at"),
    ],
)
def test_bad_uploads_get_a_clear_answer_and_leave_nothing(
    tmp_path: Path, content: bytes, fields: dict[str, str], status: int, reason: str
) -> None:
    inbox = tmp_path / "inbox"
    with pytest.raises(UploadError) as err:
        place_upload(_received(tmp_path, content, **fields), inbox, EXERCISES)
    assert err.value.status == status and reason in err.value.message
    assert str(tmp_path) not in err.value.message  # no server path in the answer
    assert _files(inbox) == []  # the partial file is gone too
