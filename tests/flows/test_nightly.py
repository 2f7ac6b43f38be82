"""The nightly flow under Prefect's test harness: incremental, re-scoring, crash-safe, concurrent.

Without real models (still slow: Prefect's harness and five flow runs): in-process runs (``workers=0``) with stand-in models (bright rectangles, see
tests/helpers.py) through the real decode, tracking, store, rules and reports, counting every
engine load and analysis. With real models: the detector (../shared) and RTMPose-t on random
weights, in Prefect's process pool and in ``posecoach run`` subprocesses. All flow tests are
marked slow; the fast tier covers discovery, planning and claims (test_inbox.py).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.claims import held_claims
from flows.nightly import nightly
from flows.workers import CRASH_ENV
from posecoach import failures
from posecoach.failures import MAX_ATTEMPTS, ModelLoadError
from posecoach.store import Store
from tests.helpers import (
    REPO,
    Person,
    copy_into,
    corrupt_copy,
    model_args,
    real_engine_options,
    run_cli,
    shared_path,
    store_files,
    write_video,
)


def _generated(inbox: Path, rel: str, people: list[Person], n_frames: int = 30) -> Path:
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    return write_video(dest, people, n_frames)


def _run(inbox: Path, store: Path, reports: Path, rules: Path, **kw) -> dict:
    return nightly(
        inboxes=[str(inbox)],
        store=str(store),
        reports=str(reports),
        rules_dir=str(rules),
        **{"workers": 0, **kw},
    )


def _by_path(result: dict) -> dict[str, dict]:
    return {o["rel_path"]: o for o in result["outcomes"]}


def _videos(store: Path) -> dict[str, dict]:
    df = Store(store).read("videos")
    return {r["path"]: r for r in df.to_dict("records")}


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "rules" / "library", tmp_path / "rules"))


def test_the_video_task_retries_by_the_failure_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's retries of a video: how many, how long apart, and when, from posecoach.failures."""
    from flows import nightly as nightly_mod

    task = nightly_mod.analyze_video
    assert task.retries == failures.TASK_RETRIES
    assert task.retry_delay_seconds == list(failures.TASK_RETRY_DELAYS_S)

    class _Failed:
        def __init__(self, exc: object) -> None:
            self.exc = exc

        def result(self, raise_on_failure: bool = True) -> object:
            assert raise_on_failure is False
            return self.exc

    for exc in (MemoryError(), ModelLoadError("no x.pth"), ValueError("refused"), "no exception"):
        assert task.retry_condition_fn(task, None, _Failed(exc)) is failures.retry_in_run(exc)
    # The condition is the policy's, not a copy of it: changing the policy changes the task.
    asked = []
    monkeypatch.setattr(failures, "retry_in_run", lambda exc: asked.append(exc) or False)
    assert task.retry_condition_fn(task, None, _Failed(MemoryError)) is False
    assert asked == [MemoryError]


