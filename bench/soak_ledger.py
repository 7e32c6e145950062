"""The soak's verdict: every (product, slot, endpoint) of its slot range landed or recorded, once, and never both.

First the gap sweep (`crypto_insights.landing.accounting.account_gaps`) records what no landing task reached, up
to `through`; then one pass over raw counts, for the expected pairs (products x slots x {book, ticker}; error rows
of other endpoints are only counted by kind):
landed, recorded errors by kind, **unaccounted** (neither), **duplicates** (a pair landed or recorded more than
once), **false errors** (an error row for a pair that landed), stray rows (off the slot grid or an unknown
product), and the rows that landed more than SPOOLED_AFTER_S after they were received (spooled during an outage,
landed when the warehouse came back). The trade tape is judged by trade id (`_TAPE`): every id between the oldest
and newest print landed is landed or inside a range recorded as given up, and none is both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg2

from crypto_insights.config import Settings
from crypto_insights.postgres.connection import endpoint

SPOOLED_AFTER_S = 30

_LEDGER = """
with expected as (
    select p.product_id, s.slot_at, e.endpoint
    from unnest(%(products)s::text[]) as p (product_id)
    cross join generate_series(%(first)s::timestamptz, %(last)s::timestamptz, %(step)s::interval) as s (slot_at)
    cross join (values ('book'), ('ticker')) as e (endpoint)
),
landed as (
    select product_id, slot_at, 'book' as endpoint, received_at, landed_at from raw.coinbase_book_snapshots
    where slot_at between %(first)s and %(last)s
    union all
    select product_id, slot_at, 'ticker', received_at, landed_at from raw.coinbase_tickers
    where slot_at between %(first)s and %(last)s
),
errors as (
    select product_id, slot_at, endpoint, error_kind from raw.coinbase_ingest_errors
    where slot_at between %(first)s and %(last)s and endpoint in ('book', 'ticker')
),
landed_pairs as (select product_id, slot_at, endpoint, count(*) as n from landed group by 1, 2, 3),
error_pairs as (select product_id, slot_at, endpoint, count(*) as n from errors group by 1, 2, 3)
select
    (select count(*) from expected) as expected,
    (select count(*) from expected x join landed_pairs l using (product_id, slot_at, endpoint)) as landed,
    (select count(*) from expected x
     where not exists (select 1 from landed_pairs l where (l.product_id, l.slot_at, l.endpoint)
                                                        = (x.product_id, x.slot_at, x.endpoint))
       and not exists (select 1 from error_pairs e where (e.product_id, e.slot_at, e.endpoint)
                                                       = (x.product_id, x.slot_at, x.endpoint))) as unaccounted,
    (select count(*) from landed_pairs where n > 1) + (select count(*) from error_pairs where n > 1) as duplicates,
    (select count(*) from error_pairs e join landed_pairs l using (product_id, slot_at, endpoint)) as false_errors,
    (select count(*) from (select product_id, slot_at, endpoint from landed_pairs
                           union all select product_id, slot_at, endpoint from error_pairs) as seen
     where not exists (select 1 from expected x where (x.product_id, x.slot_at, x.endpoint)
                                                   = (seen.product_id, seen.slot_at, seen.endpoint))) as stray,
    (select count(*) from landed where landed_at - received_at > %(spooled)s::interval) as spooled_then_landed,
    (select count(*) from landed where endpoint = 'book') as books,
    (select count(*) from landed where endpoint = 'ticker') as tickers
