"""Land a slot batch with COPY in one transaction; a slot already landed changes nothing.

COPY cannot say ON CONFLICT, so each table's rows are copied into a temporary table and moved with
`insert ... select ... on conflict do nothing`: re-landing a slot (a retry, a duplicate run) is a no-op.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg2.extensions import connection as Connection

from crypto_insights.landing.batch import BOOK_COLUMNS, ERROR_COLUMNS, JSON_COLUMNS, TICKER_COLUMNS, SlotBatch
from crypto_insights.landing.partitions import ensure_partitions

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(column: str, value: object) -> str:
    if value is None:
        return "\\N"
    if column in JSON_COLUMNS:
        value = json.dumps(value, separators=(",", ":"))
    elif isinstance(value, bool):
        value = "t" if value else "f"
    return str(value).translate(_ESCAPES)


def copy_text(rows: Iterable[dict], columns: Sequence[str]) -> io.StringIO:
    """Rows as PostgreSQL COPY text format (tab-separated, `\\N` for NULL)."""
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(_field(c, row.get(c)) for c in columns))
        buf.write("\n")
    buf.seek(0)
    return buf


@dataclass(frozen=True)
class WriteCounts:
    books: int = 0
    tickers: int = 0
    errors: int = 0
    duplicates: int = 0


class CopyWriter:
    """Writes batches through one reusable connection, reconnecting after the server went away."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._conn: Connection | None = None
        self._partition_days: set = set()

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            self._partition_days.clear()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def write(self, batch: SlotBatch) -> WriteCounts:
        conn = self._connection()
        try:
            with conn, conn.cursor() as cur:
                day = datetime.fromisoformat(batch.slot_at).date()
                if day not in self._partition_days:
                    ensure_partitions(conn, day, days=2)
                    self._partition_days.add(day)
                books = _copy_insert(cur, "coinbase_book_snapshots", BOOK_COLUMNS, batch.books)
                tickers = _copy_insert(cur, "coinbase_tickers", TICKER_COLUMNS, batch.tickers)
                errors = _copy_insert(cur, "coinbase_ingest_errors", ERROR_COLUMNS, batch.errors)
        except Exception:
            if conn.closed:
                self._conn = None
            raise
        duplicates = len(batch.books) - books + len(batch.tickers) - tickers + len(batch.errors) - errors
        return WriteCounts(books=books, tickers=tickers, errors=errors, duplicates=duplicates)


def _copy_insert(cur, table: str, columns: Sequence[str], rows: list[dict]) -> int:
    """COPY rows into a temp table, then insert the ones not landed yet; returns how many were new."""
    if not rows:
        return 0
    column_list = ", ".join(columns)
    staging = f"_landing_{table}"
    cur.execute(f"create temp table if not exists {staging} (like raw.{table} including defaults) "
                "on commit delete rows")
    cur.copy_expert(f"copy {staging} ({column_list}) from stdin", copy_text(rows, columns))
    cur.execute(f"insert into raw.{table} ({column_list}) select {column_list} from {staging} "
                "on conflict do nothing")
    return cur.rowcount
