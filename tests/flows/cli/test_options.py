"""The model options: one definition, the same in every command that runs the models."""

from __future__ import annotations

import argparse

import pytest

from analysis.models import catalog
from analysis.pipeline.config import EngineConfig
from flows.cli import analyze, options, run, serve, web


def _model_flags(module) -> dict[str, argparse.Action]:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return {
        a.option_strings[0]: a
        for a in parser._actions
        if a.dest in options.MODEL_OPTIONS and a.option_strings
    }


def test_analyze_run_serve_and_web_take_the_same_model_options() -> None:
    flags = {m.__name__: _model_flags(m) for m in (analyze, run, serve, web)}
    expected = set(flags["flows.cli.analyze"])
    assert len(expected) == len(options.MODEL_OPTIONS)
    for name, found in flags.items():
        assert set(found) == expected, name
        for flag, action in found.items():
            assert action.choices == flags["flows.cli.analyze"][flag].choices, (name, flag)


def test_choices_are_the_catalog_s() -> None:
    assert set(options.BACKEND_CHOICES) == set(catalog.BACKENDS)
    assert set(options.PRECISION_CHOICES) == set(catalog.PRECISIONS)


def test_every_model_option_is_an_engine_config_field() -> None:
    fields = set(EngineConfig.__dataclass_fields__)
    assert set(options.MODEL_OPTIONS) <= fields


def test_unset_options_keep_the_engine_defaults(tmp_path) -> None:
    parser = argparse.ArgumentParser()
    analyze.add_arguments(parser)
    args = parser.parse_args(["clip.mp4", "--store", str(tmp_path)])
    assert options.engine_options(args) == {}
    assert EngineConfig(**options.engine_options(args)) == EngineConfig()


def test_set_options_reach_the_engine_config(tmp_path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    args = parser.parse_args(
        ["--inbox", "in", "--store", "s", "--reports", "r", "--det-thr", "0.7",
         "--backend", "onnxruntime", "--models-dir", str(models), "--det-interval", "3"]
    )  # fmt: skip
    config = EngineConfig(**options.engine_options(args))
    assert (config.det_score_thr, config.backend, config.det_interval) == (0.7, "onnxruntime", 3)
    assert config.models_dir == str(models.resolve())


def test_a_backend_outside_the_catalog_is_refused(capsys) -> None:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--inbox", "in", "--store", "s", "--reports", "r", "--backend", "tpu"])
    assert "--backend" in capsys.readouterr().err
