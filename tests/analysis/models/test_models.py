"""analysis.models: presets, configs from the wheels, checkpoint resolution (no network)."""

from __future__ import annotations

import hashlib
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch.hub

from analysis.models import catalog, checkpoints, loading
from analysis.models.catalog import CheckpointSpec
from analysis.models.checkpoints import resolve_checkpoint, resolve_checkpoints
from analysis.models.errors import ChecksumError, MissingCheckpointError, ModelError

PAYLOAD = b"not really a checkpoint, but bytes with a known hash\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _spec(name: str = "model-abc.pth", prefix: str = PAYLOAD_SHA[:8]) -> CheckpointSpec:
    return CheckpointSpec(name, f"https://download.example.invalid/{name}", prefix)


def _served(tmp_path: Path, prefix: str = PAYLOAD_SHA[:8]) -> CheckpointSpec:
    """A checkpoint whose URL is a local file holding PAYLOAD (torch.hub opens file:// URLs)."""
    served = tmp_path / "server" / "model-abc.pth"
    served.parent.mkdir(exist_ok=True)
    served.write_bytes(PAYLOAD)
    return CheckpointSpec(served.name, served.as_uri(), prefix)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the real cache, never inherit a models dir from the environment.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("POSECOACH_MODELS", raising=False)

    local_urlopen = torch.hub.urlopen

    def local_files_only(request: urllib.request.Request, *args: object, **kwargs: object):
        if not request.full_url.startswith("file:"):
            raise AssertionError(f"a test tried to reach the network: {request.full_url}")
        return local_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(torch.hub, "urlopen", local_files_only)


def _offline(reason: str):
    def urlopen(request: urllib.request.Request, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(reason)

    return urlopen


def test_presets_name_known_models_with_official_checkpoints() -> None:
    assert {"fast", "balanced", "accurate"} <= set(catalog.PRESETS)
    for preset in catalog.PRESETS.values():
        for name in (preset.detector, preset.pose):
            spec = catalog.MODELS[name]
            ckpt = spec.checkpoint
            assert ckpt.url.startswith("https://download.openmmlab.com/")
            assert ckpt.url.endswith("/" + ckpt.filename)
            # OpenMMLab puts the first 8 hex digits of the sha256 in the file name.
            assert f"-{ckpt.sha256_prefix}" in ckpt.filename
            assert len(ckpt.sha256_prefix) == 8
    assert catalog.PRESETS["fast"].detector == "rtmdet-nano-person-320"
    assert catalog.PRESETS["fast"].pose == "rtmpose-t-256x192"


def test_cache_dir_respects_xdg(tmp_path: Path) -> None:
    assert checkpoints.models_cache_dir() == tmp_path / "xdg" / "posecoach" / "models"


def test_explicit_path_is_used_and_hashed(tmp_path: Path) -> None:
    f = tmp_path / "mine.pth"
    f.write_bytes(PAYLOAD)
    got = resolve_checkpoint(_spec(prefix="ffffffff"), explicit=f)
    # An explicit file may be fine-tuned: recorded, not checked against the official hash.
    assert got.path == f and got.sha256 == PAYLOAD_SHA and got.source == "explicit"
    with pytest.raises(ModelError, match="does not exist"):
        resolve_checkpoint(_spec(), explicit=tmp_path / "absent.pth")


def test_models_dir_argument_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec()
    d = tmp_path / "models"
    d.mkdir()
    (d / spec.filename).write_bytes(PAYLOAD)
    got = resolve_checkpoint(spec, models_dir=d)
    assert got.path == d / spec.filename and got.source == "models_dir"
    monkeypatch.setenv("POSECOACH_MODELS", str(d))
    assert resolve_checkpoint(spec).path == d / spec.filename


def test_cache_dir_is_searched(tmp_path: Path) -> None:
    spec = _spec()
    cached = checkpoints.models_cache_dir() / spec.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD)
    got = resolve_checkpoint(spec, models_dir=tmp_path / "empty")
    assert got.path == cached and got.source == "cache" and got.sha256 == PAYLOAD_SHA


