"""What one worker process does with one video: claim, analyse, record, score. No Prefect.

`init_worker` is the process pool's initializer: it loads the models once per worker process
(and pins the worker to one GPU when the device is CUDA), so that every video the worker takes
afterwards reuses them. `process_video` is the per-video body the Prefect task wraps; it is a
plain function so that it can be tested, and called by ``posecoach analyze``-like tools, without
an orchestrator.

Order of writes for one video (so that a crash at any point is harmless): claim file ->
progress records while it is analysed (`flows.progress`, atomic) -> keypoints (atomic) ->
reps/findings -> ``videos`` row (atomic, the "done" marker) -> progress record removed -> claim
released. A crash before the row leaves no row: the next run analyses the video again and
replaces its keypoints file (same video id, same name) instead of adding a second one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from flows.claims import DEFAULT_STALE_AFTER_S, claimed
from flows.inbox import InboxItem, verify_inside
from flows.plan import attempt_number, is_done
from flows.progress import ProgressRecorder, clear_progress
from posecoach import failures, model_label
from posecoach.failures import ModelLoadError, TransientError
from posecoach.store import Store
from posecoach.videos import VideoRow, read_video_rows, record_estimated_view, write_video_row

log = logging.getLogger("posecoach.flows")

#: Test hook: when set, a worker exits abruptly after writing a video's keypoints and before its
#: ``videos`` row -- the worst moment for a crash. ``1``: for every video; otherwise only for
#: the video of that file name. Used by the interrupted-run and bad-file tests.
CRASH_ENV = "POSECOACH_TEST_EXIT_AFTER_KEYPOINTS"

_ENGINE: Any = None
_ENGINE_KEY: tuple[Any, ...] | None = None
_DEVICE: str | None = None
_INIT_ERROR: str | None = None


def _options_key(options: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in options.items()))


def engine_config(options: dict[str, Any]) -> Any:
    """An `analysis.pipeline.config.EngineConfig` from plain options (unset ones keep their defaults)."""
    from analysis.pipeline.config import EngineConfig

    return EngineConfig(**{k: v for k, v in options.items() if v is not None})


def init_worker(
    options: dict[str, Any], gpu_counter: Any = None, threads: int | None = None
) -> None:
    """Process-pool initializer: pick this worker's device, then load the models once.

    ``gpu_counter`` (a shared ``multiprocessing.Value``) hands out GPU indices in turn, so that
    N workers on a machine with N GPUs use one GPU each. ``threads`` caps the CPU threads of the
    worker's math libraries so that workers do not oversubscribe the cores.
    """
    global _DEVICE, _INIT_ERROR
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:  # pragma: no cover - torch is part of the stack
            pass
    device = options.get("device")
    if gpu_counter is not None and device in ("cuda", "gpu"):
        with gpu_counter.get_lock():
            index = gpu_counter.value
            gpu_counter.value += 1
        import torch

        count = max(1, torch.cuda.device_count())
        _DEVICE = f"cuda:{index % count}"
    try:
        get_engine(options)
    except Exception as exc:
        # An initializer that raises breaks the whole pool with no message; keep the reason and
        # give it to every video this worker takes instead.
        _INIT_ERROR = f"{type(exc).__name__}: {exc}"
        log.error("worker %s could not load the models: %s", worker_name(), _INIT_ERROR)


def get_engine(options: dict[str, Any]) -> Any:
    """The worker's `PoseEngine` for these options, loaded on first use and then reused."""
    global _ENGINE, _ENGINE_KEY
    if _INIT_ERROR is not None:
        raise ModelLoadError(f"the models could not be loaded: {_INIT_ERROR}")
    opts = dict(options)
    if _DEVICE is not None:
        opts["device"] = _DEVICE
    key = _options_key(opts)
    if _ENGINE is None or key != _ENGINE_KEY:
        from analysis.pipeline.engine import PoseEngine

        started = time.perf_counter()
        _ENGINE = PoseEngine(engine_config(opts))
        _ENGINE_KEY = key
        log.info(
            "worker %s loaded the models in %.1f s",
            worker_name(),
            time.perf_counter() - started,
        )
    return _ENGINE


