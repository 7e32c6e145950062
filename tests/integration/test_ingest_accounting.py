"""Every (product, slot, endpoint) ends landed or recorded with its reason, exactly once.

Real PostgreSQL, the real offline exchange over HTTP, the real landing code; faults injected on the exchange.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowException
from tests.integration.landing_helpers import current_slot, lander_for, rows

from crypto_insights.airflow.operators import CoinbaseLandWindowOperator
from crypto_insights.config import load_settings
from crypto_insights.landing.batch import SlotBatch

SETTINGS = load_settings()
PRODUCTS = SETTINGS.product_ids
N = len(PRODUCTS)
STEP = timedelta(seconds=SETTINGS.ingest.slot_seconds)


@pytest.fixture
def lander(exchange, warehouse_db, monkeypatch):
    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    lander = lander_for(warehouse_db)
    yield lander
    lander.close()


def accounting(db: str, first, last) -> dict[str, int]:
    """Keys (product, slot, endpoint) in [first, last] by outcome: landed, an error kind, both, or neither."""
    statement = """
        with expected as (
            select p.product_id, s.slot_at, e.endpoint
            from unnest(%s::text[]) as p (product_id)
            cross join generate_series(%s::timestamptz, %s::timestamptz, %s::interval) as s (slot_at)
            cross join (values ('book'), ('ticker')) as e (endpoint)
        ),
        landed as (
            select product_id, slot_at, 'book' as endpoint from raw.coinbase_book_snapshots
            union all
            select product_id, slot_at, 'ticker' from raw.coinbase_tickers
        )
        select case
                   when l.product_id is not null and err.error_kind is not null then 'landed+error'
                   when l.product_id is not null then 'landed'
                   when err.error_kind is not null then err.error_kind
                   else 'unaccounted'
               end,
               count(*)
        from expected as x
        left join landed as l using (product_id, slot_at, endpoint)
        left join raw.coinbase_ingest_errors as err using (product_id, slot_at, endpoint)
        group by 1
    """
    return dict(rows(db, statement, (list(PRODUCTS), first, last, STEP)))


def test_a_late_window_writes_no_error_over_a_landed_slot(lander, warehouse_db) -> None:
    slot = current_slot()
    assert lander.land(slot, now=slot).books == N
    late = lander.land(slot, now=slot + timedelta(minutes=1))  # a restarted trigger reaching the slot again
    assert late.errors == 0 and late.duplicates == 2 * N
    assert accounting(warehouse_db, slot, slot) == {"landed": 2 * N}


def test_a_later_landing_supersedes_the_error_recorded_for_its_slot(lander, warehouse_db) -> None:
    slot = current_slot()
    assert lander.land(slot, now=slot + timedelta(minutes=1)).errors == 2 * N  # recorded as missed first
    assert accounting(warehouse_db, slot, slot) == {"missed_slot": 2 * N}
    report = lander.land(slot, now=slot)  # ... then landed after all (a spooled batch arriving)
    assert (report.books, report.superseded) == (N, 2 * N)
    assert accounting(warehouse_db, slot, slot) == {"landed": 2 * N}


def test_the_gap_sweep_records_exactly_the_slots_no_window_reached(lander, warehouse_db, exchange) -> None:
    start = current_slot() - 6 * STEP
    assert lander.account_gaps(start) == 0  # first sweep: the watermark starts here, nothing before is expected
    lander.land(start + STEP, now=start + STEP)
    exchange.faults.add("/products/ETH-USD/book", "server_error", status=400)
    lander.land(start + 3 * STEP, now=start + 3 * STEP)  # one recorded error; slot +2 and +4 never reached
    assert lander.account_gaps(start + 4 * STEP) == 2 * (2 * N)
    outcome = accounting(warehouse_db, start + STEP, start + 4 * STEP)
    assert outcome == {"landed": 2 * (2 * N) - 1, "bad_request": 1, "missed_slot": 2 * (2 * N)}
    assert lander.account_gaps(start + 4 * STEP) == 0  # idempotent: the watermark moved
    missed = rows(
        warehouse_db,
        "select distinct slot_at from raw.coinbase_ingest_errors where error_kind = 'missed_slot' order by 1",
    )
    assert [m for (m,) in missed] == [start + 2 * STEP, start + 4 * STEP]


def test_a_slow_request_costs_only_its_own_endpoint_and_slot(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/BTC-USD/book", "delay", seconds=30, count=1)
    slot = current_slot() + STEP
    time.sleep(max(0.0, (slot.timestamp() - time.time())))
    started = time.monotonic()
    report = lander.land(slot)
    took = time.monotonic() - started
    assert took < SETTINGS.ingest.slot_deadline_s + 1.5, took  # never the 5 x 10 s of retries
    assert (report.books, report.tickers) == (N - 1, N)
    kind = rows(warehouse_db, "select error_kind from raw.coinbase_ingest_errors where slot_at = %s", (slot,))
    assert kind == [("deadline_exceeded",)]
    nxt = slot + STEP
    time.sleep(max(0.0, nxt.timestamp() - time.time()))
    assert lander.land(nxt).books == N  # the next slot is on time and whole


def test_retry_after_beyond_the_slot_is_recorded_as_throttled_at_once(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/ETH-USD/ticker", "rate_limit", retry_after=60, count=1)
    slot = current_slot()
    started = time.monotonic()
    report = lander.land(slot, now=slot)
    assert time.monotonic() - started < SETTINGS.ingest.slot_deadline_s + 1  # never the 60 s asked for
    assert (report.books, report.tickers) == (N, N - 1)
    found = rows(warehouse_db, "select product_id, endpoint, error_kind, http_status from raw.coinbase_ingest_errors")
    assert found == [("ETH-USD", "ticker", "throttled", 429)]


def test_a_rejected_spooled_batch_is_quarantined_and_blocks_no_fresh_slot(lander, warehouse_db) -> None:
    old = current_slot() - 3 * STEP
    spool = lander.lander.spool
    # a batch the database refuses (a check constraint), and a spool file that is not a batch at all
    bad = SlotBatch(slot_at=old.isoformat(), source="simulated")
    bad.tickers = [
        {
            "product_id": "BTC-USD",
            "slot_at": old.isoformat(),
            "source": "not-a-source",
            "trade_id": 1,
            "price": "1",
            "size": "1",
            "bid": "1",
            "ask": "1",
            "volume": "1",
            "exchange_time": "x",
            "requested_at": old.isoformat(),
            "received_at": old.isoformat(),
        }
    ]
    spool.save(bad)
    spool.folder.joinpath("00000000T000000-garbage.json").write_text("{not json")
    slot = current_slot()
    report = lander.land(slot, now=slot)
    assert (report.books, report.tickers, report.quarantined, report.replayed) == (N, N, 2, 0)
    assert spool.pending() == [] and len(spool.quarantined()) == 2
    assert all(p.with_suffix(".reason").read_text().strip() for p in spool.quarantined())
    recorded = rows(
        warehouse_db, "select product_id, slot_at, endpoint, error_kind, reason from raw.coinbase_ingest_errors"
    )
    assert [(p, s, e, k) for p, s, e, k, _ in recorded] == [("BTC-USD", old, "ticker", "quarantined")]
    assert "CheckViolation" in recorded[0][4]
    # and every later call lands normally
    assert lander.land(slot + STEP, now=slot + STEP).books == N


def test_the_operator_fails_so_airflow_retries_when_a_slot_was_spooled(lander, warehouse_db, pg) -> None:
    slot = current_slot()
    pg.stop()
    try:
        spooled = lander.land(slot, now=slot)
    finally:
        pg.start()
    assert spooled.spooled
    operator = CoinbaseLandWindowOperator(task_id="land_window")
    with pytest.raises(AirflowException, match="kept in the spool"):
        operator.execute_complete({}, {"status": "success", "reports": [spooled.as_dict()]})
    landed = lander.land(slot + STEP, now=slot + STEP)  # the next run lands the spooled slot first
    assert landed.replayed == 1
    assert accounting(warehouse_db, slot, slot + STEP) == {"landed": 2 * (2 * N)}
