"""The `publitrac` command line: `publitrac sandbox`, `publitrac sync FILE`, `publitrac validate FILE`.

Exit statuses: 0 success; 1 some rows invalid or failed; 2 usage, configuration or authentication errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="publitrac", description="Push leads to the Publitrac API v2.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .sandbox import _cli as sandbox_cli

    sandbox = commands.add_parser("sandbox", help="run a local Publitrac-compatible server")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