@pytest.mark.slow  # ~12 s of flow runs after ~8-15 s of harness start-up; no real model
def test_nightly_is_incremental_and_rescoring_runs_no_model(
    prefect_harness, fake_engine, rules_copy: Path, tmp_path: Path
) -> None:
    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    squat = _generated(inbox, "ana/squat/set 1.mp4", [Person((100, 40), (0.5, 0.0))])
    _generated(inbox, "bob/push_up/-front.mp4", [Person((60, 60), (1.0, 0.2), size=(60, 90))])
    corrupt_copy(inbox, "ana/squat/broken.mp4", squat, keep_bytes=600)
    (inbox / "ana" / "squat" / "notes.mp4").write_text("coach notes, not a video")
    outside = tmp_path / "outside.mp4"
    shutil.copyfile(squat, outside)
    os.symlink(outside, inbox / "ana" / "squat" / "escape.mp4")

    # 1. first night: the good videos analysed, the bad ones recorded with their reasons
    first = _run(inbox, store, reports, rules_copy)
    outcomes = _by_path(first)
    assert outcomes["ana/squat/set 1.mp4"]["status"] == "ok"
    assert outcomes["bob/push_up/-front.mp4"]["status"] == "ok"
    assert outcomes["ana/squat/broken.mp4"]["status"] == "failed"
    assert fake_engine.loads == 1 and len(fake_engine.analyses) == 3  # two good + broken
    rows = _videos(store)
    assert set(rows) == set(outcomes)
    assert rows["ana/squat/broken.mp4"]["status"] == "failed"
    assert rows["ana/squat/broken.mp4"]["error"]
    assert "not a video or image" in rows["ana/squat/notes.mp4"]["error"]
    assert rows["ana/squat/escape.mp4"]["error"] == "refused: symlink points outside the inbox"
    for bad in ("broken.mp4", "notes.mp4", "escape.mp4"):
        assert rows[f"ana/squat/{bad}"]["error_kind"] == "bad_file", bad
    assert pd.isna(rows["ana/squat/set 1.mp4"]["error_kind"])
    assert rows["ana/squat/set 1.mp4"]["athlete"] == "ana"
    # No sidecar: the analysed videos hold their estimated view, and say it is one.
    ok_rows = [rows["ana/squat/set 1.mp4"], rows["bob/push_up/-front.mp4"]]
    assert all(r["view_source"] == "estimated" and isinstance(r["view"], str) for r in ok_rows)
    assert pd.isna(rows["ana/squat/broken.mp4"]["view_source"])
    index = Path(first["index"])
    assert index.is_file()
    night = index.read_text()
    assert "broken.mp4" in night and "notes.mp4" in night
    assert not list(store.rglob(".*tmp*")) and held_claims(Store(store)) == []

    from prefect.artifacts import Artifact

    table = Artifact.get("posecoach-night")
    assert table is not None and "broken.mp4" in str(table.data)
    link = Artifact.get("posecoach-night-index")
    assert link is not None and index.resolve().as_uri() in str(link.data)

    # 2. a re-run does no new work: nothing analysed, no store file touched
    before = store_files(store)
    second = _run(inbox, store, reports, rules_copy)
    assert set(second["counts"]) == {"skipped"}
    assert len(fake_engine.analyses) == 3
    assert store_files(store) == before

    # 3. a new video: only that one is processed
    _generated(inbox, "carl/squat/set2.mp4", [Person((140, 30), (-0.5, 0.3), size=(50, 110))])
    third = _run(inbox, store, reports, rules_copy)
    analysed = [o["rel_path"] for o in third["outcomes"] if o["action"] == "analyzed"]
    assert analysed == ["carl/squat/set2.mp4"]
    assert fake_engine.analyses[3:] == [str((inbox / "carl/squat/set2.mp4").resolve())]
    assert {k: v for k, v in store_files(store).items() if k in before} == before

    # 4. a rule file edited: the ok videos are re-scored, no model is loaded or run
    fake_engine.loads, fake_engine.analyses = 0, []
    keypoints_before = {k: v for k, v in store_files(store).items() if k.startswith("keypoints/")}
    with open(rules_copy / "squat.yaml", "a") as fh:
        fh.write("\n# coach: tightened after review\n")
    fourth = _run(inbox, store, reports, rules_copy)
    rescored = sorted(o["rel_path"] for o in fourth["outcomes"] if o["action"] == "rescored")
    assert rescored == ["ana/squat/set 1.mp4", "bob/push_up/-front.mp4", "carl/squat/set2.mp4"]
    assert fake_engine.loads == 0 and fake_engine.analyses == []
    assert {
        k: v for k, v in store_files(store).items() if k.startswith("keypoints/")
    } == keypoints_before
    from rules.scoring import rules_digest

    digest = rules_digest(rules_copy)
    vid = rows["ana/squat/set 1.mp4"]["video_id"]
    assert Store(store).metadata("findings", vid)["rules_digest"] == digest

    # 5. a video without a features file (a store from before the table): re-scored, no model
    Store(store).delete(vid, tables=["features"])
    fifth = _run(inbox, store, reports, rules_copy)
    rescored = [o["rel_path"] for o in fifth["outcomes"] if o["action"] == "rescored"]
    assert rescored == ["ana/squat/set 1.mp4"]
    assert fake_engine.loads == 0 and fake_engine.analyses == []
    assert len(Store(store).files("features", vid)) == 1
    assert not Store(store).read("features", video_ids=[vid]).empty
    # and the night after, nothing again
    assert set(_run(inbox, store, reports, rules_copy)["counts"]) == {"skipped"}


@pytest.mark.slow  # shares the harness; ~3 s of flow runs
def test_models_that_cannot_load_fail_the_night_softly_and_are_retried(
    prefect_harness, fake_engine, monkeypatch, rules_copy: Path, tmp_path: Path
) -> None:
    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    _generated(inbox, "ana/squat/a.mp4", [Person((100, 40))], n_frames=5)
    _generated(inbox, "ana/squat/b.mp4", [Person((60, 40))], n_frames=5)

    def no_models(options):
        raise ModelLoadError("the models could not be loaded: checkpoint x.pth not found")

    monkeypatch.setattr("flows.workers.get_engine", no_models)
    night = _run(inbox, store, reports, rules_copy)
    rows = _videos(store)
    assert sorted(rows) == ["ana/squat/a.mp4", "ana/squat/b.mp4"]
    for row in rows.values():
        assert row["status"] == "failed"
        assert row["error"].startswith("retryable: ") and "x.pth not found" in row["error"]
        assert row["error_kind"] == "transient" and row["attempts"] == 1
    assert night["counts"] == {"error": 2}

    monkeypatch.setattr("flows.workers.get_engine", fake_engine.get_engine)
    again = _run(inbox, store, reports, rules_copy)
    assert again["counts"] == {"analyzed-ok": 2}
    assert sorted(r["status"] for r in _videos(store).values()) == ["ok", "ok"]


