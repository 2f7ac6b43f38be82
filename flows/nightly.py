"""The nightly flow: inbox -> new videos -> pose -> store -> scores -> reports -> artifacts.

It reads like the table of contents of the job; the work is in `flows.inbox`, `flows.plan`,
`flows.workers` and the `analysis`, `rules` and `reports` packages.

Where per-video work runs (the ``workers`` and ``dispatch`` parameters):

* ``dispatch="pool"``, ``workers=N >= 1`` (default 1): Prefect's `ProcessPoolTaskRunner` with N
  worker processes, each loading the models once in its initializer (`flows.init_worker`).
  With ``device="cuda"`` each worker takes its own GPU (use N = number of GPUs).
* ``dispatch="pool"``, ``workers=0``: in the flow's own process (debugging, tiny inboxes).
* ``dispatch="deployment"``: one flow run of the ``posecoach-video`` deployment per batch of
  ``batch_size`` videos, picked up by whichever Prefect workers serve its work pool (scale-out,
  see docs/scale-out.md). Every machine must see the same store and inbox paths.

Parameters are plain JSON values (paths as strings), so that a deployment can set them.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import ProcessPoolTaskRunner

from flows.claims import DEFAULT_STALE_AFTER_S
from flows.copies import record_copy
from flows.inbox import InboxItem, discover
from flows.plan import (
    Plan,
    latest_rows,
    make_plan,
    refused_row,
    retryable_row,
    unfeatured_ids,
)
from flows.workers import (
    current_row,
    init_worker,
    outcome,
    preset_of,
    process_video,
    score,
)
from posecoach import failures
from posecoach.store import Store
from posecoach.videos import write_video_row

if TYPE_CHECKING:
    from prefect.client.schemas import FlowRun

VIDEO_DEPLOYMENT = "posecoach-video/posecoach-video"


def retry_condition(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` of a video's task: the decision is `failures.retry_in_run`."""
    return failures.retry_in_run(state.result(raise_on_failure=False))


# -- tasks: thin wrappers, one per step ------------------------------------------------------------
@task(name="discover", cache_policy=NO_CACHE)
def discover_videos(
    inboxes: list[str], exclude: list[str], only: list[str] | None = None
) -> list[InboxItem]:
    return discover(inboxes, exclude=exclude, only=set(only) if only is not None else None)


@task(name="plan", cache_policy=NO_CACHE)
def plan_night(
    items: list[InboxItem],
    store_url: str,
    preset: str,
    rules_dir: str | None,
    retry_failed: bool = False,
) -> Plan:
    from rules.scoring import rules_digest

    store = Store(store_url)
    return make_plan(
        items,
        latest_rows(store.read("videos")),
        preset=preset,
        rules_digest=rules_digest(rules_dir),
        scored_digest=lambda vid: scored_digest(store, vid),
        # one listing per table: a store from before the features table gets it re-scored
        unfeatured=unfeatured_ids(store.files("keypoints"), store.files("features")),
        retry_failed=retry_failed,
    )


def scored_digest(store: Store, video_id: str) -> str | None:
    """The rules digest a video's findings were made with (findings metadata), or None."""
    value = store.metadata("findings", video_id).get("rules_digest")
    return str(value) if value is not None else None


@task(name="record-refused", cache_policy=NO_CACHE)
def record_refused(items: list[InboxItem], store_url: str) -> list[dict[str, Any]]:
    store = Store(store_url)
    outcomes = []
    for item in items:
        row = refused_row(item)
        write_video_row(store, row)
        outcomes.append(outcome(item, "recorded", status="failed", error=item.error, date=row.date))
    return outcomes


@task(name="record-copies", cache_policy=NO_CACHE)
def record_copies(items: list[InboxItem], store_url: str) -> list[dict[str, Any]]:
    """The copy rows of files filed under a second athlete (after their content's analysis)."""
    store = Store(store_url)
    outcomes = []
    for item in items:
        action, row = record_copy(store, item)
        note = f"same content as video {item.video_id}, analysed once"
        if row is None:
            note = f"same content as video {item.video_id}, which has no analysis yet"
        outcomes.append(
            outcome(item, action, status=row.status if row else None, error=note,
                    date=row.date if row else None)
        )  # fmt: skip
    return outcomes


