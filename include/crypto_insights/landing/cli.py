"""`crypto-insights land --once|--slots N|--slot ISO|--account-gaps` (the trigger's code paths by hand), `migrate`."""

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


MAX_WAIT_S = 3600


def _given_slot(text: str, slot_seconds: int) -> datetime:
    """`--slot`: an ISO-8601 time with a zone, on the slot grid."""
    try:
        slot_at = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"--slot {text!r}: not an ISO-8601 time, e.g. 2026-11-29T10:00:10+00:00") from None
    if slot_at.tzinfo is None:
        raise SystemExit(f"--slot {text!r}: give a time zone, e.g. {text}+00:00")
    slot_at = slot_at.astimezone(UTC)
    if floor_slot(slot_at, slot_seconds) != slot_at:
        before = floor_slot(slot_at, slot_seconds)
        raise SystemExit(
            f"--slot {text!r}: slots start every {slot_seconds} s; the nearest are {before.isoformat()} and "
            f"{next_slot(slot_at, slot_seconds).isoformat()}"
        )
    return slot_at


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
        if args.slot:
            slot_at = _given_slot(args.slot, slot_seconds)
            wait_s = (slot_at - datetime.now(UTC)).total_seconds()
            if wait_s > MAX_WAIT_S:
                raise SystemExit(f"--slot {args.slot}: more than {MAX_WAIT_S // 60} minutes ahead; land it nearer")
            time.sleep(max(0.0, wait_s))
            print(json.dumps(lander.land(slot_at).as_dict()))
            return 0
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
        "--slot",
        metavar="ISO_TIME",
        help="land this one slot (e.g. 2026-11-29T10:00:10+00:00): a current or coming one is fetched (waiting for "
        "it); a past one cannot be fetched again (the exchange serves only the current book), so its spooled rows "
        "land and what never landed is recorded as missed_slot; a landed slot stays as it is",
    )
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
