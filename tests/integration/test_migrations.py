"""The raw schema's migrations: applied once at start-up; the tasks that start every window only read the versions."""

from __future__ import annotations

import psycopg2
import pytest

from crypto_insights.landing.migrations import (
    LOCK_ID,
    ensure_migrated,
    migrate,
    migration_files,
    pending_migrations,
)
from crypto_insights.postgres.connection import endpoint

pytestmark = pytest.mark.integration


def _connect(db: str):
    return psycopg2.connect(**endpoint("loader", db).connect_kwargs())


def test_a_new_warehouse_is_migrated_once_then_only_checked(warehouse_db: str) -> None:
    versions = [version for version, _ in migration_files()]
    conn, holder = _connect(warehouse_db), _connect(warehouse_db)
    try:
        assert pending_migrations(conn) == versions  # a new warehouse: not even the versions table yet
        assert ensure_migrated(conn) == versions
        assert pending_migrations(conn) == [] and migrate(conn) == []

        # Another session holds the migrator's lock (a deployment migrating): the hot path must not queue behind it.
        holder.autocommit = True
        with holder.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", (LOCK_ID,))
        with conn, conn.cursor() as cur:
            cur.execute("set statement_timeout = '2s'")
        assert ensure_migrated(conn) == []  # one read of the versions: no lock, no DDL
        with pytest.raises(psycopg2.errors.QueryCanceled):
            migrate(conn)  # what every task start used to do: it waits for the lock
    finally:
        conn.close()
        holder.close()


def test_a_schema_behind_the_code_is_migrated_by_the_check(warehouse_db: str) -> None:
    conn = _connect(warehouse_db)
    try:
        migrate(conn)
        newest = migration_files()[-1][0]
        with conn, conn.cursor() as cur:  # as if the code were upgraded and nothing ran the migrations yet
            cur.execute("delete from raw.schema_migrations where version = %s", (newest,))
        assert pending_migrations(conn) == [newest]
        assert ensure_migrated(conn) == [newest] and pending_migrations(conn) == []
    finally:
        conn.close()
