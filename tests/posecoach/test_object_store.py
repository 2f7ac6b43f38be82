"""The store and the claims on S3, against a local S3 endpoint (moto's server, in a thread).

What differs from a local folder there: a rename is a copy and a delete, exclusive create is a
conditional PUT, and s3fs caches directory listings for the life of the process.
"""

from __future__ import annotations

import logging
import socket

import pandas as pd
import pytest
from moto import server as moto_server

from flows.claims import held_claims, release, try_claim
from posecoach.store import Store
from tests.helpers import shared_path

BUCKET = "posecoach-test"


@pytest.fixture(scope="module")
def s3_url():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        # botocore (under s3fs) reads the endpoint and credentials from the environment, as
        # the command line does on a real deployment.
        mp.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        mp.setenv("AWS_ACCESS_KEY_ID", "test")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "test")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield f"s3://{BUCKET}"
    server.stop()


def _separate(url: str) -> Store:
    """A store with its own s3fs instance, as another process would have."""
    return Store(url, storage_options={"skip_instance_cache": True})


def _videos_row(video_id: str, file_name: str) -> pd.DataFrame:
    return pd.DataFrame({"video_id": [video_id], "file_name": [file_name], "status": ["ok"]})


def test_write_replace_and_query_on_s3(s3_url):
    store = Store(f"{s3_url}/roundtrip")
    store.write("videos", _videos_row("v1", "a.mp4"), video_id="v1", date="2026-11-25")
    store.write("videos", _videos_row("v2", "b.mp4"), video_id="v2", date="2026-11-25")
    # Re-running v1 on a later night replaces its row, in the new partition.
    store.write(
        "videos", _videos_row("v1", "a2.mp4"), video_id="v1", date="2026-11-26", metadata={"n": 3}
    )
    everything = store.fs.find(store.root, withdirs=False)
    assert sorted("/".join(p.rsplit("/", 2)[-2:]) for p in everything) == [
        "date=2026-11-25/v2.parquet",
        "date=2026-11-26/v1.parquet",
    ]  # no hidden temporaries left behind, no duplicate
    got = store.query("SELECT video_id, file_name, date FROM videos ORDER BY video_id")
    assert got.to_dict("records") == [
        {"video_id": "v1", "file_name": "a2.mp4", "date": "2026-11-26"},
        {"video_id": "v2", "file_name": "b.mp4", "date": "2026-11-25"},
    ]
    assert store.metadata("videos", "v1")["n"] == 3


def test_files_written_by_another_process_are_seen(s3_url):
    reader, writer = _separate(f"{s3_url}/shared"), _separate(f"{s3_url}/shared")
    writer.write("videos", _videos_row("v1", "a.mp4"), video_id="v1", date="2026-11-26")
    assert [p.rsplit("/", 1)[-1] for p in reader.files("videos")] == ["v1.parquet"]
    writer.write("videos", _videos_row("v2", "b.mp4"), video_id="v2", date="2026-11-26")
    # s3fs cached the reader's listing above; without a fresh listing v2 stays invisible to it.
    assert [p.rsplit("/", 1)[-1] for p in reader.files("videos")] == ["v1.parquet", "v2.parquet"]
    assert sorted(reader.read("videos")["video_id"]) == ["v1", "v2"]


def test_claims_are_exclusive_on_s3(s3_url):
    one, other = _separate(f"{s3_url}/claims"), _separate(f"{s3_url}/claims")
    first = try_claim(one, "v1", run_id="night-1")
    assert first is not None
    assert try_claim(other, "v1", run_id="night-2") is None  # the conditional PUT refused it
    assert [c["run_id"] for c in held_claims(other)] == ["night-1"]
    release(one, first)
    assert held_claims(other) == []
    second = try_claim(other, "v1", run_id="night-2")
    assert second is not None
    release(other, second)


def test_a_stale_claim_is_broken_and_the_old_holder_cannot_release_the_new_one(s3_url):
    store = Store(f"{s3_url}/stale")
    old = try_claim(store, "v1", run_id="crashed")
    assert old is not None
    # Any age counts as stale here: the holder "died" on another host.
    new = try_claim(_separate(store.url), "v1", run_id="next", stale_after_s=-1.0)
    assert new is not None and new.token != old.token
    release(store, old)
    assert [(c["run_id"], c["host"]) for c in held_claims(store)] == [
        ("next", socket.gethostname())
    ]
    release(store, new)


def test_import_query_and_report_from_an_s3_store(s3_url, tmp_path, capsys):
    from flows.cli.main import main

    clip = shared_path("data", "keypoints", "squats.csv")
    args = ["--athlete", "ana", "--exercise", "squat", "--fps", "23.976",
            "--width", "1920", "--height", "1080", "--date", "2026-11-26"]  # fmt: skip
    sql = "SELECT count(*) AS reps FROM reps"
    counts = {}
    for name, url in (("local", str(tmp_path / "store")), ("s3", f"{s3_url}/night")):
        assert main(["import", str(clip), "--store", url, *args]) == 0
        capsys.readouterr()
        assert main(["query", sql, "--store", url, "--format", "csv"]) == 0
        counts[name] = capsys.readouterr().out
    assert counts["s3"] == counts["local"] and int(counts["s3"].split()[-1]) > 0
    out = tmp_path / "reports"
    assert main(["report", "--store", f"{s3_url}/night", "--out", str(out)]) == 0
    pages = list(out.rglob("*.html"))
    assert pages and any("squats.csv" in p.read_text() for p in pages)
