"""The report folder: where each page goes, links between pages, assets, templates, formatting.

Layout (every page links by relative path, so the folder can be copied or opened from a shared
drive with no server and no internet)::

    <out>/index.html                  every night and athlete
    <out>/assets/                     plotly.js (written once, from the installed package), css, js
    <out>/<date>/index.html           the night: every video, ok or failed, findings by severity
    <out>/<date>/<video_id>.html      one video
    <out>/<date>/img/<video_id>-*.jpg its thumbnails
    <out>/athletes/<slug>.html        one athlete's trends across sessions

``<date>`` is the store's partition date of the video (the night it was processed).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from reports import summaries

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = ("report.css", "report.js")
#: Where a page's navigation may take links to the web app: an HTML comment, so a page opened
#: from a shared folder shows nothing there; ``posecoach web`` puts its links in when serving
#: the page (`flows.web.app`), whoever built it (the web app's runs or the nightly job).
APP_LINKS_MARKER = "<!--posecoach:app-links-->"


# -- formatting ------------------------------------------------------------------------------------
def missing(value: Any) -> bool:
    """None, NaN, NaT or NA (arrays and lists are not missing)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays, lists
        return False


def text(value: Any) -> str:
    """A value as page text; "" for None, NaN, NaT."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def when(value: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC`` (naive ones taken as UTC); "" when missing."""
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return ""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def video_label(file_name: Any, source: Any, recorded_at: Any, video_id: str) -> str:
    """A video as its pages name it: its file; a live session (which has no file) by when it
    started; else its id."""
    if name := text(file_name):
        return name
    if text(source) == "live" and (started := when(recorded_at)):
        return f"Live session {started}"
    return video_id


def num(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number with ``digits`` decimals and an optional unit; "" when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return f"{float(value):.{digits}f}{(' ' + unit) if unit else ''}"


def now() -> str:
    """The build time, for the pages' footers."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- paths -----------------------------------------------------------------------------------------
def athlete_slug(athlete: str) -> str:
    """A file name for an athlete: readable part plus a short hash (distinct names never clash)."""
    readable = re.sub(r"[^a-z0-9]+", "-", athlete.lower()).strip("-")[:40] or "athlete"
    digest = hashlib.sha256(athlete.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


def video_page_path(out_dir: Path, date: str, video_id: str) -> Path:
    return out_dir / date / f"{video_id}.html"


def night_page_path(out_dir: Path, date: str) -> Path:
    return out_dir / date / "index.html"


def athlete_page_path(out_dir: Path, athlete: str) -> Path:
    return out_dir / "athletes" / f"{athlete_slug(athlete)}.html"


def resolve_video_path(
    path: str | None, roots: Sequence[str | os.PathLike[str]] = ()
) -> str | None:
    """Where the video file of a ``videos.path`` is on this machine, or None.

    Absolute paths are taken as they are; relative ones (the nightly flow stores them relative
    to the inbox) are tried under each of ``roots``, then under the working directory.
    """
    if not path:
        return None
    p = Path(path)
    candidates = [p] if p.is_absolute() else [Path(r) / p for r in roots] + [p]
    for c in candidates:
        if c.exists():
            return str(c)
    return None


# -- writing ---------------------------------------------------------------------------------------
def write_assets(out_dir: Path) -> None:
    """Copy plotly.js from the installed plotly package (once) and the page css/js."""
    import plotly
    from plotly.offline import get_plotlyjs

    assets = out_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    target = assets / "plotly.min.js"
    stamp = assets / "plotly.version"
    version = plotly.__version__
    if not target.exists() or not stamp.exists() or stamp.read_text().strip() != version:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(get_plotlyjs(), encoding="utf-8")
        os.replace(tmp, target)
        stamp.write_text(version + "\n")
    for name in ASSETS:
        data = (TEMPLATES / name).read_bytes()
        dest = assets / name
        if not dest.exists() or dest.read_bytes() != data:
            dest.write_bytes(data)


def environment() -> jinja2.Environment:
    """The templates' environment: autoescaped, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every page is HTML; names and messages are data, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = num
    env.filters["when"] = when
    env.filters["humanize"] = summaries.humanize
    env.globals["app_links_marker"] = Markup(APP_LINKS_MARKER)
    return env


def write_page(path: Path, html: str) -> None:
    """Write a page under a hidden temporary name and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Context:
    """One build: where pages go, which pages exist or will, where videos are."""

    out_dir: Path
    video_roots: tuple[str, ...] = ()
    planned: set[Path] = field(default_factory=set)
    env: jinja2.Environment = field(default_factory=environment)
    #: who each analysed video is filed under (`posecoach.annotations.filed_under`), read once
    #: per build by the first page that needs it
    filed: dict[str, list[str]] | None = None

    def exists(self, page: Path) -> bool:
        return page.resolve() in self.planned or page.exists()

    def link(self, page: Path, from_page: Path) -> str | None:
        """Relative link from one page to another, or None where that page does not exist."""
        if not self.exists(page):
            return None
        return Path(os.path.relpath(page, from_page.parent)).as_posix()

    def asset(self, name: str, from_page: Path) -> str:
        return Path(os.path.relpath(self.out_dir / "assets" / name, from_page.parent)).as_posix()


def context(
    out_dir: str | os.PathLike[str], video_roots: Iterable[str | os.PathLike[str]] = ()
) -> Context:
    """A build's context; creates the folder and writes the assets."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    write_assets(out)
    return Context(out, tuple(os.fspath(r) for r in video_roots))