@pytest.mark.slow  # three pool rounds with real models, ~40 s
def test_a_video_that_kills_its_worker_does_not_take_the_others_along(
    prefect_harness, monkeypatch, rules_copy: Path, tmp_path: Path
) -> None:
    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    names = ("a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4")
    for i, name in enumerate(names):
        _generated(inbox, f"ana/squat/{name}", [Person((40 + 20 * i, 40))], n_frames=4)
    # b.mp4 kills whichever worker process analyses it (as a decoder crash would), every time.
    monkeypatch.setenv(CRASH_ENV, "b.mp4")
    options = real_engine_options(tmp_path / "no-models")
    night = _run(inbox, store, reports, rules_copy, engine=options, workers=2)

    rows = _videos(store)
    assert rows["ana/squat/b.mp4"]["status"] == "failed"
    assert (
        rows["ana/squat/b.mp4"]["error"] == "retryable: the worker process died while processing it"
    )
    assert rows["ana/squat/b.mp4"]["error_kind"] == "transient"
    for name in ("a.mp4", "c.mp4", "d.mp4", "e.mp4"):  # queued behind it in the broken pool
        assert rows[f"ana/squat/{name}"]["status"] in ("ok", "empty"), rows[f"ana/squat/{name}"]
    assert sum(night["counts"].values()) == 5 and night["counts"]["error"] == 1
    # Only the dead worker's claim is left, for the next run to break (its process is gone).
    assert [c["video_id"] for c in held_claims(Store(store))] == [
        rows["ana/squat/b.mp4"]["video_id"]
    ]


@pytest.mark.slow  # shares the harness; ~3 s of flow runs
def test_machine_failures_are_retried_and_file_failures_are_not(
    prefect_harness, fake_engine, monkeypatch, rules_copy: Path, tmp_path: Path
) -> None:
    from flows import nightly as nightly_mod

    # The task's own retry delays (10 s, 60 s) are for real machines; the logic is the same.
    fast_retries = nightly_mod.analyze_video.with_options(retry_delay_seconds=0)
    monkeypatch.setattr(nightly_mod, "analyze_video", fast_retries)
    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    _generated(inbox, "ana/squat/oom-once.mp4", [Person((100, 40))], n_frames=5)
    _generated(inbox, "ana/squat/oom-always.mp4", [Person((80, 40))], n_frames=5)
    _generated(inbox, "ana/squat/bug.mp4", [Person((60, 40))], n_frames=5)
    engine = fake_engine.get_engine({})
    analyze = engine.analyze

    def failing(path, *a, **kw):
        name = Path(path).name
        if name == "oom-always.mp4" or (
            name == "oom-once.mp4" and fake_engine.analyses.count(str(path)) == 0
        ):
            fake_engine.analyses.append(str(path))
            raise MemoryError()
        if name == "bug.mp4":
            fake_engine.analyses.append(str(path))
            raise IndexError("index 17 is out of bounds")
        return analyze(path, *a, **kw)

    monkeypatch.setattr(engine, "analyze", failing)
    night = _run(inbox, store, reports, rules_copy)
    names = ("oom-once.mp4", "oom-always.mp4", "bug.mp4")
    tries = {n: sum(Path(p).name == n for p in fake_engine.analyses) for n in names}
    assert tries == {"oom-once.mp4": 2, "oom-always.mp4": 3, "bug.mp4": 1}  # 1 try + 2 retries
    rows = _videos(store)
    assert rows["ana/squat/oom-once.mp4"]["status"] == "ok"
    assert rows["ana/squat/oom-always.mp4"]["error"].startswith("retryable: ")
    assert "MemoryError" in rows["ana/squat/oom-always.mp4"]["error"]
    assert rows["ana/squat/bug.mp4"]["status"] == "failed"
    assert not rows["ana/squat/bug.mp4"]["error"].startswith("retryable: ")
    assert rows["ana/squat/oom-always.mp4"]["error_kind"] == "transient"
    assert rows["ana/squat/bug.mp4"]["error_kind"] == "bad_file"
    assert pd.isna(rows["ana/squat/oom-once.mp4"]["error_kind"])
    assert night["counts"] == {"analyzed-ok": 1, "analyzed-failed": 1, "error": 1}

    assert rows["ana/squat/oom-always.mp4"]["attempts"] == 1
    assert rows["ana/squat/oom-once.mp4"]["attempts"] == 1  # task retries are one run

    # The next nights try again only the video that failed for the machine's sake, until the
    # MAX_ATTEMPTS-th night in a row gives up on it.
    for night in range(2, MAX_ATTEMPTS + 1):
        fake_engine.analyses.clear()
        again = _run(inbox, store, reports, rules_copy)
        assert [Path(p).name for p in fake_engine.analyses] == ["oom-always.mp4"] * 3
        assert again["counts"] == {"error": 1, "skipped": 2}
        row = _videos(store)["ana/squat/oom-always.mp4"]
        assert row["attempts"] == night
    assert row["error"].startswith(f"given up after {MAX_ATTEMPTS} runs"), row["error"]
    assert row["error_kind"] == "given_up"
    fake_engine.analyses.clear()
    assert _run(inbox, store, reports, rules_copy)["counts"] == {"skipped": 3}
    assert fake_engine.analyses == []

    # Once the machine is mended, --retry-failed analyses every failed video again.
    monkeypatch.setattr(engine, "analyze", analyze)
    again = _run(inbox, store, reports, rules_copy, retry_failed=True)
    assert sorted(Path(p).name for p in fake_engine.analyses) == ["bug.mp4", "oom-always.mp4"]
    assert again["counts"] == {"analyzed-ok": 2, "skipped": 1}
    rows = _videos(store)
    assert rows["ana/squat/oom-always.mp4"]["status"] == "ok"
    assert rows["ana/squat/oom-always.mp4"]["attempts"] == 1


