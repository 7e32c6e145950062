"""Land a slot batch with COPY in one transaction; a slot already landed changes nothing.

COPY cannot say ON CONFLICT, so each table's rows are copied into a temporary table and moved with
`insert ... select ... on conflict do nothing`: re-landing a slot (a retry, a duplicate run) is a no-op.

One (product, slot, endpoint) is either landed or an error, never both (docs/architecture.md#ingest-accounting):
a landed book or ticker deletes the error row recorded for it earlier (a spooled slot landing after the gap sweep
called it missed), and an error row is not written where the snapshot is already landed (a restarted window
reaching a slot late).
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
    duplicates: int = 0  # rows already landed, and error rows not written because their slot is landed
    superseded: int = 0  # earlier error rows deleted because this batch landed their slot


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
                books = _copy_insert(cur, "coinbase_book_snapshots", BOOK_COLUMNS, batch.books)
                tickers = _copy_insert(cur, "coinbase_tickers", TICKER_COLUMNS, batch.tickers)
                superseded = _supersede_errors(cur, batch)
                errors = _copy_insert(cur, "coinbase_ingest_errors", ERROR_COLUMNS, batch.errors, _UNLESS_LANDED)
        except Exception:
            if conn.closed:
                self._conn = None
            raise
        self._partition_days.add(day)  # only once committed: a rejected batch rolls its partitions back too
        duplicates = len(batch.books) - books + len(batch.tickers) - tickers + len(batch.errors) - errors
        return WriteCounts(books=books, tickers=tickers, errors=errors, duplicates=duplicates, superseded=superseded)


# Error rows whose (product, slot, endpoint) is landed already are not written.
_UNLESS_LANDED = """
where not exists (
    select 1 from raw.coinbase_book_snapshots as b
    where s.endpoint = 'book' and b.product_id = s.product_id and b.slot_at = s.slot_at
) and not exists (
    select 1 from raw.coinbase_tickers as t
    where s.endpoint = 'ticker' and t.product_id = s.product_id and t.slot_at = s.slot_at
)
"""


def _supersede_errors(cur, batch: SlotBatch) -> int:
    """Delete the error rows of the (product, slot, endpoint)s this batch lands; returns how many."""
    keys = [(r["product_id"], r["slot_at"], "book") for r in batch.books]
    keys += [(r["product_id"], r["slot_at"], "ticker") for r in batch.tickers]
    if not keys:
        return 0
    cur.execute(
        "delete from raw.coinbase_ingest_errors as e using unnest(%s::text[], %s::timestamptz[], %s::text[]) "
        "as k (product_id, slot_at, endpoint) "
        "where e.product_id = k.product_id and e.slot_at = k.slot_at and e.endpoint = k.endpoint",
        tuple(map(list, zip(*keys, strict=True))),
    )
    return cur.rowcount


def _copy_insert(cur, table: str, columns: Sequence[str], rows: list[dict], where: str = "") -> int:
    """COPY rows into a temp table, then insert the ones not landed yet; returns how many were new."""
    if not rows:
        return 0
    column_list = ", ".join(columns)
    staging = f"_landing_{table}"
    cur.execute(f"create temp table if not exists {staging} (like raw.{table} including defaults) "
                "on commit delete rows")
    cur.copy_expert(f"copy {staging} ({column_list}) from stdin", copy_text(rows, columns))
    cur.execute(f"insert into raw.{table} ({column_list}) select {column_list} from {staging} as s {where} "
                "on conflict do nothing")
    return cur.rowcount
