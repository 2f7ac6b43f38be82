"""Discovery of the videos waiting in inbox folders.

Layout: ``<inbox>/<athlete>/<exercise>/<video>``, with an optional sidecar file beside the video
(``<video>.yaml``, e.g. ``squat_01.mp4.yaml``, or ``<stem>.yaml``, e.g. ``squat_01.yaml``) holding
any of ``athlete``, ``exercise``, ``view``, ``recorded_at``. Sidecar values win over the folder
names.

A file's type is sniffed from its first bytes (ISO-BMFF ``ftyp``, RIFF ``AVI``, EBML, JPEG, PNG,
...), never trusted from its extension. Nothing here follows a path out of the inbox: a symlink
that points outside is refused and reported, not read. Every problem with one file (bad sidecar,
unknown type, wrong place in the layout) becomes an `InboxItem` with ``error`` set, so that the
flow records that video as failed and carries on with the others.

Pure Python (no Prefect); I/O is reading directory entries, the first bytes of files, sidecars
and (for the content hash) the files themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from posecoach.store import file_sha256, video_id_for

SIDECAR_SUFFIXES = (".yaml", ".yml")
SIDECAR_FIELDS = ("athlete", "exercise", "view", "recorded_at")
VIEWS = ("side", "front", "oblique", "unknown")
MAX_SIDECAR_BYTES = 64 * 1024
MAX_NAME_CHARS = 200  # athlete / exercise labels: long enough for names, short enough for a UI

#: Container or image format -> kind, for the formats the analysis can decode.
FORMATS: dict[str, str] = {
    "mp4": "video",
    "mov": "video",
    "avi": "video",
    "mkv": "video",
    "webm": "video",
    "mpegts": "video",
    "jpeg": "image",
    "png": "image",
    "bmp": "image",
    "tiff": "image",
    "webp": "image",
}

# QuickTime files written by old cameras may start with these atoms instead of ``ftyp``.
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff(head: bytes) -> str | None:
    """The container/image format of a file from its first bytes (at least 64), or None.

    Returns one of the keys of `FORMATS`. The extension plays no part.
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return None  # still images in an ISO-BMFF box: not decodable here
        return "mp4"
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return "mov"
    if head[:4] == b"RIFF" and len(head) >= 12:
        if head[8:12] == b"AVI ":
            return "avi"
        if head[8:12] == b"WEBP":
            return "webp"
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "mkv"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"  # "BM" alone is too weak: the reserved bytes must be zero as well
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return "mpegts"
    return None


@dataclass(frozen=True)
class InboxItem:
    """One file found in an inbox: what the flow needs to process it or to record its failure.

    ``path`` is absolute and checked to lie inside ``inbox``; ``rel_path`` is inbox-relative
    (POSIX separators) and is what the store records. ``error`` is set when the file cannot be
    processed (refused symlink, unknown format, bad sidecar, outside the layout); such an item
    still has a ``video_id`` so that its failure can be recorded once: the content hash where
    the content may be read, a hash of the inbox-relative path otherwise.
    """

    inbox: str
    path: str
    rel_path: str
    video_id: str
    sha256: str | None
    size_bytes: int | None
    format: str | None
    kind: str | None
    athlete: str | None
    exercise: str | None
    view: str | None
    recorded_at: str | None  # ISO 8601 with offset (UTC when the sidecar gave none)
    sidecar: str | None
    error: str | None = None
    #: the first file (inbox/rel_path) with this content for the same athlete
    duplicate_of: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboxItem:
        return cls(**data)


class SidecarError(ValueError):
    """A sidecar file is unreadable or invalid; the message names the file and the field."""


def _label(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PydanticCustomError("sidecar", f"must be a string, got {type(value).__name__}")
    text = unicodedata.normalize("NFC", str(value)).strip()
    if not text:
        raise PydanticCustomError("sidecar", "is empty")
    if len(text) > MAX_NAME_CHARS or any(unicodedata.category(c) == "Cc" for c in text):
        raise PydanticCustomError(
            "sidecar", f"must be at most {MAX_NAME_CHARS} printable characters"
        )
    return text


def _view(value: Any) -> str:
    if value not in VIEWS:
        raise PydanticCustomError("sidecar", f"is {value!r}; expected one of {VIEWS}")
    return str(value)


def _timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "sidecar", f"is {value!r}; expected ISO 8601, e.g. 2024-05-01T18:30:00+02:00"
            ) from None
    else:
        raise PydanticCustomError(
            "sidecar", f"must be a date or date-time, got {type(value).__name__}"
        )
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.isoformat()


