"""`crypto-insights postgres start|stop|status|url|destroy`."""

from __future__ import annotations

import argparse
import os

from crypto_insights.postgres.bootstrap import bootstrap
from crypto_insights.postgres.connection import DATABASE_URL_ENV, ROLE_USERS, endpoint
from crypto_insights.postgres.server import EmbeddedPostgres


def start_and_bootstrap() -> EmbeddedPostgres:
    """Start the embedded server (unless an external one is configured) and ensure roles and databases."""
    pg = EmbeddedPostgres()
    if os.environ.get(DATABASE_URL_ENV):
        admin = endpoint("admin")
        bootstrap(admin, {user: admin.password for user in ROLE_USERS.values()})
        return pg
    state = pg.start()
    bootstrap(endpoint("admin"), state.passwords)
    return pg


def _start(args: argparse.Namespace) -> int:
    pg = start_and_bootstrap()
    if os.environ.get(DATABASE_URL_ENV):
        print(f"using the external PostgreSQL from ${DATABASE_URL_ENV}")
        return 0
    state = pg.load_state()
    assert state is not None
    print(f"PostgreSQL up on 127.0.0.1:{state.port} ({state.origin} binaries, data in {state.data_dir})")
    return 0


def _stop(args: argparse.Namespace) -> int:
    print("PostgreSQL stopped" if EmbeddedPostgres().stop() else "PostgreSQL was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    pg = EmbeddedPostgres()
    state = pg.load_state()
    if pg.is_running() and state:
        print(f"running on 127.0.0.1:{state.port}, data in {state.data_dir}")
        return 0
    print("not running" + ("" if state else " (never started)"))
    return 3


def _destroy(args: argparse.Namespace) -> int:
    if os.environ.get(DATABASE_URL_ENV):
        print(f"${DATABASE_URL_ENV} points at your own PostgreSQL: nothing of ours to destroy")
        return 0
    if not args.yes:
        print("this deletes the embedded cluster and all its data (warehouse, Airflow, Superset): add --yes")
        return 2
    removed = EmbeddedPostgres().destroy()
    print("removed " + ", ".join(map(str, removed)) if removed else "no embedded cluster here")
    return 0


def _url(args: argparse.Namespace) -> int:
    print(endpoint(args.role, args.db).url())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("postgres", help="the embedded PostgreSQL server")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("start", help="initdb on first use, start, create roles and databases").set_defaults(func=_start)
    actions.add_parser("stop", help="stop the server").set_defaults(func=_stop)
    actions.add_parser("status", help="exit 0 when running").set_defaults(func=_status)
    destroy = actions.add_parser("destroy", help="stop and delete the cluster and its data, wherever it lives")
    destroy.add_argument("--yes", action="store_true", help="yes, delete every database of the embedded server")
    destroy.set_defaults(func=_destroy)
    url = actions.add_parser("url", help="print a connection URL (contains the role's password)")
    url.add_argument("--role", default="loader", choices=sorted(ROLE_USERS))
    url.add_argument("--db", default=None, help="database (default: the role's own)")
    url.set_defaults(func=_url)
