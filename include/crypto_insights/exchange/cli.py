"""`crypto-insights exchange`: run the offline Coinbase-compatible exchange in the foreground.

    crypto-insights exchange --port 8765 [--host 127.0.0.1] [--seed 7] [--replay DIR]
        [--fault /products/BTC-USD/book=server_error:2,status=502,probability=0.5 ...] [--rate-limit 10 --burst 15]
        [--chaos 0.05] [--control]

Stops on SIGINT/SIGTERM. ``--chaos RATE`` (default $CRYPTO_INSIGHTS_EXCHANGE_CHAOS, off) makes about RATE of the
book and ticker requests fault (429s, 5xx, timeouts, resets, bad JSON, drifting or invalid books), seeded by
``--seed``. ``--control`` (or CRYPTO_INSIGHTS_EXCHANGE_CONTROL=1) serves ``/_control/*`` to switch faults at run
time (``POST /_control/faults``); without it those paths are unknown (404).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from crypto_insights.config import load_settings
from crypto_insights.exchange.faults import KINDS, FaultError, parse_cli_fault
from crypto_insights.exchange.server import DEFAULT_SEED, ExchangeServer
from crypto_insights.exchange.throttle import PUBLIC_BURST, PUBLIC_RATE_LIMIT

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765
CHAOS_ENV = "CRYPTO_INSIGHTS_EXCHANGE_CHAOS"
CONTROL_ENV = "CRYPTO_INSIGHTS_EXCHANGE_CONTROL"


def _fault_spec(text: str) -> tuple[str, str, int | None, dict[str, Any]]:
    try:
        return parse_cli_fault(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def chaos_rate(text: str) -> float:
    """A share of requests: ``0.05`` or ``5%``; 0 (or empty) is off."""
    cleaned = text.strip()
    try:
        rate = float(cleaned[:-1]) / 100 if cleaned.endswith("%") else float(cleaned or 0)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"the chaos rate is a share of requests, 0..1 or 0%..100%; got {text!r}")
    return rate


def _env_chaos() -> float:
    try:
        return chaos_rate(os.environ.get(CHAOS_ENV, ""))
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"${CHAOS_ENV}: {exc}") from None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exchange",
        help="run the offline Coinbase-compatible exchange",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed, same books (default: %(default)s)")
    parser.add_argument(
        "--replay",
        metavar="DIR",
        type=Path,
        help="serve DIR/<PRODUCT-ID>/book_*.json and ticker_*.json verbatim instead",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault_spec,
        metavar="PATH=KIND[:COUNT][,NAME=VALUE...]",
        help=f"repeatable; KIND one of {', '.join(KINDS)}; e.g. /products/BTC-USD/book=server_error:2,status=502",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=PUBLIC_RATE_LIMIT,
        help="requests/s per client IP, 0: no limit (default: %(default)s, as Coinbase)",
    )
    parser.add_argument("--burst", type=_positive_int, default=PUBLIC_BURST, help="(default: %(default)s)")
    parser.add_argument(
        "--chaos",
        metavar="RATE",
        type=chaos_rate,
        default=None,
        help=f"fault about RATE (e.g. 0.05 or 5%%) of book and ticker requests with a seeded mix "
        f"of faults (default: ${CHAOS_ENV}, else off)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        default=None,
        help=f"serve /_control/* to switch faults at run time (default: ${CONTROL_ENV}=1, else off: 404)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="configuration file (default: $CRYPTO_INSIGHTS_CONFIG or the project's)",
    )
    parser.set_defaults(func=run)


def build_server(args: argparse.Namespace) -> ExchangeServer:
    """The server the arguments describe, faults switched on, not yet started."""
    chaos = args.chaos if args.chaos is not None else _env_chaos()
    control = args.control if args.control is not None else _env_flag(CONTROL_ENV)
    server = ExchangeServer(
        load_settings(args.config),
        host=args.host,
        port=args.port,
        seed=args.seed,
        replay_dir=args.replay,
        rate_limit=args.rate_limit or None,
        burst=args.burst,
        control=control,
        chaos=chaos or None,
    )
    try:
        for path, kind, count, params in args.fault:
            server.faults.add(path, kind, count, **params)
    except FaultError as exc:
        server.stop()
        raise SystemExit(f"--fault: {exc}") from None
    return server


def run(args: argparse.Namespace) -> int:
    try:
        server = build_server(args)
    except (OSError, ValueError) as exc:  # port taken, replay folder missing or empty
        log.error("%s", exc)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        limit = f"{args.rate_limit:g} req/s, burst {args.burst}" if args.rate_limit else "no rate limit"
        source = f"replaying {args.replay}" if args.replay else f"seed {args.seed}"
        log.info("offline Coinbase exchange listening on %s (%s, %s); Ctrl-C to stop", server.url, source, limit)
        if server.chaos:
            log.info(
                "chaos on: about %.1f %% of book and ticker requests fault (seed %d)", 100 * server.chaos, server.seed
            )
        log.info("fault control %s", f"on: {server.url}/_control/faults" if server.control else "off")
        for fault in server.faults.list():
            log.info("fault on: %s", fault)
        stop.wait()
        log.info("stopping the offline exchange")
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m crypto_insights.exchange.cli [options]``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="python -m crypto_insights.exchange.cli")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["exchange", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
