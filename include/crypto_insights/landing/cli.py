"""`crypto-insights land --once|--slots N|--account-gaps` (the trigger's code paths by hand) and `migrate`."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from crypto_insights.landing.slots import floor_slot, next_slot
from crypto_insights.postgres.connection import endpoint


def _window_lander(args: argparse.Namespace):
    from crypto_insights.landing.window import WindowLander

    return WindowLander.from_connect_kwargs(endpoint("loader", args.db).connect_kwargs(), args.config)


def _migrate(args: argparse.Namespace) -> int:
    lander = _window_lander(args)
    try:
        applied = lander.migrate()
    finally:
        lander.close()
    print(f"applied: {', '.join(applied)}" if applied else "raw schema up to date")
    return 0


def _land(args: argparse.Namespace) -> int:
    lander = _window_lander(args)
    try:
        lander.migrate()
        if args.account_gaps:
            through = datetime.fromisoformat(args.through) if args.through else datetime.now(UTC)
            if through.tzinfo is None:
                raise SystemExit(f"--through {args.through!r}: give a time zone, e.g. 2026-11-29T10:00:00+00:00")
            recorded = lander.account_gaps(through)
            print(json.dumps({"through": through.isoformat(), "missed_recorded": recorded}))
            return 0
        slot_seconds = lander.settings.ingest.slot_seconds
        for i in range(1 if args.once else args.slots):
            now = datetime.now(UTC)
            current = floor_slot(now, slot_seconds)
            # the current slot while its deadline leaves time for the requests, else the next one
            if i == 0 and (now - current).total_seconds() < lander.settings.ingest.slot_deadline_s - 2:
                slot_at = current
            else:
                slot_at = next_slot(now, slot_seconds)
                time.sleep(max(0.0, (slot_at - now).total_seconds()))
            report = lander.land(slot_at)
            print(json.dumps(report.as_dict()))
    finally:
        lander.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=None, help="warehouse database (default: crypto)")
    common.add_argument("--config", default=None, help="config file (default: the project's)")
    land = subparsers.add_parser("land", parents=[common], help="fetch and land slots by hand (as the DAG does)")
    how_many = land.add_mutually_exclusive_group(required=True)
    how_many.add_argument("--once", action="store_true", help="land the current slot and exit")
    how_many.add_argument("--slots", type=int, help="land this many consecutive slots, waiting for each")
    how_many.add_argument(
        "--account-gaps",
        action="store_true",
        help="record every slot up to --through (default now) that no landing reached",
    )
    land.add_argument("--through", default=None, help="with --account-gaps: ISO-8601 time with a zone")
    land.set_defaults(func=_land)
    subparsers.add_parser("migrate", parents=[common], help="apply the raw schema migrations").set_defaults(
        func=_migrate
    )