def worker_name() -> str:
    """``host:pid`` (or ``$POSECOACH_WORKER_NAME``): who did a piece of work."""
    return os.environ.get("POSECOACH_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one video this run (a row of the night's table)."""

    video_id: str
    rel_path: str
    athlete: str | None
    exercise: str | None
    # analyzed | rescored | recorded | copied | skipped | claimed-elsewhere | duplicate | waiting
    # | error
    action: str
    status: str | None = None  # the videos row's status: ok | empty | failed
    error: str | None = None
    seconds: float = 0.0
    worker: str | None = None
    date: str | None = None  # the store partition (session date) of the video's rows

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def outcome(
    item: InboxItem, action: str, *, started: float | None = None, **kw: Any
) -> dict[str, Any]:
    """An `Outcome` as a dict; ``started`` (a perf_counter value) sets the elapsed seconds."""
    if started is not None:
        kw.update(seconds=round(time.perf_counter() - started, 3), worker=worker_name())
    return Outcome(
        video_id=item.video_id,
        rel_path=item.rel_path,
        athlete=item.athlete,
        exercise=item.exercise,
        action=action,
        **kw,
    ).to_dict()


def video_meta(item: InboxItem) -> Any:
    """The `analysis.ingest.analyze.VideoMeta` of an inbox item (store paths are inbox-relative)."""
    from analysis.ingest.analyze import VideoMeta

    return VideoMeta(
        athlete=item.athlete,
        exercise=item.exercise,
        view=item.view,
        recorded_at=dt.datetime.fromisoformat(item.recorded_at) if item.recorded_at else None,
        path=item.rel_path,
    )


def transient_reason(row: VideoRow) -> str | None:
    """The error of a failed row when it is worth retrying rather than recording for good."""
    return row.error if failures.retry_next_night(row) else None


def process_video(
    item: dict[str, Any],
    store_url: str,
    engine_options: dict[str, Any],
    rules_dir: str | None = None,
    *,
    run_id: str | None = None,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    retry_failed: bool = False,
) -> dict[str, Any]:
    """Analyse one inbox item into the store and score it; returns its `Outcome` as a dict.

    A bad video ends as a ``failed`` row (the analysis records why) and returns normally.
    Errors worth retrying (store unreachable, out of memory, ...) propagate to the caller.
    """
    from analysis.ingest.analyze import analyze_into_store

    started = time.perf_counter()
    entry = InboxItem.from_dict(item)
    store = Store(store_url)
    preset = preset_of(engine_options)
    with claimed(store, entry.video_id, run_id=run_id, stale_after_s=stale_after_s) as claim:
        if claim is None:
            return outcome(entry, "claimed-elsewhere", started=started)
        # Another run may have finished this video between our plan and our claim (unless the
        # plan retries failed videos on purpose).
        previous = current_row(store, entry.video_id)
        if is_done(previous, preset, retry_failed=retry_failed):
            return outcome(entry, "skipped", started=started)
        path = verify_inside(entry)
        clear_progress(store, entry.video_id)  # a crashed run's record would read as ours
        try:
            row = analyze_into_store(
                get_engine(engine_options),
                path,
                store,
                video_meta(entry),
                progress=ProgressRecorder(store, entry.video_id),
            )
            row = dataclasses.replace(row, attempts=attempt_number(previous, preset))
            if os.environ.get(CRASH_ENV) in ("1", os.path.basename(entry.rel_path)):
                os._exit(75)  # see CRASH_ENV: keypoints written, videos row not yet
            if reason := transient_reason(row):
                raise TransientError(reason)  # no row: the task's retries (or the next run) redo it
            score_error = None
            if row.status == "ok":
                score_error = score(store, row.video_id, rules_dir, video=row)
            write_video_row(store, row)  # last: the "done" marker
        finally:
            clear_progress(store, entry.video_id)
    return outcome(
        entry,
        "analyzed",
        started=started,
        status=row.status,
        error=row.error or score_error,
        date=row.date,
    )


def score(
    store: Store, video_id: str, rules_dir: str | None, video: VideoRow | None = None
) -> str | None:
    """Score one stored video; a scoring error is returned (and logged), never raised.

    ``video`` is its videos row when not yet written. Scoring reads only the store, so a
    failure here leaves the video analysed, and the next run's rules-digest check (no findings,
    no digest) scores it again.
    """
    from rules.scoring import score_video

    try:
        result = score_video(store, video_id, rules_dir, video=video.to_dict() if video else None)
        if video is None:  # a stored video scored again: an estimated view is estimated anew
            rows = store.read("videos", video_ids=[video_id])
            if len(rows):
                record_estimated_view(store, rows.iloc[-1].to_dict(), result.video_view)
    except Exception as exc:  # one video's rules problem must not spoil the night
        log.warning("scoring %s failed: %s", video_id, exc)
        return f"scoring failed: {exc}"
    return None


def current_row(store: Store, video_id: str) -> VideoRow | None:
    """The video's ``videos`` row, or None."""
    rows = read_video_rows(store, [video_id])
    return rows[0] if rows else None


def preset_of(engine_options: dict[str, Any]) -> str:
    """The preset name a videos row records for these engine options."""
    return model_label(
        str(engine_options.get("preset") or "fast"),
        engine_options.get("detector"),
        engine_options.get("pose"),
    )
