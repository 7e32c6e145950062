"""The raw schema's SQL migrations (`crypto_insights/sql/*.sql`), applied once each, in order, idempotently.

They are applied where a deployment starts (`crypto-insights demo up`, the compose file's `warehouse-init`,
`crypto-insights land migrate`) and by the daily `crypto_maintenance`. The tasks that run every window or every
minute only call `ensure_migrated`: one read of the applied versions, and the migrator (its lock and DDL) only when
the code is newer than the schema, e.g. after an upgrade that was not followed by a start.
"""

from __future__ import annotations

import logging
from importlib import resources

from psycopg2.extensions import connection as Connection

log = logging.getLogger(__name__)
LOCK_ID = 7_346_221  # pg_advisory_xact_lock key: one migrator at a time


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("crypto_insights") / "sql"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def pending_migrations(conn: Connection) -> list[str]:
    """The versions this code has that the schema has not applied (all of them on a new warehouse)."""
    with conn, conn.cursor() as cur:
        cur.execute("select to_regclass('raw.schema_migrations') is not null")
        done: set[str] = set()
        if cur.fetchone()[0]:
            cur.execute("select version from raw.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
    return [version for version, _ in migration_files() if version not in done]


def ensure_migrated(conn: Connection) -> list[str]:
    """`migrate` only if a migration is pending: the cheap check for tasks that start every few seconds."""
    return migrate(conn) if pending_migrations(conn) else []


def migrate(conn: Connection) -> list[str]:
    """Apply the migrations not yet applied; returns their versions. Runs as the owner of schema raw."""
    applied: list[str] = []
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_ID,))
        cur.execute(
            "create table if not exists raw.schema_migrations "
            "(version text primary key, applied_at timestamptz not null default now())"
        )
        cur.execute("select version from raw.schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, statements in migration_files():
            if version in done:
                continue
            cur.execute(statements)
            cur.execute("insert into raw.schema_migrations (version) values (%s)", (version,))
            applied.append(version)
            log.info("applied migration %s", version)
    return applied
