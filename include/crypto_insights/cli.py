"""`crypto-insights`: the command line of the project (one subcommand per component)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from crypto_insights.config import ConfigError

# Each module exposes `register(subparsers)`; its subcommands set `func(args) -> int`.
COMMAND_MODULES = (
    "crypto_insights.config_cli",
    "crypto_insights.postgres.cli",
    "crypto_insights.exchange.cli",
    "crypto_insights.landing.cli",
    "crypto_insights.transform.cli",
    "crypto_insights.dashboards.cli",
    "crypto_insights.stack.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crypto-insights", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
