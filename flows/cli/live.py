"""``posecoach live``: live coaching from a camera or a network stream, stored like the web's.

``posecoach live --source SOURCE --athlete A --exercise E --store DIR [--reports DIR] [--view V]
[--duration S] [--overlay OUT.mp4] [--json] [--give-up-s S] [--rules DIR]`` plus the model
options of
``posecoach run``. SOURCE is a camera index or device (``0``, ``/dev/video0``) or a network
stream (``rtsp://``, ``udp://``, ``http://``, ...; see `analysis.io.live_source`). Reps and cues
are printed as they happen (`flows.cli.live_loop`); a dropped stream is reconnected; Ctrl-C
(SIGINT or SIGTERM) or ``--duration`` stops, and the session is stored as ``/api/live`` stores
one (`flows.live_store.store_live`: ``source = 'live'``, its video, keypoints and scores), and
its reports are built as the web builds a saved session's (`flows.live_store.report_live`: its
page, its night, its athlete's page, the index, in ``--reports``); the page is printed last.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
from pathlib import Path
from typing import Any

from flows.cli.options import add_model_arguments, engine_options, positive_float

VIEWS = ("side", "front", "oblique")

#: The reports folder without ``--reports``: the one ``make run`` gives ``posecoach run``.
DEFAULT_REPORTS = "reports_out"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        required=True,
        help="camera index or device (0, /dev/video0) or network stream (rtsp://, udp://, "
        "http://, ...)",
    )
    parser.add_argument("--athlete", required=True, help="who is training")
    parser.add_argument("--exercise", required=True, help="the exercise (a rule file's name)")
    parser.add_argument("--store", required=True, metavar="DIR", help="the Parquet store")
    parser.add_argument(
        "--reports",
        default=DEFAULT_REPORTS,
        metavar="DIR",
        help=f"where the session's HTML reports go (default {DEFAULT_REPORTS}, as make run's)",
    )
    parser.add_argument(
        "--view",
        choices=VIEWS,
        help="the camera's view, declared (default: each person's estimated from their first frames)",
    )
    parser.add_argument(
        "--duration", type=positive_float, metavar="S", help="stop after S seconds of frames"
    )
    parser.add_argument(
        "--overlay", metavar="OUT.mp4", help="also write a video with skeletons and counts"
    )
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument(
        "--give-up-s",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="stop reconnecting a dropped stream after S seconds without a frame (30)",
    )
    parser.add_argument("--rules", metavar="DIR", help="rule files (default: the shipped library)")
    add_model_arguments(parser)


def load_engine(options: dict[str, Any]) -> Any:
    """The models of the model options, or SystemExit(1) saying why they cannot be loaded."""
    from analysis.pipeline.config import EngineConfig
    from analysis.pipeline.engine import PoseEngine

    try:
        engine = PoseEngine(EngineConfig(**options))
    except Exception as exc:  # model resolution errors carry their own explanation
        print(f"posecoach live: cannot load the models: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    if engine.random_weights:
        print(
            "WARNING: posecoach live runs with RANDOM (untrained) weights: keypoints, reps and "
            "cues are meaningless",
            file=sys.stderr,
        )
    return engine


def run(args: argparse.Namespace) -> int:
    from analysis.io.live_source import LiveFrames, SourceError, parse_source
    from analysis.io.session_video import remove_stale
    from flows.cli.live_loop import EventPrinter, run_live
    from flows.live_store import live_video_dir, report_live, store_live
    from flows.web.uploads import UploadError, folder_label
    from posecoach.store import Store
    from rules.loader import load_library

    try:
        spec = parse_source(args.source)
    except SourceError as exc:
        print(f"posecoach live: {exc}", file=sys.stderr)
        return 2
    try:  # the same names as an upload's or the Live page's: they become the store's labels
        args.athlete = folder_label("athlete", args.athlete)
        args.exercise = folder_label("exercise", args.exercise)
    except UploadError as exc:
        print(f"posecoach live: {exc.message}", file=sys.stderr)
        return 2
    rules_dir = str(Path(args.rules).resolve()) if args.rules else None
    rule = load_library(rules_dir).find(args.exercise)
    if rule is None:
        print(f"posecoach live: unknown exercise {args.exercise!r}", file=sys.stderr)
        return 2
    engine = load_engine(engine_options(args))
    remove_stale(live_video_dir(args.store))  # a crashed session's temporaries, a day old

    from analysis.ingest.analyze import model_columns
    from analysis.pipeline.live import LIVE_FPS, LiveEstimator

    printer = EventPrinter(json_lines=args.json)
    frames = LiveFrames(spec, give_up_s=args.give_up_s, on_event=printer.source)
    previous = {s: signal.signal(s, lambda *_: frames.stop()) for s in _STOP_SIGNALS}
    started = dt.datetime.now(dt.UTC)
    try:
        outcome = run_live(
            frames,
            lambda fps: LiveEstimator(engine.detector, engine.pose, engine.config, fps or LIVE_FPS),
            rule,
            view=args.view,
            video_dir=live_video_dir(args.store),
            printer=printer,
            duration_s=args.duration,
            overlay=Path(args.overlay) if args.overlay else None,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    recording = outcome.recording
    if recording is None:
        why = frames.error or "no frame came"
        print(f"posecoach live: nothing stored: {why}", file=sys.stderr)
        return 1
    store = Store(args.store)
    video_id = store_live(
        store,
        recording,
        athlete=args.athlete,
        exercise=args.exercise,
        view=args.view,
        started=started,
        rules_dir=rules_dir,
        models=model_columns(engine),
    )
    if outcome.overlay is not None:
        print(f"overlay: {outcome.overlay}", file=sys.stderr)
    path = recording.video.finished if recording.video is not None else None
    try:
        report = report_live(store, Path(args.reports).resolve(), video_id)
    except Exception as exc:  # the session is stored: say so, and that its page is missing
        printer.saved(video_id, recording, frames.dropped, str(path) if path else "not kept")
        print(f"posecoach live: the reports could not be built: {exc}", file=sys.stderr)
        return 1
    printer.saved(
        video_id, recording, frames.dropped, str(path) if path else "not kept", report=report
    )
    return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
