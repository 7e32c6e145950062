"""Is the ingest landing? The newest order-book snapshot of the configured products against `alerts.stale_after_s`.

Measured on `slot_at` (the wall-clock slot a book belongs to), not `landed_at`: a spool replaying old slots after an
outage lands rows but no fresh data. Before anything has ever landed, the clock starts when the raw schema was
created, so a new warehouse is not called stalled before the ingest had its chance.
"""

from __future__ import annotations

from datetime import datetime

from psycopg2.extensions import connection as Connection

from crypto_insights.config import Settings
from crypto_insights.monitoring.alerts import INGEST_STALE, format_duration
from crypto_insights.monitoring.incidents import CheckResult

TITLE = "Ingest stalled"

# One index probe per product: the primary key (product_id, slot_at) of each daily partition answers max(slot_at).
_LAST_SLOTS = """
select p.product_id,
    (select max(b.slot_at) from raw.coinbase_book_snapshots as b where b.product_id = p.product_id)
from unnest(%s::text[]) as p (product_id)
"""


def last_slots(conn: Connection, product_ids: tuple[str, ...]) -> dict[str, datetime | None]:
    """The newest landed slot of each product (None: never landed)."""
    with conn, conn.cursor() as cur:
        cur.execute(_LAST_SLOTS, (list(product_ids),))
        return dict(cur.fetchall())


def _raw_schema_created(conn: Connection) -> datetime | None:
    with conn, conn.cursor() as cur:
        cur.execute("select min(applied_at) from raw.schema_migrations")
        return cur.fetchone()[0]


def ingest_freshness(conn: Connection, settings: Settings, now: datetime) -> CheckResult:
    """Firing when no configured product has landed a book for `alerts.stale_after_s` seconds."""
    limit = settings.alerts.stale_after_s
    by_product = last_slots(conn, settings.product_ids)
    landed = [t for t in by_product.values() if t is not None]
    details: dict = {
        "stale_after_s": limit,
        "last_slot_by_product": {p: t.isoformat() if t else None for p, t in by_product.items()},
    }
    if landed:
        newest = max(landed)
        age = (now - newest).total_seconds()
        details.update(newest_slot_at=newest.isoformat(), age_s=round(age, 1))
        if age > limit:
            summary = (
                f"no order-book snapshot has landed for {format_duration(age)} (newest slot "
                f"{newest.isoformat()}; alerts.stale_after_s = {limit})"
            )
            return CheckResult(INGEST_STALE, True, TITLE, summary, details=details)
        return CheckResult(
            INGEST_STALE, False, TITLE, f"order books land: the newest slot is {age:.0f}s old", details=details
        )
    created = _raw_schema_created(conn)
    if created is None:
        return CheckResult(INGEST_STALE, None, TITLE, "the raw schema does not exist yet", details=details)
    age = (now - created).total_seconds()
    details.update(newest_slot_at=None, raw_schema_created_at=created.isoformat(), age_s=round(age, 1))
    if age > limit:
        summary = (
            f"no order-book snapshot has ever landed; the raw schema was created {format_duration(age)} ago "
            f"(alerts.stale_after_s = {limit})"
        )
        return CheckResult(INGEST_STALE, True, TITLE, summary, details=details)
    return CheckResult(INGEST_STALE, None, TITLE, "nothing landed yet; the raw schema is new", details=details)
