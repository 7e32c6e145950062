"""`crypto-insights superset bootstrap|start|stop|status|serve|bundle`: the dashboards and their web server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _bootstrap(args: argparse.Namespace) -> int:
    from crypto_insights.dashboards.bootstrap import BootstrapError, bootstrap
    from crypto_insights.dashboards.exposures import EXPOSURES_FILE, write_exposures

    try:
        report = bootstrap(prune=not args.no_prune)
    except BootstrapError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report.summary())
    if write_exposures():  # the dashboards as dbt exposures, for lineage in dbt docs
        print(f"  dbt exposures rewritten for the configured coins: {EXPOSURES_FILE}")
    for ref in report.dashboards:
        print(f"  {ref.title}: /superset/dashboard/{ref.slug}/")
    return 0


def _start(args: argparse.Namespace) -> int:
    from crypto_insights.dashboards.environment import ADMIN_USER, admin_password
    from crypto_insights.dashboards.server import SupersetStartError, start

    try:
        started = start(bind_port=args.port, workers=args.workers, wait=not args.no_wait)
    except SupersetStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"Superset on {started.url} (pid {started.pid}, up in {started.seconds:.1f}s); "
        f"login {ADMIN_USER} / {admin_password()}"
    )
    return 0


def _stop(args: argparse.Namespace) -> int:
    from crypto_insights.dashboards.server import stop

    print("Superset stopped" if stop() else "Superset was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from crypto_insights.dashboards.server import SUPERSET, UP, base_url
    from crypto_insights.stack.supervisor import Supervisor

    supervisor = Supervisor()
    state = supervisor.state(SUPERSET)
    if state in UP:
        print(f"{state.lower()} pid {supervisor.pid(SUPERSET)} on {base_url()} (log {supervisor.log_file(SUPERSET)})")
        return 0
    print("not running" if state == "STOPPED" else f"not running ({state.lower()})")
    return 3


def _serve(args: argparse.Namespace) -> int:
    from crypto_insights.dashboards.server import serve

    serve(host=args.host, bind_port=args.port, workers=args.workers)
    return 0  # not reached: serve() replaces this process


def _bundle(args: argparse.Namespace) -> int:
    from crypto_insights.dashboards.bundle import WarehouseTarget, render_bundle
    from crypto_insights.dashboards.environment import reader_endpoint

    reader = reader_endpoint()
    if args.host:
        warehouse = WarehouseTarget(args.host, args.port or 5432, args.db or reader.dbname, args.user or reader.user)
    else:
        warehouse = WarehouseTarget.from_endpoint(reader)
    bundle = render_bundle(warehouse=warehouse)
    bundle.write_zip(args.out)
    print(f"{args.out}: {len(bundle.files)} files, dashboards: {', '.join(d.product_id for d in bundle.dashboards)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("superset", help="the dashboards (Superset): provision, serve, render")
    actions = parser.add_subparsers(dest="action", required=True)

    boot = actions.add_parser("bootstrap", help="migrate, admin user, roles, import the dashboards (idempotent)")
    boot.add_argument("--no-prune", action="store_true", help="keep dashboards of symbols no longer configured")
    boot.set_defaults(func=_bootstrap)

    start = actions.add_parser("start", help="start the web server under supervisord (127.0.0.1)")
    start.add_argument("--port", type=int, default=None, help="default $CRYPTO_INSIGHTS_SUPERSET_PORT or 8088")
    start.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2)")
    start.add_argument("--no-wait", action="store_true", help="return without waiting for /health")
    start.set_defaults(func=_start)

    actions.add_parser("stop", help="stop the background web server").set_defaults(func=_stop)
    actions.add_parser("status", help="exit 0 when the web server runs").set_defaults(func=_status)

    serve = actions.add_parser("serve", help="run the web server in the foreground (containers)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8088)
    serve.add_argument("--workers", type=int, default=None)
    serve.set_defaults(func=_serve)

    bundle = actions.add_parser("bundle", help="render superset/assets into an importable zip (no password)")
    bundle.add_argument("--out", type=Path, required=True)
    bundle.add_argument("--host", default=None, help="warehouse host (default: the reader endpoint's)")
    bundle.add_argument("--port", type=int, default=None)
    bundle.add_argument("--db", default=None)
    bundle.add_argument("--user", default=None)
    bundle.set_defaults(func=_bundle)