def test_wrong_hash_in_models_dir_is_refused(tmp_path: Path) -> None:
    spec = _spec(prefix="00000000")
    (tmp_path / spec.filename).write_bytes(PAYLOAD)
    with pytest.raises(ChecksumError, match=r"00000000") as err:
        resolve_checkpoint(spec, models_dir=tmp_path)
    assert str(tmp_path / spec.filename) in str(err.value)


def test_download_writes_cache_after_hash_check(tmp_path: Path) -> None:
    spec = _served(tmp_path)
    got = resolve_checkpoint(spec, progress=False)
    assert got.source == "download" and got.path == checkpoints.models_cache_dir() / spec.filename
    assert got.path.read_bytes() == PAYLOAD and got.sha256 == PAYLOAD_SHA
    # No temporary file left beside it.
    assert sorted(p.name for p in got.path.parent.iterdir()) == [spec.filename]


def test_download_with_hash_mismatch_leaves_nothing(tmp_path: Path) -> None:
    spec = _served(tmp_path, prefix="12345678")
    with pytest.raises(ChecksumError, match="12345678") as err:
        resolve_checkpoint(spec, progress=False)
    assert spec.url in str(err.value) and "not kept" in str(err.value)
    cache = checkpoints.models_cache_dir()
    assert not cache.exists() or list(cache.iterdir()) == []


def test_wrong_hash_prefix_is_refused_and_the_file_there_kept(tmp_path: Path) -> None:
    spec = _served(tmp_path, prefix="0badc0de")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / spec.filename).write_bytes(b"a checkpoint that works")
    with pytest.raises(ChecksumError) as err:
        checkpoints.download(spec, dest, progress=False)
    text = str(err.value)
    assert spec.url in text and "0badc0de" in text and PAYLOAD_SHA in text
    assert f"official name {spec.filename}" in text
    assert [p.name for p in dest.iterdir()] == [spec.filename]
    assert (dest / spec.filename).read_bytes() == b"a checkpoint that works"


def test_download_gives_up_on_a_silent_server(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float | None] = []

    def stalled(request: urllib.request.Request, *args: object, **kwargs: object) -> None:
        seen.append(socket.getdefaulttimeout())
        raise TimeoutError("timed out")

    before = socket.getdefaulttimeout()
    monkeypatch.setattr(torch.hub, "urlopen", stalled)
    with pytest.raises(MissingCheckpointError, match="timed out"):
        resolve_checkpoint(_spec(), progress=False)
    assert seen == [checkpoints.DOWNLOAD_TIMEOUT_S]
    assert socket.getdefaulttimeout() == before


def test_offline_error_names_every_missing_file_and_where_to_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "urlopen", _offline("Temporary failure in name resolution"))
    a, b = _spec("det-aaaa1111.pth", "aaaa1111"), _spec("pose-bbbb2222.pth", "bbbb2222")
    with pytest.raises(MissingCheckpointError) as err:
        resolve_checkpoints([a, b], models_dir=tmp_path / "mine", progress=False)
    text = str(err.value)
    for spec in (a, b):
        assert spec.filename in text and spec.url in text
    assert str(tmp_path / "mine") in text
    assert str(checkpoints.models_cache_dir()) in text
    assert "name resolution" in text
    assert [m[0] for m in err.value.missing] == [a.filename, b.filename]
    cache = checkpoints.models_cache_dir()
    assert not cache.exists() or list(cache.iterdir()) == []


def test_no_checkpoint_without_opt_in_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MissingCheckpointError, match="rtmdet_nano"):
        loading.load_detector(
            preset="fast", models_dir=tmp_path, allow_download=False, backend="pytorch"
        )
    with pytest.raises(MissingCheckpointError, match="rtmpose-t"):
        loading.load_pose(preset="fast", models_dir=tmp_path, allow_download=False)


