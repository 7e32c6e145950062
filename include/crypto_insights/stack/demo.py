"""`crypto-insights demo up|down|status`: the whole pipeline on one machine, and its clean stop."""

from __future__ import annotations

import argparse
import os
import subprocess
import time

import requests

from crypto_insights.config import API_URL_ENV, load_settings
from crypto_insights.dashboards.environment import ADMIN_USER as SUPERSET_ADMIN
from crypto_insights.dashboards.environment import VIEWER_USER, admin_password, viewer_password
from crypto_insights.dashboards.server import SUPERSET
from crypto_insights.paths import local_dir
from crypto_insights.stack.airflow_env import ADMIN_USER, airflow_environment
from crypto_insights.stack.ports import is_free, port
from crypto_insights.stack.programs import AIRFLOW, BIN, EXCHANGE, airflow_programs, exchange_program
from crypto_insights.stack.secrets_store import load_secrets
from crypto_insights.stack.source_probe import exchange_reachable
from crypto_insights.stack.supervisor import Supervisor
from crypto_insights.transform.dbt_docs import DOCS_NAME, DOCS_PATH

PROGRAMS = (EXCHANGE, *AIRFLOW, SUPERSET)  # in start order
UP = ("STARTING", "RUNNING")


def banner(text: str) -> None:
    line = "=" * min(100, max(len(s) for s in text.splitlines()))
    print(f"\n{line}\n{text}\n{line}", flush=True)


def wait_http(url: str, what: str, supervisor: Supervisor, name: str, timeout_s: float = 120.0) -> None:
    """Poll `url` until it answers; fails early when supervisord saw the program exit while starting."""
    deadline = time.monotonic() + timeout_s
    state = supervisor.state(name)
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        state = supervisor.state(name)
        if state not in UP:
            break
        time.sleep(1)
    raise SystemExit(
        f"{what} did not come up at {url} (supervisord: {name} {state}); last lines of "
        f"{supervisor.log_file(name)}:\n{supervisor.log_tail(name)}"
    )


def start_source(supervisor: Supervisor, env: dict[str, str]) -> str:
    """Use the configured exchange when reachable; otherwise start the offline one and say so loudly."""
    settings = load_settings()
    reachable, detail = exchange_reachable(settings)
    if reachable and not os.environ.get("CRYPTO_INSIGHTS_FORCE_OFFLINE"):
        supervisor.remove(EXCHANGE)  # an earlier offline demo's
        banner(f"LIVE DATA: {settings.exchange.api_url} answered ({detail})")
        return settings.exchange.api_url
    exchange_port = port("exchange")
    url = f"http://127.0.0.1:{exchange_port}"
    if supervisor.state(EXCHANGE) not in UP and not is_free(exchange_port):
        raise SystemExit(f"port {exchange_port} is taken: set CRYPTO_INSIGHTS_EXCHANGE_PORT to a free one")
    supervisor.ensure({EXCHANGE: exchange_program(exchange_port, env)})
    wait_http(f"{url}/products/{settings.product_ids[0]}", "the offline exchange", supervisor, EXCHANGE, 30)
    banner(
        f"SIMULATED DATA: {settings.exchange.api_url} is unreachable ({detail[:60]}...).\n"
        f"Landing from the offline Coinbase-compatible exchange at {url}; rows are labelled source='simulated'."
    )
    return url


def start_airflow(supervisor: Supervisor, env: dict[str, str]) -> None:
    api_port = port("airflow")
    if supervisor.state("airflow-api-server") not in UP and not is_free(api_port):
        raise SystemExit(f"port {api_port} is taken: set CRYPTO_INSIGHTS_AIRFLOW_PORT to a free one")
    print("migrating Airflow's metadata database ...", flush=True)
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    supervisor.ensure(airflow_programs(env))
    wait_http(
        f"http://127.0.0.1:{api_port}/api/v2/monitor/health", "Airflow", supervisor, "airflow-api-server", timeout_s=300
    )  # its first start imports much: minutes on a busy 2-core machine


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