@task(
    name="analyze-video",
    task_run_name="analyze {item[rel_path]}",
    cache_policy=NO_CACHE,
    retries=failures.TASK_RETRIES,
    retry_delay_seconds=list(failures.TASK_RETRY_DELAYS_S),
    retry_condition_fn=retry_condition,
)
def analyze_video(
    item: dict[str, Any],
    store_url: str,
    engine_options: dict[str, Any],
    rules_dir: str | None,
    run_id: str | None,
    stale_after_s: float,
    retry_failed: bool = False,
) -> dict[str, Any]:
    outcome = process_video(
        item,
        store_url,
        engine_options,
        rules_dir,
        run_id=run_id,
        stale_after_s=stale_after_s,
        retry_failed=retry_failed,
    )
    get_run_logger().info(
        "%s: %s %s by %s",
        item["rel_path"],
        outcome["action"],
        outcome["status"] or "",
        outcome["worker"],
    )
    return outcome


@task(name="rescore-video", task_run_name="rescore {item.rel_path}", cache_policy=NO_CACHE)
def rescore_video(item: InboxItem, store_url: str, rules_dir: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    store = Store(store_url)
    error = score(store, item.video_id, rules_dir)
    row = current_row(store, item.video_id)
    return outcome(
        item,
        "rescored",
        started=started,
        status=row.status if row else None,
        error=error,
        date=row.date if row else None,
    )


@task(name="reports", cache_policy=NO_CACHE)
def render_reports(
    store_url: str, reports_dir: str, dates: list[str], video_roots: list[str]
) -> str:
    """Render the nights (session dates) this run touched; returns the page to open.

    That is the night's index when the run touched one date, else the index of all nights.
    """
    from reports.build import build_reports, render_index

    store = Store(store_url)
    pages = [build_reports(store, reports_dir, d, video_roots=video_roots) for d in dates]
    return str(pages[0] if len(pages) == 1 else render_index(store, reports_dir))


# -- the flows -------------------------------------------------------------------------------------
@flow(name="posecoach-nightly", log_prints=True)
def nightly(
    inboxes: list[str],
    store: str,
    reports: str,
    engine: dict[str, Any] | None = None,
    rules_dir: str | None = None,
    workers: int = 1,
    dispatch: str = "pool",
    batch_size: int = 1,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    retry_failed: bool = False,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Process the new videos of the inbox folders and build the night's reports.

    ``retry_failed`` also analyses again the videos whose last analysis failed (bad files
    too, which fail again quickly), e.g. after more memory was added. ``only``: just these
    inbox-relative paths (the web app runs its uploads so); None, every file of the inboxes.

    Returns ``{"index": path, "counts": {...}, "outcomes": [...]}``; the same table is published
    as a Prefect table artifact, and the index as a link artifact.
    """
    engine = dict(engine or {})
    store_url = str(Store(store).url)
    preset = preset_of(engine)
    logger = get_run_logger()

    items = discover_videos(inboxes, exclude=[store, reports], only=only)
    plan = plan_night(items, store_url, preset, rules_dir, retry_failed)
    logger.info("plan: %s", plan.summary())

    outcomes = record_refused(plan.record_failed, store_url)
    common = dict(
        store_url=store_url,
        engine_options=engine,
        rules_dir=rules_dir,
        run_id=_flow_run_id(),
        stale_after_s=stale_after_s,
        retry_failed=retry_failed,
    )
    if dispatch == "deployment":
        outcomes += _analyze_by_deployment(plan.analyze, common, batch_size)
    elif dispatch != "pool":
        raise ValueError(f"nightly: dispatch is {dispatch!r}; expected 'pool' or 'deployment'")
    elif workers <= 0:
        outcomes += _analyze_here(plan.analyze, common)
    else:
        outcomes += _analyze_in_pool(plan.analyze, common, workers)
    outcomes += [rescore_video(item, store_url, rules_dir) for item in plan.rescore]
    outcomes += record_copies(plan.copies, store_url)  # after the analyses they copy
    outcomes += [outcome(item, "skipped") for item in plan.done]
    outcomes += [
        outcome(item, "duplicate", error=f"same content as {item.duplicate_of}")
        for item in plan.duplicates
    ]

    touched = sorted({o["date"] for o in outcomes if o["date"] and o["action"] not in _UNTOUCHED})
    index = render_reports(store_url, reports, touched, inboxes)
    counts = _counts(outcomes)
    _publish(outcomes, index, counts)
    logger.info("%s; reports: %s", counts, index)
    return {"index": index, "dates": touched, "counts": counts, "outcomes": outcomes}


# persist_result: the nightly run reads each batch's outcomes (who did what) from the result
# storage; without a shared one it falls back to the store (docs/scale-out.md).
@flow(name="posecoach-video", log_prints=True, persist_result=True)
def video_batch(
    items: list[dict[str, Any]],
    store_url: str,
    engine_options: dict[str, Any] | None = None,
    rules_dir: str | None = None,
    run_id: str | None = None,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    retry_failed: bool = False,
) -> list[dict[str, Any]]:
    """Analyse a batch of inbox items in this process (models loaded once for the batch).

    The unit of scale-out: the nightly flow creates one run of this flow per batch on a work
    pool, and any worker machine takes it.
    """
    common = dict(
        store_url=store_url,
        engine_options=dict(engine_options or {}),
        rules_dir=rules_dir,
        run_id=run_id,
        stale_after_s=stale_after_s,
        retry_failed=retry_failed,
    )
    return _analyze_here([InboxItem.from_dict(it) for it in items], common)


_UNTOUCHED = ("skipped", "duplicate", "claimed-elsewhere", "waiting")


# -- helpers of the flow ---------------------------------------------------------------------------
def _flow_run_id() -> str:
    """The id of the flow run this is called in (claims record it)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("flows.nightly: called outside a flow run")
    return str(context.flow_run.id)


def _analyze_here(items: list[InboxItem], common: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the items in this process, one after the other; a failure does not stop the rest."""
    outcomes: list[dict[str, Any]] = []
    for item in items:
        state = analyze_video(item.to_dict(), **common, return_state=True)
        if state.is_completed():
            outcomes.append(state.result())
        else:
            reason = state.message or state.name or "the video's task did not complete"
            outcomes += _record_retryable([item], common, reason)
    return outcomes


def _analyze_in_pool(
    items: list[InboxItem], common: dict[str, Any], n_workers: int
) -> list[dict[str, Any]]:
    """Run the items on a process pool; a video that kills its worker does not take others along.

    A worker that dies (a decoder crash on a hostile file, the kernel's OOM killer) breaks the
    whole pool: every unfinished video fails with it, and nothing says which one was to blame.
    The unfinished ones then run on a pool of one worker, in order, so that the next death names
    its video: that one is recorded as retryable, and the rest go back to the full pool. Every
    isolating round either finishes its videos or removes one, so the night always ends, and
    videos queued behind a bad file are analysed the same night.
    """
    outcomes: list[dict[str, Any]] = []
    pending, isolate, deaths = list(items), False, 0
    while pending:
        done, broken = _pool_round(pending, common, 1 if isolate else n_workers)
        outcomes += done
        if not broken:
            break
        deaths += 1
        get_run_logger().warning(
            "a worker process died (%d so far this night); %d video(s) unfinished%s",
            deaths,
            len(broken),
            "" if isolate else ", running them one at a time to find the cause",
        )
        if isolate:
            culprit, pending = broken[0], broken[1:]
            reason = "the worker process died while processing it"
            outcomes += _record_retryable([culprit], common, reason)
        else:
            pending = broken
        isolate = not isolate
    return outcomes


def _pool_round(
    items: list[InboxItem], common: dict[str, Any], n_workers: int
) -> tuple[list[dict[str, Any]], list[InboxItem]]:
    engine = common["engine_options"]
    gpu_counter = None
    if str(engine.get("device") or "").startswith(("cuda", "gpu")):
        gpu_counter = multiprocessing.get_context("spawn").Value("i", 0)
    n = max(1, min(n_workers, len(items)))
    threads = max(1, (os.cpu_count() or 1) // n)
    runner = ProcessPoolTaskRunner(
        max_workers=n, initializer=init_worker, initargs=(engine, gpu_counter, threads)
    )
    done: list[dict[str, Any]] = []
    broken: list[InboxItem] = []
    with runner:
        futures = [
            (it, runner.submit(analyze_video, {"item": it.to_dict(), **common})) for it in items
        ]
        for item, future in futures:
            try:
                done.append(future.result())
            except concurrent.futures.process.BrokenProcessPool:
                broken.append(item)
            except Exception as exc:  # retries exhausted: record it, keep the night going
                done += _record_retryable([item], common, f"{type(exc).__name__}: {exc}")
    return done, broken


def _record_retryable(
    items: list[InboxItem], common: dict[str, Any], reason: str
) -> list[dict[str, Any]]:
    store = Store(common["store_url"])
    preset = preset_of(common["engine_options"])
    out = []
    for item in items:
        row = retryable_row(item, reason, preset, current_row(store, item.video_id))
        write_video_row(store, row)
        out.append(outcome(item, "error", status="failed", error=row.error, date=row.date))
    return out


def _analyze_by_deployment(
    items: list[InboxItem], common: dict[str, Any], batch_size: int
) -> list[dict[str, Any]]:
    """One ``posecoach-video`` flow run per batch on the work pool; the store says what happened."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    batch_size = max(1, batch_size)
    runs = []
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        # run_deployment returns a coroutine only when called from async code; this flow is sync
        run = cast(
            "FlowRun",
            run_deployment(
                VIDEO_DEPLOYMENT,
                parameters={"items": [it.to_dict() for it in batch], **common},
                timeout=0,  # create them all first, then wait: the workers share them out
                flow_run_name=f"video {batch[0].rel_path}"
                + (f" +{len(batch) - 1}" if len(batch) > 1 else ""),
            ),
        )
        runs.append((batch, run.id))
    states = {}
    with get_client(sync_client=True) as client:
        waiting = {run_id for _, run_id in runs}
        while waiting:
            for run_id in list(waiting):
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    states[run_id] = state
                    waiting.discard(run_id)
            if waiting:
                time.sleep(2)
    store = Store(common["store_url"])
    outcomes = []
    for batch, run_id in runs:
        reported = {o["video_id"]: o for o in _batch_result(states[run_id])}
        for item in batch:
            row = current_row(store, item.video_id)
            if item.video_id in reported:
                outcomes.append(reported[item.video_id])
            elif row:
                outcomes.append(
                    outcome(
                        item,
                        "analyzed",
                        status=row.status,
                        error=row.error,
                        worker=f"flow run {run_id}",
                        date=row.date,
                    )
                )
            else:
                state = states[run_id]
                reason = f"flow run {run_id} ended {state.name}: {state.message or 'no videos row'}"
                outcomes += _record_retryable([item], common, reason)
    return outcomes


def _batch_result(state: Any) -> list[dict[str, Any]]:
    """A finished ``posecoach-video`` run's outcomes, or [] where its result cannot be read."""
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # no shared result storage: the store is the fallback
        return []
    return result if isinstance(result, list) else []


def _counts(outcomes: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        key = o["action"] if o["action"] != "analyzed" else f"analyzed-{o['status']}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _publish(outcomes: list[dict[str, Any]], index: str, counts: dict[str, int]) -> None:
    """The night's table and a link to its index, as Prefect artifacts."""
    columns = ("rel_path", "athlete", "exercise", "action", "status", "error", "seconds", "worker")
    create_table_artifact(
        key="posecoach-night",
        table=[{c: o.get(c) for c in columns} for o in outcomes],
        description="PoseCoach night: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
    )
    create_link_artifact(
        key="posecoach-night-index",
        link=Path(index).resolve().as_uri() if "://" not in index else index,
        link_text="PoseCoach reports of the night",
        description="Open in a browser (the reports work offline).",
    )
