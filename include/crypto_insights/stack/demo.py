"""`crypto-insights demo up|down|status`: the whole pipeline on one machine, and its clean stop."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from crypto_insights.config import API_URL_ENV, load_settings
from crypto_insights.dashboards.environment import ADMIN_USER as SUPERSET_ADMIN
from crypto_insights.dashboards.environment import admin_password
from crypto_insights.stack.airflow_env import ADMIN_USER, airflow_environment
from crypto_insights.stack.ports import is_free, port
from crypto_insights.stack.processes import ManagedProcess
from crypto_insights.stack.secrets_store import load_secrets
from crypto_insights.stack.source_probe import exchange_reachable

BIN = Path(sys.executable).parent
EXCHANGE = ManagedProcess("exchange")
AIRFLOW = [ManagedProcess(f"airflow-{name}") for name in ("api-server", "scheduler", "dag-processor", "triggerer")]


def _superset_process() -> ManagedProcess:
    from crypto_insights.dashboards.server import SUPERSET

    return SUPERSET


def managed() -> list[ManagedProcess]:
    """Everything the demo starts, in stop order (dashboards first, the data source last)."""
    return [_superset_process(), *reversed(AIRFLOW), EXCHANGE]


def banner(text: str) -> None:
    line = "=" * min(100, max(len(s) for s in text.splitlines()))
    print(f"\n{line}\n{text}\n{line}", flush=True)


def wait_http(url: str, what: str, process: ManagedProcess, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if not process.is_running():
            break
        time.sleep(1)
    raise SystemExit(f"{what} did not come up at {url}; last lines of {process.log_file}:\n{process.log_tail()}")


def start_source(env: dict[str, str]) -> str:
    """Use the configured exchange when reachable; otherwise start the offline one and say so loudly."""
    settings = load_settings()
    reachable, detail = exchange_reachable(settings)
    if reachable and not os.environ.get("CRYPTO_INSIGHTS_FORCE_OFFLINE"):
        banner(f"LIVE DATA: {settings.exchange.api_url} answered ({detail})")
        return settings.exchange.api_url
    exchange_port = port("exchange")
    url = f"http://127.0.0.1:{exchange_port}"
    if not EXCHANGE.is_running() and not is_free(exchange_port):
        raise SystemExit(f"port {exchange_port} is taken: set CRYPTO_INSIGHTS_EXCHANGE_PORT to a free one")
    EXCHANGE.start([str(BIN / "crypto-insights"), "exchange", "--port", str(exchange_port)], env)
    wait_http(f"{url}/_control/faults", "the offline exchange", EXCHANGE, 30)
    banner(f"SIMULATED DATA: {settings.exchange.api_url} is unreachable ({detail[:60]}...).\n"
           f"Landing from the offline Coinbase-compatible exchange at {url}; rows are labelled source='simulated'.")
    return url


def start_airflow(env: dict[str, str]) -> None:
    api_port = port("airflow")
    if not AIRFLOW[0].is_running() and not is_free(api_port):
        raise SystemExit(f"port {api_port} is taken: set CRYPTO_INSIGHTS_AIRFLOW_PORT to a free one")
    print("migrating Airflow's metadata database ...", flush=True)
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    for process in AIRFLOW:
        process.start([str(BIN / "airflow"), process.name.removeprefix("airflow-")], env)
    wait_http(f"http://127.0.0.1:{api_port}/api/v2/monitor/health", "Airflow", AIRFLOW[0])


def start_dashboards() -> tuple[str, str]:
    """Provision the per-coin dashboards (idempotent) and start Superset; returns (url, first dashboard path)."""
    from crypto_insights.dashboards.bootstrap import BootstrapError, bootstrap
    from crypto_insights.dashboards.server import SupersetStartError, start

    print("provisioning Superset (metadata, roles, one dashboard per coin) ...", flush=True)
    try:
        report = bootstrap()
        print(report.summary(), flush=True)
        started = start()
    except (BootstrapError, SupersetStartError) as exc:
        raise SystemExit(str(exc)) from exc
    first = f"/superset/dashboard/{report.dashboards[0].slug}/" if report.dashboards else "/dashboard/list/"
    return started.url, first


def up(args: argparse.Namespace) -> int:
    from crypto_insights.landing.migrations import migrate
    from crypto_insights.postgres.cli import start_and_bootstrap
    from crypto_insights.postgres.connection import endpoint

    started = time.monotonic()
    load_settings()  # a bad config stops here, before anything starts
    start_and_bootstrap()
    import psycopg2

    conn = psycopg2.connect(**endpoint("loader").connect_kwargs())
    try:
        migrate(conn)
    finally:
        conn.close()
    env = dict(os.environ)
    env[API_URL_ENV] = start_source(env)
    start_airflow(airflow_environment(env))
    superset_url, first_dashboard = start_dashboards()
    secrets = load_secrets()
    banner(
        f"Crypto Insights is running ({time.monotonic() - started:.0f}s)\n"
        f"  Airflow   http://127.0.0.1:{port('airflow')}   login {ADMIN_USER} / {secrets['airflow_admin_password']}\n"
        f"  Superset  {superset_url}{first_dashboard}   login {SUPERSET_ADMIN} / {admin_password()}\n"
        "            (one dashboard per coin, refreshing every 30 s; the marts fill within a minute)\n"
        f"  Source    {env[API_URL_ENV]}\n"
        f"  Logs      {EXCHANGE.log_file.parent}\n"
        "  Stop      make stop"
    )
    return 0


def down(args: argparse.Namespace) -> int:
    from crypto_insights.postgres.server import EmbeddedPostgres

    for process in managed():
        if process.stop():
            print(f"stopped {process.name}")
    if EmbeddedPostgres().stop():
        print("stopped PostgreSQL")
    return 0


def status(args: argparse.Namespace) -> int:
    from crypto_insights.postgres.server import EmbeddedPostgres

    print(f"{'postgres':<22} {'running' if EmbeddedPostgres().is_running() else 'stopped'}")
    for process in reversed(managed()):
        print(f"{process.name:<22} {'running pid ' + str(process.pid()) if process.is_running() else 'stopped'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the whole pipeline on this machine")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("up", help="start everything (idempotent)").set_defaults(func=up)
    actions.add_parser("down", help="stop everything the demo started").set_defaults(func=down)
    actions.add_parser("status", help="what is running").set_defaults(func=status)