def publish_dbt_docs() -> str:
    """The dashboards' dbt exposures (from the config) and `dbt docs generate`, served by Cosmos' plugin in Airflow's
    UI. Regenerated daily by crypto_maintenance; a failure here leaves the pipeline running and says so."""
    from crypto_insights.dashboards.exposures import write_exposures
    from crypto_insights.transform.dbt_docs import generate_docs

    print("generating the dbt docs (lineage from the Coinbase source to each dashboard) ...", flush=True)
    try:
        write_exposures()
        generate_docs()
    except Exception as exc:  # the docs are a convenience: never a reason to stop the demo
        print(f"dbt docs not generated: {type(exc).__name__}: {str(exc)[:500]}", flush=True)
        return "  [not generated yet: see above]"
    return ""


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
    supervisor = Supervisor()
    supervisor.start()
    env = dict(os.environ)
    env[API_URL_ENV] = start_source(supervisor, env)
    start_airflow(supervisor, airflow_environment(env))
    superset_url, first_dashboard = start_dashboards()
    docs = publish_dbt_docs()
    secrets = load_secrets()
    banner(
        f"Crypto Insights is running ({time.monotonic() - started:.0f}s)\n"
        f"  Airflow   http://127.0.0.1:{port('airflow')}   login {ADMIN_USER} / {secrets['airflow_admin_password']}\n"
        f"  Superset  {superset_url}{first_dashboard}   login {SUPERSET_ADMIN} / {admin_password()}\n"
        f"            read-only (dashboards only, no SQL Lab): {VIEWER_USER} / {viewer_password()}\n"
        "            (one dashboard per coin, refreshing every 30 s; the marts fill within a minute)\n"
        f"  dbt docs  http://127.0.0.1:{port('airflow')}{DOCS_PATH}   (Airflow: Browse > {DOCS_NAME}){docs}\n"
        f"  Source    {env[API_URL_ENV]}\n"
        f"  Logs      {local_dir() / 'logs'}   (supervised: `crypto-insights demo status`)\n"
        "  Stop      make stop"
    )
    return 0


def down(args: argparse.Namespace) -> int:
    """supervisord stops every program with its process group, then whatever still carries this home's marker
    is ended (nothing escapes), then PostgreSQL stops."""
    from crypto_insights.postgres.server import EmbeddedPostgres

    supervisor = Supervisor()
    running = [name for name in supervisor.programs() if supervisor.state(name) != "STOPPED"]
    was_up = supervisor.is_running()
    strays = supervisor.stop_all()
    if was_up:
        print(f"stopped supervisord and {', '.join(running) or 'no program'}")
    if strays:
        print(f"ended {len(strays)} process(es) left over by the demo's programs: {strays}")
    if EmbeddedPostgres().stop():
        print("stopped PostgreSQL")
    return 0


def status(args: argparse.Namespace) -> int:
    """One line per component: supervisord's state of each program (`running`, `starting`, `backoff` ...)."""
    from crypto_insights.postgres.server import EmbeddedPostgres

    supervisor = Supervisor()
    daemon = supervisor.daemon_pid()
    print(f"{'postgres':<22} {'running' if EmbeddedPostgres().is_running() else 'stopped'}")
    print(f"{'supervisord':<22} {f'running    pid {daemon}' if daemon else 'stopped'}")
    names = [*PROGRAMS, *(name for name in supervisor.programs() if name not in PROGRAMS)]
    for name in names:
        info = supervisor.info(name) if daemon else None
        if info is None:
            print(f"{name:<22} stopped")
        else:
            print(f"{name:<22} {str(info['statename']).lower():<10} {info['description']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the whole pipeline on this machine")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("up", help="start everything (idempotent)").set_defaults(func=up)
    actions.add_parser("down", help="stop everything the demo started").set_defaults(func=down)
    actions.add_parser("status", help="what is running").set_defaults(func=status)
