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
from crypto_insights.landing.trades import TRADE_COLUMNS

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

    def trade_state(self, product_ids: Sequence[str]) -> dict[str, tuple[int | None, list]]:
        return self._with_connection(lambda conn: trade_state(conn, product_ids))

    def write_trades(self, batches: Sequence) -> int:
        return self._with_connection(lambda conn: write_trades(conn, batches))

    def notify_landed(self, slot_at: str) -> None:
        """Tell listeners (the transform's asset watcher) that `slot_at` is landed: NOTIFY on SLOT_LANDED_CHANNEL."""

        def notify(conn: Connection) -> None:
            with conn, conn.cursor() as cur:
                cur.execute("select pg_notify(%s, %s)", (SLOT_LANDED_CHANNEL, slot_at))

        self._with_connection(notify)

    def _with_connection(self, work: Callable[[Connection], object]):
        conn = self._connection()
        try:
            return work(conn)
        except Exception:
            if conn.closed:
                self._conn = None
            raise

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


# The channel a landed slot is announced on (payload: its slot_at, ISO-8601); delivered when the NOTIFY commits.
SLOT_LANDED_CHANNEL = "crypto_insights_slot_landed"

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
    cur.execute(
        f"create temp table if not exists {staging} (like raw.{table} including defaults) on commit delete rows"
    )
    cur.copy_expert(f"copy {staging} ({column_list}) from stdin", copy_text(rows, columns))
    cur.execute(
        f"insert into raw.{table} ({column_list}) select {column_list} from {staging} as s {where} "
        "on conflict do nothing"
    )
    return cur.rowcount


def trade_state(conn: Connection, product_ids: Sequence[str]) -> dict[str, tuple[int | None, list]]:
    """Per product: the newest landed trade id and the open gaps (newest first)."""
    from crypto_insights.landing.trades import Gap

    state: dict[str, tuple[int | None, list]] = {pid: (None, []) for pid in product_ids}
    with conn, conn.cursor() as cur:
        for pid in product_ids:  # one index probe each: max() per product does not use the index on a group by
            cur.execute("select max(trade_id) from raw.coinbase_trades where product_id = %s", (pid,))
            state[pid] = (cur.fetchone()[0], [])
        cur.execute(
            "select product_id, after_id, down_to_id from raw.coinbase_trade_gaps "
            "where product_id = any(%s) order by after_id desc",
            (list(product_ids),),
        )
        for pid, after_id, down_to_id in cur.fetchall():
            state[pid][1].append(Gap(pid, after_id, down_to_id))
    return state


def write_trades(conn: Connection, batches: Sequence) -> int:
    """Land the prints, move the gaps and record the errors of one slot in one transaction; returns new prints."""
    trades = [row for b in batches for row in b.trades]
    errors = [row for b in batches for row in b.errors]
    closed = [(b.product_id, after_id) for b in batches for after_id in b.closed_gaps]
    kept = [g for b in batches for g in b.gaps_to_keep()]
    with conn, conn.cursor() as cur:
        days = sorted({datetime.fromisoformat(r["traded_at"]).date() for r in trades})
        for day in days:
            ensure_partitions(conn, day, days=1)
        landed = _copy_insert(cur, "coinbase_trades", TRADE_COLUMNS, trades, _TRADE_NOT_LANDED)
        if closed:
            cur.execute(
                "delete from raw.coinbase_trade_gaps as g using unnest(%s::text[], %s::bigint[]) "
                "as c (product_id, after_id) where g.product_id = c.product_id and g.after_id = c.after_id",
                tuple(map(list, zip(*closed, strict=True))),
            )
        for gap in kept:
            cur.execute(
                "insert into raw.coinbase_trade_gaps (product_id, after_id, down_to_id) values (%s, %s, %s) "
                "on conflict (product_id, after_id) do update set down_to_id = excluded.down_to_id",
                (gap.product_id, gap.after_id, gap.down_to_id),
            )
        _copy_insert(cur, "coinbase_ingest_errors", ERROR_COLUMNS, errors)
    return landed


# A print is landed once, by (product_id, trade_id), whatever its time says (the partition key is its time).
_TRADE_NOT_LANDED = """
where not exists (
    select 1 from raw.coinbase_trades as t where t.product_id = s.product_id and t.trade_id = s.trade_id
)
"""
