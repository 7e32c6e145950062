"""A fresh warehouse database per test, on the session's embedded PostgreSQL (tests/support/environment.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from crypto_insights.postgres.bootstrap import bootstrap
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import EmbeddedPostgres


def drop_database(name: str) -> None:
    conn = psycopg2.connect(**endpoint("admin", "postgres").connect_kwargs())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    conn.close()


@pytest.fixture
def warehouse_db(pg: EmbeddedPostgres) -> Iterator[str]:
    """The name of a fresh warehouse database with the roles and grants of production, dropped afterwards."""
    state = pg.start()  # a test may have stopped it
    name = f"test_{uuid.uuid4().hex[:10]}"
    bootstrap(endpoint("admin"), state.passwords, warehouse_db=name)
    yield name
    pg.start()
    drop_database(name)


@pytest.fixture
def warehouse(warehouse_db: str) -> str:
    """A fresh warehouse database with the raw schema's migrations applied."""
    from crypto_insights.landing.migrations import migrate

    conn = psycopg2.connect(**endpoint("loader", warehouse_db).connect_kwargs())
    try:
        migrate(conn)
    finally:
        conn.close()
    return warehouse_db


def _drop_airflow_pool() -> None:
    """Forget Airflow's pooled metadata connections without talking to the server.

    An earlier test may have restarted the shared PostgreSQL, so a pooled connection may be dead: `invalidate()`
    discards it where `close()` would first try a ROLLBACK on it and fail.
    """
    from airflow import settings

    session_factory = getattr(settings, "Session", None)
    if session_factory is not None and hasattr(session_factory, "registry"):
        if session_factory.registry.has():
            session_factory.registry().invalidate()
        session_factory.remove()
    if getattr(settings, "engine", None) is not None:
        settings.engine.dispose(close=False)


@pytest.fixture(scope="session")
def airflow_migrated(pg: EmbeddedPostgres) -> None:
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, env=os.environ, capture_output=True)


@pytest.fixture
def airflow_db(airflow_migrated: None, pg: EmbeddedPostgres) -> None:
    """Airflow's metadata database, migrated once per session, with no pooled connection left from a prior test."""
    pg.start()  # a fault-injection test may have stopped the server
    _drop_airflow_pool()
