"""The ``posecoach`` command: a thin front over the packages and the flows.

Each subcommand lives in the package that owns the work, as a module with
``add_arguments(parser)`` and ``run(args) -> int``; it is imported only when used, so that
``posecoach query`` does not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("flows.cli.analyze", "run pose estimation on videos, images or image folders"),
    "import": ("flows.cli.importing", "import keypoints made by another tool (CSV or Parquet)"),
    "score": ("flows.cli.score", "re-score stored videos against the rule files (no model runs)"),
    "report": ("flows.cli.report", "build the HTML reports from the store"),
    "run": ("flows.cli.run", "run the nightly flow once, now, over the inbox folders"),
    "serve": ("flows.cli.serve", "serve the nightly flow on a cron schedule"),
    "query": ("flows.cli.query", "run SQL (DuckDB) over the store's tables"),
    "web": ("flows.cli.web", "the web app for coaches: log in, upload, follow, read reports"),
    "live": (
        "flows.cli.live",
        "live coaching from a camera or network stream, stored like a video",
    ),
    "user": ("flows.cli.user", "add, list or remove the web app's users"),
    "token": ("flows.cli.token", "create, list or revoke API tokens of the web app"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posecoach",
        description="Turn recorded training videos into coaching feedback.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints usage / help and exits
        return 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"posecoach {name}", description=COMMANDS[name][1])
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
