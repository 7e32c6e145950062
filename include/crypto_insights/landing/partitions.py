"""Daily partitions of the raw tables: created ahead of time, dropped after the retention period."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from psycopg2 import sql
from psycopg2.extensions import connection as Connection

log = logging.getLogger(__name__)
PARTITIONED_TABLES = ("coinbase_book_snapshots", "coinbase_tickers", "coinbase_trades")
LOCK_ID = 7_346_222
_SUFFIX = re.compile(r"_p(\d{8})$")


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def ensure_partitions(conn: Connection, first_day: date, days: int = 1) -> list[str]:
    """Create the daily partitions for [first_day, first_day + days); returns the ones created."""
    created = []
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_ID,))
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for table in PARTITIONED_TABLES:
                name = partition_name(table, day)
                cur.execute("select to_regclass(%s)", (f"raw.{name}",))
                if cur.fetchone()[0] is not None:
                    continue
                cur.execute(
                    sql.SQL("create table raw.{} partition of raw.{} for values from (%s) to (%s)").format(
                        sql.Identifier(name), sql.Identifier(table)
                    ),
                    (f"{day.isoformat()} 00:00:00+00", f"{(day + timedelta(days=1)).isoformat()} 00:00:00+00"),
                )
                created.append(name)
    return created


def existing_partitions(conn: Connection, table: str) -> dict[str, date]:
    with conn.cursor() as cur:
        cur.execute(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace "
            "where n.nspname = 'raw' and p.relname = %s",
            (table,),
        )
        names = [row[0] for row in cur.fetchall()]
    found = {}
    for name in names:
        match = _SUFFIX.search(name)
        if match:
            found[name] = date(int(match[1][:4]), int(match[1][4:6]), int(match[1][6:]))
    return found


def drop_expired_partitions(conn: Connection, today: date, retention_days: int) -> list[str]:
    """Drop partitions whose whole day lies before `today - retention_days`; returns the ones dropped."""
    cutoff = today - timedelta(days=retention_days)
    dropped = []
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_ID,))
        for table in PARTITIONED_TABLES:
            for name, day in sorted(existing_partitions(conn, table).items()):
                if day < cutoff:
                    cur.execute(sql.SQL("drop table raw.{}").format(sql.Identifier(name)))
                    dropped.append(name)
        cur.execute("delete from raw.coinbase_ingest_errors where slot_at < %s", (cutoff.isoformat(),))
    for name in dropped:
        log.info("dropped expired partition raw.%s", name)
    return dropped
