"""The gap sweep: slots that no landing task reached (Airflow down, a task retried, a triggerer restarted).

A window lands the slots it was given; the slots between windows belong to nobody. Before each window, and every
minute from the monitor DAG, `account_gaps` records each (product, slot, endpoint) up to `through` that is neither
landed nor recorded as a `missed_slot` error row, then moves the product's watermark. A slot landed later (a spooled
batch) supersedes that row. See docs/architecture.md#ingest-accounting.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from psycopg2.extensions import connection as Connection

from crypto_insights.config import Settings
from crypto_insights.landing.slots import floor_slot, source_label

log = logging.getLogger(__name__)
LOCK_ID = 7_346_223  # pg_advisory_xact_lock key: one sweep at a time
MISSED_REASON = "no landing task reached this slot (the pipeline was stopped, restarting or retrying)"

_SWEEP = """
insert into raw.coinbase_ingest_errors
    (product_id, slot_at, endpoint, source, error_kind, reason, http_status, attempts, body_excerpt)
select w.product_id, s.slot_at, e.endpoint, %(source)s, 'missed_slot', %(reason)s, null, 0, null
from raw.coinbase_ingest_watermarks as w
cross join lateral generate_series(
    greatest(w.accounted_through + %(step)s, %(oldest)s), %(through)s, %(step)s
) as s (slot_at)
cross join (values ('book'), ('ticker')) as e (endpoint)
where w.product_id = any(%(products)s)
    and not exists (
        select 1 from raw.coinbase_book_snapshots as b
        where e.endpoint = 'book' and b.product_id = w.product_id and b.slot_at = s.slot_at
    )
    and not exists (
        select 1 from raw.coinbase_tickers as t
        where e.endpoint = 'ticker' and t.product_id = w.product_id and t.slot_at = s.slot_at
    )
on conflict do nothing
"""


def account_gaps(conn: Connection, settings: Settings, through: datetime) -> int:
    """Record every unaccounted slot of the configured products up to `through` (inclusive); returns the rows.

    A product seen for the first time starts its watermark at `through`: nothing before it was expected. Slots
    older than the raw retention are not swept (their partitions are gone).
    """
    step = timedelta(seconds=settings.ingest.slot_seconds)
    through = floor_slot(through, settings.ingest.slot_seconds)
    products = list(settings.product_ids)
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_ID,))
        cur.execute(
            "insert into raw.coinbase_ingest_watermarks (product_id, accounted_through) "
            "select unnest(%s::text[]), %s on conflict do nothing",
            (products, through),
        )
        cur.execute(
            _SWEEP,
            {
                "source": source_label(settings.exchange.api_url),
                "reason": MISSED_REASON,
                "step": step,
                "oldest": through - timedelta(days=settings.ingest.retention_days),
                "through": through,
                "products": products,
            },
        )
        recorded = cur.rowcount
        cur.execute(
            "update raw.coinbase_ingest_watermarks set accounted_through = %s, updated_at = now() "
            "where product_id = any(%s) and accounted_through < %s",
            (through, products, through),
        )
    if recorded:
        log.warning(
            "recorded %d missed (product, slot, endpoint) up to %s: no landing task reached them",
            recorded,
            through.isoformat(),
        )
    return recorded
