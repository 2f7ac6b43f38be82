"""An upload: a multipart body streamed to disk, checked by content, placed in the inbox.

`MultipartReceiver` takes the request body chunk by chunk (python-multipart's streaming parser):
the file part goes straight into ``<inbox>/.partial/<random>.part`` (a hidden folder, which
discovery skips) while its SHA-256 is computed, so memory stays flat whatever the size; the
other fields are small and kept in memory (bounded). Past the size limit it stops with 413 at
once. `place_upload` then checks the fields and the content (sniffed from the first bytes and
its first frame decoded by the analysis's own decoder) and moves the file to
``<inbox>/<athlete>/<exercise>/<sanitised name>``, with a sidecar for ``view`` and
``recorded_at``. Nothing is half-written: the file appears under its name by a link of the
complete file (no-clobber), and every refusal removes the partial file.

Refusals are `UploadError` with the HTTP status to answer and a message for people.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml
from pydantic import ValidationError
from python_multipart.multipart import MultipartParser, parse_options_header

from flows.inbox import FORMATS, MAX_NAME_CHARS, Sidecar, sniff
from posecoach.store import video_id_for

PARTIAL_DIR = ".partial"
MAX_FIELD_BYTES = 4096
MAX_PARTS = 16
MAX_STEM_CHARS = 100
FIELDS = ("athlete", "exercise", "view", "recorded_at")

#: The suffix a file gets from its sniffed format (the uploaded name's own suffix is not trusted).
SUFFIXES = {
    "mp4": ".mp4",
    "mov": ".mov",
    "avi": ".avi",
    "mkv": ".mkv",
    "webm": ".webm",
    "mpegts": ".ts",
    "jpeg": ".jpg",
    "png": ".png",
    "bmp": ".bmp",
    "tiff": ".tif",
    "webp": ".webp",
}
assert set(SUFFIXES) == set(FORMATS)


class UploadError(Exception):
    """An upload refused: ``status`` is the HTTP status to answer, the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Received:
    """What a multipart body held: its small fields and the file streamed to ``temp``."""

    fields: dict[str, str] = field(default_factory=dict)
    temp: Path | None = None
    filename: str | None = None
    size: int = 0
    sha256: str = ""
    head: bytes = b""

    def discard(self) -> None:
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
            self.temp = None


@dataclass(frozen=True)
class Placed:
    """An upload in its place in the inbox."""

    path: Path
    rel_path: str
    video_id: str
    sha256: str
    athlete: str
    exercise: str
    view: str | None
    recorded_at: str | None


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a Content-Type header; 400/415 when there is none."""
    if not content_type:
        raise UploadError(400, "no Content-Type: send multipart/form-data")
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UploadError(
            415, f"Content-Type is {kind.decode(errors='replace')!r}; send multipart/form-data"
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise UploadError(400, "multipart/form-data without a boundary")
    return boundary


class MultipartReceiver:
    """Feed it the body's chunks (`feed`), then `finish`; the file part streams to disk."""

    def __init__(self, content_type: str | None, partial_dir: Path, max_file_bytes: int):
        self.partial_dir = partial_dir
        self.max_file_bytes = max_file_bytes
        self.received = Received()
        self._digest = hashlib.sha256()
        self._fh: IO[bytes] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name: str | None = None
        self._value = bytearray()
        self._parts = 0
        self._error: UploadError | None = None
        callbacks = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self._parser = MultipartParser(boundary_of(content_type), callbacks)  # type: ignore[arg-type]

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except UploadError:
            raise
        except Exception as exc:  # python-multipart's parse errors
            self.abort()
            raise UploadError(400, f"malformed multipart body: {exc}") from None
        if self._error is not None:
            self.abort()
            raise self._error

    def finish(self) -> Received:
        try:
            self._parser.finalize()
        except Exception as exc:
            self.abort()
            raise UploadError(400, f"malformed multipart body: {exc}") from None
        if self._fh is not None:  # the body ended inside the file part
            self.abort()
            raise UploadError(400, "the upload ended before the file did")
        self.received.sha256 = self._digest.hexdigest()
        return self.received

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.received.discard()

    # -- parser callbacks -------------------------------------------------------------------------
    def _fail(self, status: int, message: str) -> None:
        # Raising inside a callback would be wrapped by the parser; keep it for `feed`.
        if self._error is None:
            self._error = UploadError(status, message)

    def _part_begin(self) -> None:
        self._parts += 1
        self._headers, self._name, self._value = {}, None, bytearray()
        if self._parts > MAX_PARTS:
            self._fail(400, f"more than {MAX_PARTS} form fields")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", errors="replace")
        if self._name != "file":
            return
        if self.received.temp is not None:
            self._fail(400, "more than one file in one upload")
            return
        self.received.filename = params.get(b"filename", b"").decode("utf-8", errors="replace")
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.received.temp = self.partial_dir / f"{secrets.token_hex(12)}.part"
        self._fh = open(self.received.temp, "xb")  # noqa: SIM115 - closed in _part_end / abort

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._error is not None:
            return
        chunk = data[start:end]
        if self._fh is None:
            if len(self._value) + len(chunk) > MAX_FIELD_BYTES:
                self._fail(400, f"form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")
                return
            self._value += chunk
            return
        self.received.size += len(chunk)
        if self.received.size > self.max_file_bytes:
            self._fail(413, f"the file is larger than the limit of {_mb(self.max_file_bytes)}")
            return
        if len(self.received.head) < 256:
            self.received.head += chunk[: 256 - len(self.received.head)]
        self._digest.update(chunk)
        self._fh.write(chunk)

    def _part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        elif self._name and self._error is None:
            try:
                self.received.fields[self._name] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                self._fail(400, f"form field {self._name!r} is not UTF-8 text")


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:g} MB"


