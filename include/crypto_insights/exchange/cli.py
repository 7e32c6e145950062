"""`crypto-insights exchange`: run the offline Coinbase-compatible exchange in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from crypto_insights.config import load_settings
from crypto_insights.exchange.faults import FaultError, parse_cli_fault
from crypto_insights.exchange.server import ExchangeServer

log = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    server = build_server(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    log.info("offline Coinbase exchange on %s (seed %s%s)", server.url, args.seed,
             f", replaying {args.replay}" if args.replay else "")
    stop.wait()
    server.stop()
    return 0


def build_server(args: argparse.Namespace) -> ExchangeServer:
    server = ExchangeServer(
        load_settings(args.config), host=args.host, port=args.port, seed=args.seed,
        replay_dir=Path(args.replay) if args.replay else None, rate_limit=args.rate_limit, burst=args.burst,
    )  # fmt: skip
    for spec in args.fault:
        try:
            path, kind, count = parse_cli_fault(spec)
            server.faults.add(path, kind, count)
        except FaultError as exc:
            server.stop()
            raise SystemExit(f"--fault {spec}: {exc}") from None
    return server


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("exchange", help="the offline Coinbase-compatible exchange")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7, help="same seed, same books")
    parser.add_argument("--replay", metavar="DIR", help="serve DIR/<PRODUCT-ID>/book_*.json and ticker_*.json")
    parser.add_argument("--fault", action="append", default=[], metavar="PATH=KIND[:COUNT]",
                        help="e.g. /products/BTC-USD/book=server_error:3 (repeatable)")
    parser.add_argument("--rate-limit", type=float, default=10.0, help="requests/s per client IP")
    parser.add_argument("--burst", type=int, default=15)
    parser.add_argument("--config", default=None, help="config file (default: the project's)")
    parser.set_defaults(func=_run)
