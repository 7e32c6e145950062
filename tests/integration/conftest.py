"""A fresh warehouse database per test, on the session's embedded PostgreSQL (tests/support/environment.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
