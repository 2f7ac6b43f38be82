"""``posecoach web``: the web app for coaches, one process (uvicorn) with the analysis inside.

``posecoach web --store DIR --inbox DIR --reports DIR [--host 127.0.0.1] [--port 8000]
[--max-upload-mb 2048]`` plus the model options of ``posecoach run`` (and its ``--rules``,
``--workers``, ``--dispatch`` and ``--batch-size``). Uploads are analysed by the nightly flow on the configured Prefect API, or on a
temporary local server started with the first upload (see `flows.prefect_api`). Behind a
reverse proxy on this machine, uvicorn trusts its ``X-Forwarded-Proto`` / ``-For`` headers
(``FORWARDED_ALLOW_IPS`` lists the proxies' addresses when it runs elsewhere). Live sessions
(``/api/live``) run on the model options' models, loaded here once (`live_setup`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from flows.cli.options import add_model_arguments, engine_options, positive_float
from flows.cli.run import _absolute
from flows.web.context import WebConfig
from flows.web.live_session import LiveSetup


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, metavar="DIR", help="the Parquet store")
    parser.add_argument("--inbox", required=True, metavar="DIR", help="where uploads are put")
    parser.add_argument("--reports", required=True, metavar="DIR", help="the HTML reports")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000)")
    parser.add_argument(
        "--max-upload-mb",
        type=positive_float,
        default=2048,
        metavar="MB",
        help="largest upload in MB (2048)",
    )
    parser.add_argument("--rules", metavar="DIR", help="rule files (default: the shipped library)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of the analysis (0: in this process, models kept loaded; default 1)",
    )
    parser.add_argument(
        "--dispatch",
        choices=("pool", "deployment"),
        default="pool",
        help="pool: worker processes here; deployment: posecoach-video flow runs on the work "
        "pool (needs PREFECT_API_URL and prefect.yaml deployed; docs/scale-out.md)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1, help="videos per flow run (deployment)"
    )
    add_model_arguments(parser)


def config_of(args: argparse.Namespace) -> WebConfig:
    return WebConfig(
        store=_absolute(args.store),
        inbox=Path(args.inbox).resolve(),
        reports=Path(args.reports).resolve(),
        engine=engine_options(args),
        rules_dir=str(Path(args.rules).resolve()) if args.rules else None,
        workers=args.workers,
        dispatch=args.dispatch,
        batch_size=args.batch_size,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
    )


def live_setup(options: dict[str, Any], *, here: bool = True) -> LiveSetup | None:
    """The live sessions' estimators over the models of ``options``, loaded once here.

    Models that cannot be loaded (random weights included, unless ``--allow-random-weights``)
    turn live coaching off, said on stderr: the app's uploads are analysed by its workers,
    which, ``here`` (on this machine, ``--dispatch pool``), cannot load them either: said too.
    """
    from analysis.ingest.analyze import model_columns
    from analysis.pipeline.config import EngineConfig
    from analysis.pipeline.engine import PoseEngine
    from analysis.pipeline.live import live_estimators

    try:
        engine = PoseEngine(EngineConfig(**options))
    except Exception as exc:  # model resolution errors carry their own explanation
        print(f"posecoach web: live coaching off: cannot load the models: {exc}", file=sys.stderr)
        if here:
            print(
                "posecoach web: uploads will fail the same way until the models are found "
                "(README: Models, offline)",
                file=sys.stderr,
            )
        return None
    if engine.random_weights:
        print(
            "WARNING: live coaching runs with RANDOM (untrained) weights: keypoints are "
            "meaningless",
            file=sys.stderr,
        )
    return LiveSetup(new_pose=live_estimators(engine), models=model_columns(engine))


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    import uvicorn

    from flows.web.app import create_app
    from flows.web.users import AccountError

    config = config_of(args)
    try:
        app = create_app(config, live=live_setup(config.engine, here=args.dispatch == "pool"))
    except AccountError as exc:
        print(f"posecoach web: {exc}", file=sys.stderr)
        return 1
    if not app.state.web.accounts.users():
        print(
            f"no users yet: add one with  posecoach user add NAME --role admin --store {args.store}",
            file=sys.stderr,
        )
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"posecoach web: listening on {args.host} without HTTPS; passwords and sessions "
            "cross the network in clear unless a reverse proxy terminates TLS (README)",
            file=sys.stderr,
        )
    print(f"PoseCoach web on http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        proxy_headers=True,  # trusts FORWARDED_ALLOW_IPS, default 127.0.0.1 (a local proxy)
        server_header=False,
        log_level="info",
    )
    return 0