class Sidecar(BaseModel):
    """The fields a sidecar may set (each optional; the folder names stand in for the rest).

    The validators sit outside ``| None``: ``view:`` with nothing after it is refused, not
    taken as "not set".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    athlete: Annotated[str | None, BeforeValidator(_label)] = None
    exercise: Annotated[str | None, BeforeValidator(_label)] = None
    view: Annotated[str | None, BeforeValidator(_view)] = None
    #: ISO 8601 with an offset (a naive time is taken as UTC).
    recorded_at: Annotated[str | None, BeforeValidator(_timestamp)] = None


def load_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a sidecar file (see `Sidecar`); returns only the fields it sets.

    ``athlete`` and ``exercise`` are non-empty strings, ``view`` one of `VIEWS`, ``recorded_at``
    a date or date-time (ISO 8601; a naive time is taken as UTC) returned as an ISO string.
    Unknown keys are refused, so that a typo (``excercise``) does not pass silently.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_SIDECAR_BYTES:
        raise SidecarError(f"{path}: sidecar is {size} bytes, more than {MAX_SIDECAR_BYTES}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SidecarError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SidecarError(f"{path}: expected a mapping of {', '.join(SIDECAR_FIELDS)}")
    try:
        sidecar = Sidecar.model_validate(data)
    except ValidationError as exc:
        raise SidecarError(_sidecar_problems(path, exc)) from None
    return sidecar.model_dump(exclude_unset=True)


def _sidecar_problems(path: Path, exc: ValidationError) -> str:
    """``<path>: <problem>; <problem>``: the unknown fields first (a typo explains the rest)."""
    errors = exc.errors(include_url=False)
    is_unknown = {"extra_forbidden", "invalid_key"}  # invalid_key: a key that is not text (1:)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] in is_unknown)
    parts = [f"unknown field(s) {unknown}; allowed: {', '.join(SIDECAR_FIELDS)}"] if unknown else []
    parts += [f"field {e['loc'][0]!r} {e['msg']}" for e in errors if e["type"] not in is_unknown]
    return f"{path}: " + "; ".join(parts)


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _path_id(rel_path: str) -> str:
    # Items whose content must not be read still need a stable id to record their failure once.
    return video_id_for(hashlib.sha256(f"path:{rel_path}".encode()).hexdigest())


def _sidecar_for(path: Path) -> Path | None:
    for candidate in (
        *(path.with_name(path.name + s) for s in SIDECAR_SUFFIXES),
        *(path.with_suffix(s) for s in SIDECAR_SUFFIXES if path.suffix),
    ):
        if candidate != path and candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _walk(root: Path, exclude: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Every non-hidden entry below root, sorted, without following directory symlinks."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        # Hidden folders (.git, .Trash, an uploader's .partial/) are not part of the inbox, nor
        # is a store or report folder that someone placed inside it.
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in exclude
        )
        for name in sorted(filenames):
            yield here / name
        for name in dirnames:
            if (here / name).is_symlink():
                yield here / name


def scan_inbox(
    inbox: str | os.PathLike[str],
    *,
    hash_files: bool = True,
    exclude: Iterable[str | os.PathLike[str]] = (),
    only: Collection[str] | None = None,
) -> list[InboxItem]:
    """All candidate videos and images in one inbox, sorted by inbox-relative path.

    Hidden files (leading ``.``) and sidecars are skipped. A symlink is followed only when its
    target lies inside the inbox; otherwise it becomes a refused item (its target is not read).
    ``hash_files=False`` skips the content hash (``sha256`` None, ``video_id`` from the path).
    Folders in ``exclude`` (the store, the reports) are skipped where they lie inside the inbox.
    ``only``: just these inbox-relative paths (the web app's uploads), the others not even hashed.
    """
    root = Path(inbox).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    items: list[InboxItem] = []
    skip = tuple(Path(p).resolve() for p in exclude)
    for entry in _walk(root, skip):
        if entry.name.startswith(".") or entry.suffix.lower() in SIDECAR_SUFFIXES:
            continue
        rel = entry.relative_to(root).as_posix()
        if only is not None and rel not in only:
            continue
        items.append(_inspect(root, entry, rel, hash_files))
    return sorted(items, key=lambda it: it.rel_path)


def _item(root: Path, entry: Path, rel: str, error: str | None, **known: Any) -> InboxItem:
    base: dict[str, Any] = dict(
        inbox=str(root),
        path=str(entry),
        rel_path=rel,
        video_id=_path_id(rel),
        sha256=None,
        size_bytes=None,
        format=None,
        kind=None,
        athlete=None,
        exercise=None,
        view=None,
        recorded_at=None,
        sidecar=None,
    )
    base.update(known)
    return InboxItem(**base, error=error)


def _inspect(root: Path, entry: Path, rel: str, hash_files: bool) -> InboxItem:
    parts = Path(rel).parts
    folder = {"athlete": parts[0], "exercise": parts[1]} if len(parts) == 3 else {}
    folder = {k: unicodedata.normalize("NFC", v) for k, v in folder.items()}
    if entry.is_symlink():
        target = entry.resolve()
        if not _inside(target, root):
            return _item(root, entry, rel, "refused: symlink points outside the inbox", **folder)
        if target.is_dir():
            return _item(root, entry, rel, "refused: symlinked folder (not followed)", **folder)
    real = entry.resolve()
    if not real.is_file():
        return _item(root, entry, rel, "refused: not a regular file", **folder)
    try:
        with open(real, "rb") as fh:
            head = fh.read(256)
        size = real.stat().st_size
    except OSError as exc:
        return _item(root, entry, rel, f"unreadable: {exc.strerror or exc}", **folder)

    fmt = sniff(head)
    sha = file_sha256(real) if hash_files else None
    known: dict[str, Any] = dict(
        path=str(real),
        video_id=video_id_for(sha) if sha else _path_id(rel),
        sha256=sha,
        size_bytes=size,
        format=fmt,
        kind=FORMATS.get(fmt) if fmt else None,
        **folder,
    )
    sidecar = _sidecar_for(entry)
    if sidecar is not None:
        known["sidecar"] = sidecar.relative_to(root).as_posix()
        try:
            known.update(load_sidecar(sidecar))
        except (SidecarError, OSError) as exc:
            return _item(root, entry, rel, f"bad sidecar: {exc}", **known)
    if fmt is None:
        return _item(
            root, entry, rel, f"not a video or image (first bytes {head[:12].hex()})", **known
        )
    missing = [k for k in ("athlete", "exercise") if not known.get(k)]
    if missing:
        return _item(
            root,
            entry,
            rel,
            f"no {' and '.join(missing)}: expected <inbox>/<athlete>/<exercise>/<video> "
            "or a sidecar setting them",
            **known,
        )
    return _item(root, entry, rel, None, **known)


def discover(
    inboxes: Iterable[str | os.PathLike[str]],
    *,
    hash_files: bool = True,
    exclude: Iterable[str | os.PathLike[str]] = (),
    only: Collection[str] | None = None,
) -> list[InboxItem]:
    """Items of several inboxes; a second file with the same content for the same athlete is
    marked a duplicate (``duplicate_of``).

    The same content filed under another athlete is no duplicate: it is that athlete's copy of
    the recording (one class filmed once, `flows.plan` records it without a second analysis).
    Missing inbox folders raise `FileNotFoundError` naming the folder. ``only``: see
    `scan_inbox`.
    """
    seen: dict[tuple[str, str | None], str] = {}
    out: list[InboxItem] = []
    exclude = tuple(exclude)
    for inbox in inboxes:
        for item in scan_inbox(inbox, hash_files=hash_files, exclude=exclude, only=only):
            if item.ok and item.sha256:
                where = f"{item.inbox}/{item.rel_path}"
                first = seen.setdefault((item.video_id, item.athlete), where)
                if first != where:
                    item = InboxItem(**{**item.to_dict(), "duplicate_of": first})
            out.append(item)
    return out


def verify_inside(item: InboxItem) -> Path:
    """The item's file, checked again (just before reading it) to lie inside its inbox.

    Guards against a file swapped for an outside symlink between discovery and processing.
    Raises `PermissionError` naming the file.
    """
    root = Path(item.inbox).resolve()
    real = Path(item.path).resolve()
    if not _inside(real, root) or not real.is_file():
        raise PermissionError(f"{item.rel_path}: no longer a file inside the inbox {root}")
    return real


LAYOUT_EXAMPLE = """\
  inbox/
    alice/                      <- athlete
      squat/                    <- exercise (matches a rule file, e.g. rules/library/squat.yaml)
        2024-05-01_set1.mp4
        2024-05-01_set1.mp4.yaml   (optional sidecar: athlete, exercise, view, recorded_at)
    bob/
      pushup/
        front.mov
"""
