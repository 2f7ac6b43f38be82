"""A file filed under a second athlete: one recording of a class in two athletes' folders.

The content is analysed once, as the video of the athlete it was first filed under; every other
athlete's file of it becomes a copy, a ``videos`` row of its own (`VideoRow.as_copy`: its own
id, athlete and path, ``same_content_as`` the analysed video, the analysis's columns copied),
so that the recording is on each athlete's page. A copy follows its analysed video: after a
re-analysis or a re-score, the copy is written again where the analysed row changed, and a
night that changes nothing writes nothing.

Plain functions (no Prefect): `copy_row` and `copy_is_current` are pure, `record_copy` writes.
"""

from __future__ import annotations

import datetime as dt

from flows.inbox import InboxItem
from posecoach.store import Store
from posecoach.videos import VideoRow, copy_video_id, read_video_rows, write_video_row


def copy_row(item: InboxItem, analysed: VideoRow, now: dt.datetime | None = None) -> VideoRow:
    """The copy row of ``item`` (filed under another athlete than ``analysed``, its content)."""
    return analysed.as_copy(
        athlete=str(item.athlete),
        path=item.rel_path,
        file_name=item.rel_path.rsplit("/", 1)[-1],
        processed_at=now or dt.datetime.now(dt.UTC),
    )


def copy_is_current(item: InboxItem, analysed: VideoRow | None, stored: VideoRow | None) -> bool:
    """Whether the stored copy row is the one ``item`` and its analysed video make now (when
    it was written aside)."""
    if analysed is None or stored is None:
        return False
    return copy_row(item, analysed, stored.processed_at) == stored


def copy_id(item: InboxItem) -> str:
    """The id of the copy row of ``item``."""
    return copy_video_id(item.video_id, str(item.athlete))


def record_copy(store: Store, item: InboxItem) -> tuple[str, VideoRow | None]:
    """Write ``item``'s copy row where it is missing or behind its analysed video. Returns what
    was done and the copy row: ``copied``, ``skipped`` (current), or ``waiting`` (no analysis
    of its content yet, no row)."""
    rows = {r.video_id: r for r in read_video_rows(store, [item.video_id, copy_id(item)])}
    analysed, stored = rows.get(item.video_id), rows.get(copy_id(item))
    if analysed is None:
        return "waiting", None
    if copy_is_current(item, analysed, stored):
        return "skipped", stored
    row = copy_row(item, analysed)
    write_video_row(store, row)
    return "copied", row
