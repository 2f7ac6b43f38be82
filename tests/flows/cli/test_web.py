"""``posecoach web``'s options: the stable interface of issue 15, and the model options of run."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from flows.cli import web
from flows.cli.main import main


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    web.add_arguments(parser)
    return parser.parse_args(argv)


def test_the_options_become_the_apps_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = _parse(["--store", "s", "--inbox", "i", "--reports", "r"])
    assert (args.host, args.port, args.max_upload_mb) == ("127.0.0.1", 8000, 2048)
    config = web.config_of(args)
    assert config.store == str(tmp_path / "s") and config.inbox == tmp_path / "i"
    assert config.reports == tmp_path / "r" and config.max_upload_bytes == 2048 * 2**20
    assert config.engine == {} and config.workers == 1 and config.dispatch == "pool"

    args = _parse(
        ["--store", "s", "--inbox", "i", "--reports", "r", "--max-upload-mb", "0.5"]
        + ["--preset", "balanced", "--device", "cuda", "--det-interval", "3"]
        + ["--allow-random-weights", "--workers", "0", "--host", "0.0.0.0", "--port", "9000"]
    )
    config = web.config_of(args)
    assert config.max_upload_bytes == 2**19 and config.workers == 0
    assert config.engine == {
        "preset": "balanced",
        "device": "cuda",
        "det_interval": 3,
        "allow_random_weights": True,
    }
    assert (args.host, args.port) == ("0.0.0.0", 9000)


def test_an_object_store_is_refused_with_the_reason(tmp_path: Path, capsys) -> None:
    argv = ["web", "--store", "s3://bucket/store", "--inbox", str(tmp_path / "i")]
    assert main([*argv, "--reports", str(tmp_path / "r")]) == 1
    assert "must be a local folder" in capsys.readouterr().err


def test_the_upload_limit_must_be_positive(capsys) -> None:
    with pytest.raises(SystemExit):
        _parse(["--store", "s", "--inbox", "i", "--reports", "r", "--max-upload-mb", "0"])
    assert "must be more than 0" in capsys.readouterr().err


def test_live_sessions_get_their_own_estimator_and_random_weights_are_said(
    monkeypatch, capsys
) -> None:
    import analysis.pipeline.engine
    from analysis.pipeline.live import LiveEstimator
    from tests.helpers import RectDetector, RectPose

    def load(config):
        pose = RectPose()
        pose.info = {**pose.info, "random_weights": True}
        return RectDetector(), pose

    monkeypatch.setattr(analysis.pipeline.engine, "_load_models", load)
    setup = web.live_setup({"allow_random_weights": True, "det_interval": 2})
    assert setup is not None
    first, second = setup.session_pose(), setup.session_pose()
    assert isinstance(first, LiveEstimator) and first is not second
    assert first.interval == 2
    assert setup.models["random_weights"] is True  # stored with each session's videos row
    assert "RANDOM" in capsys.readouterr().err


def test_live_coaching_is_off_without_trained_weights(tmp_path: Path, capsys) -> None:
    """No pose checkpoint and no --allow-random-weights: refused (said), never random."""
    from tests.helpers import DET_CKPT, shared_path

    options = {"detector": str(shared_path(*DET_CKPT)), "models_dir": str(tmp_path)}
    assert web.live_setup(options) is None
    err = capsys.readouterr().err
    assert "live coaching off: cannot load the models" in err and "RANDOM" not in err
    assert "uploads will fail the same way until the models are found" in err
    # The uploads analysed on a work pool's machines, which may have the models: not said.
    assert web.live_setup(options, here=False) is None
    assert "uploads will fail" not in capsys.readouterr().err
