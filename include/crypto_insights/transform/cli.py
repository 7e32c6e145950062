"""`crypto-insights dbt [--db NAME] [--config FILE] [--lookback-minutes N] [--rebuild-history] -- <dbt args>`: dbt
with the project's connection and the config's vars."""

from __future__ import annotations

import argparse

from crypto_insights.transform.dbt_vars import DEFAULT_LOOKBACK_MINUTES


def _dbt(args: argparse.Namespace) -> int:
    from crypto_insights.transform.dbt_runner import run_dbt

    dbt_args = list(args.dbt_args)
    if dbt_args[:1] == ["--"]:
        dbt_args = dbt_args[1:]
    if not dbt_args:
        print("say what dbt should do, e.g. `crypto-insights dbt -- build`")
        return 2
    from crypto_insights.config import load_settings

    return run_dbt(
        dbt_args,
        dbname=args.db,
        settings=load_settings(args.config),  # a bad config stops here with its one-line error, before dbt starts
        lookback_minutes=args.lookback_minutes,
        rebuild_history=args.rebuild_history,
        capture=False,
    ).returncode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dbt",
        help="run dbt on the warehouse as crypto_transform, with the symbols and KPIs of the config",
        description="Everything after `--` goes to dbt, e.g. `crypto-insights dbt -- build --select marts`.",
    )
    parser.add_argument("--db", default=None, help="warehouse database (default: crypto)")
    parser.add_argument(
        "--config", default=None, help="config file (default: $CRYPTO_INSIGHTS_CONFIG or the project's)"
    )
    parser.add_argument(
        "--lookback-minutes",
        type=int,
        default=DEFAULT_LOOKBACK_MINUTES,
        help="how far back incremental models rebuild (raise it to take in late-landed slots)",
    )
    parser.add_argument(
        "--rebuild-history",
        action="store_true",
        help="let --full-refresh rebuild the marts that keep history too (they then keep only "
        "what raw still holds: ingest.retention_days)",
    )
    parser.add_argument("dbt_args", nargs=argparse.REMAINDER, help="-- then the dbt command and its options")
    parser.set_defaults(func=_dbt)
