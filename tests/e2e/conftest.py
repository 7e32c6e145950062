"""One real Superset for the session, on the session's embedded PostgreSQL, over marts built by the real dbt project.

`superset_stack` (session scope) does, timing each step:
  1. a fresh warehouse database with the production roles; slots landed from the offline exchange (seed 7) by the
     landing code, then `dbt build` as crypto_transform — in a thread, while
  2. the bootstrap provisions Superset (metadata in the `superset` database, the bundle rendered from the config,
     the warehouse connection as crypto_reader pointed at that database);
  3. the gunicorn web server on a free port.
Everything stops and is dropped at the end of the session.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from tests.e2e.superset_helpers import CHROMIUM, CHROMIUM_ARGS, SupersetStack

from crypto_insights.config import load_settings
from crypto_insights.dashboards import server
from crypto_insights.dashboards.bootstrap import bootstrap
from crypto_insights.dashboards.environment import admin_password
from crypto_insights.exchange.server import ExchangeServer
from crypto_insights.landing.lander import spool_dir
from crypto_insights.landing.slots import floor_slot
from crypto_insights.landing.spool import Spool
from crypto_insights.landing.window import WindowLander
from crypto_insights.paths import local_dir
from crypto_insights.postgres.bootstrap import bootstrap as bootstrap_roles
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import EmbeddedPostgres, free_port
from crypto_insights.transform.dbt_runner import run_dbt

SLOTS = 9  # 90 s of 10 s slots: three 30 s windows per coin, and whale walls on three coins (seed 7)
EXCHANGE_SEED = 7
# The exchange has traded for 10 minutes when the first slot lands: its first page of prints spans windows, so the
# whale-trade chart has prints above k x the median of the windows before (a tape started with the test had none).
TRADE_HISTORY_S = 600


def _land_and_build(db: str, exchange_url: str, timings: dict[str, float], errors: list[BaseException]) -> None:
    """Land SLOTS past slots (each as if fetched on time) from the offline exchange, then `dbt build`."""
    try:
        started = time.monotonic()
        settings = load_settings()
        settings = replace(settings, exchange=replace(settings.exchange, api_url=exchange_url))
        kwargs = endpoint("loader", db).connect_kwargs()
        lander = WindowLander(settings, lambda: psycopg2.connect(**kwargs), Spool(spool_dir(local_dir()) / db))
        try:
            lander.migrate()
            last = floor_slot(datetime.now(UTC), lander.settings.ingest.slot_seconds)
            for i in range(SLOTS):
                slot = last - timedelta(seconds=10 * (SLOTS - 1 - i))
                report = lander.land(slot, now=slot + timedelta(seconds=1))
                assert report.books == len(lander.settings.product_ids), report
        finally:
            lander.close()
        timings["land slots"] = round(time.monotonic() - started, 2)
        started = time.monotonic()
        result = run_dbt(["build"], dbname=db)
        timings["dbt build"] = round(time.monotonic() - started, 2)
        assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    except BaseException as exc:  # re-raised by the fixture, in the main thread
        errors.append(exc)


@pytest.fixture(scope="session")
def superset_stack(pg: EmbeddedPostgres) -> Iterator[SupersetStack]:
    timings: dict[str, float] = {}
    state = pg.start()
    db = f"e2e_{uuid.uuid4().hex[:8]}"
    bootstrap_roles(endpoint("admin"), state.passwords, warehouse_db=db)
    reader = endpoint("reader", db)
    with ExchangeServer(
        load_settings(), seed=EXCHANGE_SEED, rate_limit=None, trade_history_s=TRADE_HISTORY_S
    ) as exchange:
        errors: list[BaseException] = []
        data = threading.Thread(target=_land_and_build, args=(db, exchange.url, timings, errors))
        data.start()
        try:
            report = bootstrap(reader=reader)
            timings.update({f"bootstrap: {name}": seconds for name, seconds in report.steps})
            started = server.start(bind_port=free_port(), workers=2, timeout_s=180)
            timings["superset start (to /health)"] = started.seconds
        except BaseException:
            server.stop()
            raise
        finally:
            data.join()
        if errors:
            server.stop()
            raise errors[0]
    stack = SupersetStack(started.url, "admin", admin_password(), reader, report, timings)
    try:
        yield stack
    finally:
        server.stop()
        conn = psycopg2.connect(**endpoint("admin", "postgres").connect_kwargs())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{db}" with (force)')
        conn.close()
        print("\nSuperset e2e timings (s): " + ", ".join(f"{k} {v}" for k, v in timings.items()))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped on purpose: Playwright's sync API keeps an asyncio loop running in this thread while it is
    open, and a later `dag.test()` (which runs deferred triggers with `asyncio.run`) would refuse to start."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "the dashboard tests need Debian's chromium at /usr/bin/chromium: `apt-get install chromium` "
            "(make test does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