def test_empty_inbox_says_how_to_fill_it(tmp_path: Path, capsys) -> None:
    from flows.cli import run as cli_run
    from flows.cli.main import main

    assert main(["run", "--inbox", str(tmp_path / "inbox"), "--store", str(tmp_path / "s"),
                 "--reports", str(tmp_path / "r")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "No videos in" in out and "<- athlete" in out and "sidecar" in out
    assert (tmp_path / "inbox").is_dir() and not (tmp_path / "s").exists()
    assert cli_run.empty_inbox_message(["x"]) in out.replace(str(tmp_path / "inbox"), "x")


def test_run_hands_its_options_to_the_flow(tmp_path: Path, monkeypatch, capsys) -> None:
    import contextlib

    from flows import nightly as nightly_mod
    from flows.cli import run as cli_run
    from flows.cli.main import main

    seen: dict = {}

    def fake_nightly(**kwargs):
        seen.update(kwargs)
        outcome = {"rel_path": "ana/squat/a.mp4", "status": "failed", "action": "error",
                   "error": "retryable: MemoryError"}  # fmt: skip
        return {"index": str(tmp_path / "r" / "index.html"), "dates": [],
                "counts": {"error": 1}, "outcomes": [outcome]}  # fmt: skip

    monkeypatch.setattr(nightly_mod, "nightly", fake_nightly)
    monkeypatch.setattr(cli_run, "prefect_api", contextlib.nullcontext)  # no server for this
    _generated(tmp_path / "inbox", "ana/squat/a.mp4", [Person((60, 40))], n_frames=2)
    args = ["run", "--inbox", str(tmp_path / "inbox"), "--store", str(tmp_path / "s"),
            "--reports", str(tmp_path / "r"), "--workers", "2", "--preset", "balanced"]  # fmt: skip
    assert main(args) == 0
    assert seen["retry_failed"] is False and seen["workers"] == 2
    assert seen["engine"] == {"preset": "balanced"} and seen["store"] == str(tmp_path / "s")
    assert "failed: ana/squat/a.mp4: retryable: MemoryError" in capsys.readouterr().out
    assert main([*args, "--retry-failed"]) == 0
    assert seen["retry_failed"] is True


# -- slow: real models -----------------------------------------------------------------------------
@pytest.mark.slow
def test_real_models_in_the_process_pool(prefect_harness, rules_copy: Path, tmp_path: Path) -> None:
    inbox, store = tmp_path / "inbox", tmp_path / "store"
    street = shared_path("data", "videos", "street_5frames.mp4")
    copy_into(inbox, "ana/squat/street.mp4", street)
    copy_into(inbox, "bob/lunge/two.mp4", shared_path("data", "videos", "two_people_1080p.mp4"))
    corrupt_copy(inbox, "bob/lunge/cut.mp4", street)
    options = real_engine_options(tmp_path / "no-models")

    result = _run(inbox, store, tmp_path / "reports", rules_copy, engine=options, workers=1)
    outcomes = _by_path(result)
    assert outcomes["ana/squat/street.mp4"]["status"] == "ok"
    assert outcomes["bob/lunge/two.mp4"]["status"] == "ok"
    assert outcomes["bob/lunge/cut.mp4"]["status"] == "failed"
    # one worker process, models loaded once in it, not in this process
    workers = {o["worker"] for o in result["outcomes"] if o["action"] == "analyzed"}
    assert len(workers) == 1 and not workers.pop().endswith(f":{os.getpid()}")
    rows = _videos(store)
    assert rows["ana/squat/street.mp4"]["random_weights"]
    assert rows["ana/squat/street.mp4"]["detector_sha256"]
    kp = Store(store).read("keypoints", video_ids=[rows["bob/lunge/two.mp4"]["video_id"]])
    assert kp["frame"].nunique() == 72
    assert "cut.mp4" in Path(result["index"]).read_text()


@pytest.mark.slow
@pytest.mark.timeout(1300)  # run_cli's own 600 s limit, then a rerun in the harness
def test_killed_mid_video_is_processed_once_on_rerun(
    prefect_harness, rules_copy: Path, tmp_path: Path
) -> None:
    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    copy_into(inbox, "ana/squat/street.mp4", shared_path("data", "videos", "street_5frames.mp4"))
    options = real_engine_options(tmp_path / "no-models")
    args = ["run", "--inbox", str(inbox), "--store", str(store), "--reports", str(reports),
            "--rules", str(rules_copy), "--workers", "1", *model_args(options)]  # fmt: skip

    # The worker dies after writing the keypoints, before the videos row (the worst moment).
    crashed = run_cli(args, {CRASH_ENV: "1", "PREFECT_HOME": str(tmp_path / "prefect1")})
    assert crashed.returncode == 0, crashed.stderr[-3000:]
    assert "worker process died" in crashed.stdout
    assert len(list(store.glob("keypoints/*/*.parquet"))) == 1  # written before the crash
    (row,) = _videos(store).values()
    assert row["status"] == "failed" and row["error"].startswith("retryable: ")
    assert row["error_kind"] == "transient"
    assert len(held_claims(Store(store))) == 1  # the dead worker's claim, left behind

    rerun = _run(inbox, store, reports, rules_copy, engine=options, workers=1)
    assert [o["action"] for o in rerun["outcomes"]] == ["analyzed"]
    assert rerun["outcomes"][0]["status"] == "ok"
    videos = Store(store).read("videos")
    assert len(videos) == 1 and videos["status"].tolist() == ["ok"]
    for table in ("videos", "keypoints", "findings", "reps"):
        assert len(list(store.glob(f"{table}/*/*.parquet"))) == 1, table
    assert [p for p in store.rglob("*") if "tmp" in p.name] == []
    assert held_claims(Store(store)) == []


@pytest.mark.slow
@pytest.mark.timeout(1000)  # above the 900 s the two concurrent runs may take
def test_two_concurrent_runs_never_process_a_video_twice(rules_copy: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    copy_into(inbox, "ana/squat/street.mp4", shared_path("data", "videos", "street_5frames.mp4"))
    copy_into(inbox, "bob/lunge/two.mp4", shared_path("data", "videos", "two_people_1080p.mp4"))
    options = real_engine_options(tmp_path / "no-models")
    procs = []
    for k in (1, 2):
        args = ["run", "--inbox", str(inbox), "--store", str(store), "--reports", str(reports),
                "--rules", str(rules_copy), "--workers", "1", "--json", str(tmp_path / f"{k}.json"),
                *model_args(options)]  # fmt: skip
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_HOME": str(tmp_path / f"prefect{k}")}  # fmt: skip
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "flows.cli.main", *args],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        )
    for proc in procs:
        _out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]

    analysed: dict[str, int] = {}
    for k in (1, 2):
        for o in json.loads((tmp_path / f"{k}.json").read_text())["outcomes"]:
            if o["action"] == "analyzed":
                analysed[o["rel_path"]] = analysed.get(o["rel_path"], 0) + 1
    # each video analysed by exactly one of the two runs (the other found it claimed or done)
    assert analysed == {"ana/squat/street.mp4": 1, "bob/lunge/two.mp4": 1}
    videos = Store(store).read("videos")
    assert sorted(videos["status"]) == ["ok", "ok"]
    assert len(list(store.glob("keypoints/*/*.parquet"))) == 2
    assert held_claims(Store(store)) == []