def test_backend_and_device_validation() -> None:
    assert catalog.choose_backend("auto", "cpu", machine="x86_64") == "openvino"
    assert catalog.choose_backend("auto", "cpu", machine="AMD64") == "openvino"
    assert catalog.choose_backend("auto", "cpu", machine="aarch64") == "onnxruntime"
    assert catalog.choose_backend("auto", "cuda") == "pytorch"
    assert catalog.choose_backend("pytorch", "cuda:1") == "pytorch"
    with pytest.raises(ModelError, match="backend 'tensorrt'"):
        catalog.choose_backend("tensorrt", "cpu")
    with pytest.raises(ModelError, match="device 'tpu'"):
        catalog.choose_backend("auto", "tpu")


def test_spec_strings(tmp_path: Path) -> None:
    det, path = catalog.spec_for("detector", None, "balanced")
    assert det.name == "rtmdet-m-person-640" and path is None
    det, path = catalog.spec_for("detector", "rtmdet-nano-person-320", "balanced")
    assert det.name == "rtmdet-nano-person-320" and path is None
    # An official file name selects its architecture whatever the preset.
    official = tmp_path / catalog.MODELS["rtmpose-m-256x192"].checkpoint.filename
    pose, path = catalog.spec_for("pose", official, "fast")
    assert pose.name == "rtmpose-m-256x192" and path == official
    with pytest.raises(ModelError, match="not a detector"):
        catalog.spec_for("detector", "rtmpose-t-256x192", "fast")
    with pytest.raises(ModelError, match="unknown preset"):
        catalog.spec_for("pose", None, "turbo")


def test_configs_are_built_from_the_wheels() -> None:
    det = catalog.detector_config("rtmdet-nano-person-320")
    assert det.model.backbone.widen_factor == 0.25
    assert det.model.backbone.init_cfg is None
    assert det.model.bbox_head.num_classes == 1
    assert det.model.test_cfg["nms"]["iou_threshold"] == 0.6
    m = catalog.detector_config("rtmdet-m-person-640")
    assert m.model.bbox_head.num_classes == 1 and m.model.backbone.widen_factor == 0.75
    pose = catalog.pose_config("rtmpose-t-256x192")
    assert tuple(pose.codec.input_size) == (192, 256)
    assert pose.model.test_cfg["flip_test"] is False
    assert catalog.pose_config("rtmpose-l-384x288", flip_test=True).model.test_cfg["flip_test"]


def test_load_models_names_both_missing_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "urlopen", _offline("no route to host"))
    with pytest.raises(MissingCheckpointError) as err:
        loading.load_models("balanced", models_dir=tmp_path, progress=False)
    names = [m[0] for m in err.value.missing]
    assert names == [
        catalog.MODELS["rtmdet-m-person-640"].checkpoint.filename,
        catalog.MODELS["rtmpose-m-256x192"].checkpoint.filename,
    ]
    assert "no route to host" in str(err.value)


@pytest.mark.slow
def test_load_models_with_explicit_detector_and_random_pose(tmp_path: Path) -> None:
    from tests.helpers import shared_path

    ckpt = shared_path("models", "rtmdet-nano-person-mmdet", "rtmdet_nano_320_person.pth")
    with pytest.warns(UserWarning, match="RANDOM"):
        det, pose = loading.load_models(
            "fast",
            detector=ckpt,
            models_dir=tmp_path,
            allow_download=False,
            allow_random_weights=True,
            backend="pytorch",
            detector_kwargs={"score_thr": 0.4, "max_people": 3},
            pose_kwargs={"batch_size": 4},
        )
    assert det.info["random_weights"] is False and det.info["checkpoint_source"] == "explicit"
    assert (det.score_thr, det.max_people) == (0.4, 3)
    assert pose.info["random_weights"] is True and pose.batch_size == 4