"""
_ERRORS_BY_KIND = """
select error_kind, endpoint, count(*) from raw.coinbase_ingest_errors
where slot_at between %(first)s and %(last)s and product_id = any(%(products)s)
group by 1, 2 order by 1, 2
"""
JUDGED_ENDPOINTS = ("book", "ticker")
# The trade tape, judged by trade id (the exchange numbers its prints without gaps): between the oldest and the newest
# print landed per product, every id is landed or inside a range recorded as given up (`first_trade_id` ..
# `last_trade_id` of a `trades` error row), and no print landed inside a range given up. Counts are bigint (a sum
# of bigints is numeric, which the JSON report would write as a string).
_TAPE = """
with landed as (
    select product_id, trade_id, lead(trade_id) over (partition by product_id order by trade_id) as next_id
    from raw.coinbase_trades where product_id = any(%(products)s)
),
holes as (
    select product_id, trade_id + 1 as first_missing, next_id - 1 as last_missing from landed
    where next_id > trade_id + 1
),
given_up as (
    select product_id, first_trade_id, last_trade_id from raw.coinbase_ingest_errors
    where endpoint = 'trades' and first_trade_id is not null and product_id = any(%(products)s)
)
select
    (select count(*) from landed) as prints_landed,
    (select count(*) from given_up) as trade_ranges_given_up,
    (select coalesce(sum(last_trade_id - first_trade_id + 1), 0)::bigint from given_up) as trade_ids_given_up,
    (select coalesce(sum(h.last_missing - h.first_missing + 1), 0)::bigint from holes h
     where not exists (select 1 from given_up g where g.product_id = h.product_id
                       and g.first_trade_id <= h.first_missing and g.last_trade_id >= h.last_missing))
        as trade_ids_unaccounted,
    (select count(*) from raw.coinbase_trades t join given_up g
       on t.product_id = g.product_id and t.trade_id between g.first_trade_id and g.last_trade_id)
        as prints_inside_given_up_ranges
"""
_UNACCOUNTED_SAMPLE = """
select p.product_id, s.slot_at, e.endpoint
from unnest(%(products)s::text[]) as p (product_id)
cross join generate_series(%(first)s::timestamptz, %(last)s::timestamptz, %(step)s::interval) as s (slot_at)
cross join (values ('book'), ('ticker')) as e (endpoint)
where not exists (select 1 from raw.coinbase_book_snapshots b
                  where e.endpoint = 'book' and (b.product_id, b.slot_at) = (p.product_id, s.slot_at))
  and not exists (select 1 from raw.coinbase_tickers t
                  where e.endpoint = 'ticker' and (t.product_id, t.slot_at) = (p.product_id, s.slot_at))
  and not exists (select 1 from raw.coinbase_ingest_errors r
                  where (r.product_id, r.slot_at, r.endpoint) = (p.product_id, s.slot_at, e.endpoint))
order by 2, 1, 3 limit 20
"""


def sweep_gaps(settings: Settings, through: datetime) -> int:
    """The gap sweep up to `through`, as the monitor DAG runs it (role crypto_loader)."""
    from crypto_insights.landing.accounting import account_gaps

    conn = psycopg2.connect(**endpoint("loader").connect_kwargs())
    try:
        return account_gaps(conn, settings, through)
    finally:
        conn.close()


def count(settings: Settings, first: datetime, last: datetime) -> dict[str, Any]:
    """The ledger of slots `first`..`last` (inclusive) for the configured products."""
    params = {
        "products": list(settings.product_ids),
        "first": first,
        "last": last,
        "step": timedelta(seconds=settings.ingest.slot_seconds),
        "spooled": timedelta(seconds=SPOOLED_AFTER_S),
    }
    conn = psycopg2.connect(**endpoint("loader").connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(_LEDGER, params)
            names = [d[0] for d in cur.description]
            ledger: dict[str, Any] = dict(zip(names, cur.fetchone(), strict=True))
            cur.execute(_ERRORS_BY_KIND, params)
            by_kind: dict[str, dict[str, int]] = {}
            others: dict[str, dict[str, int]] = {}
            for kind, endpoint_name, n in cur.fetchall():
                (by_kind if endpoint_name in JUDGED_ENDPOINTS else others).setdefault(kind, {})[endpoint_name] = n
            ledger["errors_by_kind"] = by_kind
            ledger["errors"] = sum(sum(v.values()) for v in by_kind.values())
            ledger["other_endpoints_errors_by_kind"] = others  # endpoints the ledger does not judge (yet)
            cur.execute(_TAPE, params)
            ledger.update(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
            if ledger["unaccounted"]:
                cur.execute(_UNACCOUNTED_SAMPLE, params)
                ledger["unaccounted_sample"] = [f"{p} {s.isoformat()} {e}" for p, s, e in cur.fetchall()]
    finally:
        conn.close()
    ledger["landed_pct"] = round(100 * ledger["landed"] / ledger["expected"], 2) if ledger["expected"] else None
    return ledger


def verdict(ledger: dict[str, Any]) -> list[str]:
    """What broke the promise that nothing is lost; empty when it held."""
    judged = ("unaccounted", "duplicates", "false_errors", "trade_ids_unaccounted", "prints_inside_given_up_ranges")
    return [f"{name} = {ledger[name]}" for name in judged if ledger.get(name)]