# -- checking and placing ------------------------------------------------------------------------
def folder_label(name: str, value: str | None) -> str:
    """An athlete or exercise as a folder name of the inbox, or 400 saying why not."""
    text = unicodedata.normalize("NFC", value or "").strip()
    if not text:
        raise UploadError(400, f"{name} is missing")
    if len(text) > MAX_NAME_CHARS or any(unicodedata.category(c).startswith("C") for c in text):
        raise UploadError(400, f"{name} must be at most {MAX_NAME_CHARS} printable characters")
    if "/" in text or "\\" in text or text.startswith("."):
        raise UploadError(
            400, f"{name} {text!r} cannot be a folder name: no / or \\, no leading dot"
        )
    return text


def safe_file_name(uploaded: str | None, fmt: str) -> str:
    """The name a file gets in the inbox: the uploaded name's last part, letters, digits, ``._-``
    only, no leading dot, and the suffix of its real format."""
    base = unicodedata.normalize("NFC", (uploaded or "").replace("\\", "/")).rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:MAX_STEM_CHARS].rstrip("._-")
    return (stem or "upload") + SUFFIXES[fmt]


def check_content(path: Path) -> None:
    """Decode the first frame of a video or image with the analysis's decoder; 415 if none."""
    from analysis.io.video import VideoError, open_source

    try:
        with open_source(path, queue_size=2) as source:
            for _frame in source:
                return
    except VideoError as exc:
        reason = exc.reason.replace(f"'{path}'", "the file").replace(str(path), "the file")
        if not reason.startswith("not a"):  # the server's paths stay on the server
            reason = f"not a readable video or image: {reason}"
        raise UploadError(415, reason) from None
    raise UploadError(415, "not a readable video or image: no frame decodes")


def place_upload(received: Received, inbox: Path, exercises: Collection[str]) -> Placed:
    """Check an upload's fields and content and move it into the inbox (see the module doc).

    The partial file is removed whatever the outcome.
    """
    try:
        return _place(received, inbox, exercises)
    finally:
        received.discard()


def _place(received: Received, inbox: Path, exercises: Collection[str]) -> Placed:
    fields = received.fields
    athlete = folder_label("athlete", fields.get("athlete"))
    exercise = folder_label("exercise", fields.get("exercise"))
    if exercise not in exercises:
        raise UploadError(
            422, f"unknown exercise {exercise!r}; known: {', '.join(sorted(exercises))}"
        )
    extra = {k: fields[k].strip() for k in ("view", "recorded_at") if fields.get(k, "").strip()}
    try:
        sidecar = Sidecar.model_validate(extra).model_dump(exclude_unset=True)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]} {e['msg']}" for e in exc.errors(include_url=False))
        raise UploadError(422, problems) from None
    if received.temp is None:
        raise UploadError(400, "no file: send it in the form field 'file'")
    if received.size == 0:
        raise UploadError(400, "the file is empty (0 bytes)")
    fmt = sniff(received.head)
    if fmt is None:
        raise UploadError(415, "not a video or image this app can read (by its content)")
    typed = received.temp.with_suffix(SUFFIXES[fmt])  # the decoder tells images by suffix
    os.replace(received.temp, typed)
    received.temp = typed
    check_content(typed)

    folder = inbox / athlete / exercise
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_file_name(received.filename, fmt)
    dest = _link_unique(typed, folder, name, sidecar)
    return Placed(
        path=dest,
        rel_path=dest.relative_to(inbox).as_posix(),
        video_id=video_id_for(received.sha256),
        sha256=received.sha256,
        athlete=athlete,
        exercise=exercise,
        view=sidecar.get("view"),
        recorded_at=sidecar.get("recorded_at"),
    )


def _link_unique(source: Path, folder: Path, name: str, sidecar: dict[str, str]) -> Path:
    """Link the complete file in under ``name`` (or ``stem-2`` ...), never replacing a file.

    The sidecar goes in first, so that a nightly run scanning the folder meanwhile never sees
    the video without its view and time.
    """
    stem, suffix = name[: -len(Path(name).suffix)], Path(name).suffix
    for n in range(1, 1000):
        dest = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        side = dest.with_name(dest.name + ".yaml")
        if dest.exists() or side.exists():
            continue
        if sidecar:
            tmp = source.with_suffix(".yaml")
            tmp.write_text(yaml.safe_dump(sidecar, sort_keys=True), encoding="utf-8")
            try:
                os.link(tmp, side)
            except FileExistsError:
                continue
            finally:
                tmp.unlink(missing_ok=True)
        try:
            os.link(source, dest)
        except FileExistsError:
            if sidecar:
                side.unlink(missing_ok=True)
            continue
        return dest
    raise UploadError(409, f"too many files named like {name} in {folder.name}")
