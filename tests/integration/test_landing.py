"""Landing slots from the offline exchange into the raw schema: exact, idempotent, and losing nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tests.integration.landing_helpers import current_slot, lander_for, rows

from crypto_insights.config import load_settings
from crypto_insights.landing.spool import Spool

PRODUCTS = load_settings().product_ids


@pytest.fixture
def lander(exchange, warehouse_db, monkeypatch):
    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    lander = lander_for(warehouse_db)
    yield lander
    lander.close()


def test_one_slot_lands_every_product(lander, warehouse_db) -> None:
    slot = current_slot()
    report = lander.land(slot, now=slot)
    assert (report.books, report.tickers, report.errors, report.duplicates) == (len(PRODUCTS), len(PRODUCTS), 0, 0)
    landed = rows(
        warehouse_db,
        "select product_id, source, jsonb_array_length(bids), jsonb_array_length(asks), "
        "bid_levels_total, jsonb_array_length(profile) > 0 "
        "from raw.coinbase_book_snapshots where slot_at = %s order by product_id",
        (slot,),
    )
    assert [r[0] for r in landed] == sorted(PRODUCTS)
    for product_id, source, bids, asks, bid_total, has_profile in landed:
        assert source == "simulated"
        assert bids >= 100 and asks >= 100, product_id  # more when the top rows do not fill the largest order
        assert bid_total > 100 and has_profile
    tickers = rows(warehouse_db, "select count(*) from raw.coinbase_tickers where slot_at = %s", (slot,))
    assert tickers == [(len(PRODUCTS),)]


def test_relanding_a_slot_changes_nothing(lander, warehouse_db) -> None:
    slot = current_slot()
    lander.land(slot, now=slot)
    before = rows(warehouse_db, "select product_id, sequence, bids from raw.coinbase_book_snapshots order by 1")
    # `now=slot`: fetched again however long the first landing took (a late slot would be recorded as missed)
    again = lander.land(slot, now=slot)
    assert (again.books, again.tickers, again.duplicates) == (0, 0, 2 * len(PRODUCTS))
    assert rows(warehouse_db, "select product_id, sequence, bids from raw.coinbase_book_snapshots order by 1") == before


def test_database_down_mid_window_loses_nothing_and_duplicates_nothing(lander, warehouse_db, pg) -> None:
    first = current_slot()
    assert lander.land(first, now=first).books == len(PRODUCTS)
    pg.stop()
    try:
        second = lander.land(first + timedelta(seconds=10), now=first + timedelta(seconds=10))
        assert second.spooled and second.books == 0
        assert len(lander.lander.spool.pending()) == 1
    finally:
        pg.start()
    third = lander.land(first + timedelta(seconds=20), now=first + timedelta(seconds=20))
    assert third.replayed == 1 and third.books == len(PRODUCTS)
    assert lander.lander.spool.pending() == []
    counts = rows(
        warehouse_db,
        "select slot_at, count(*), count(distinct product_id) from raw.coinbase_book_snapshots group by 1 order by 1",
    )
    assert [(c, d) for _, c, d in counts] == [(len(PRODUCTS), len(PRODUCTS))] * 3


def test_a_late_slot_is_a_recorded_gap_not_invented_data(lander, warehouse_db) -> None:
    slot = current_slot() - timedelta(minutes=5)
    report = lander.land(slot)
    assert report.books == 0 and report.errors == 2 * len(PRODUCTS)
    kinds = rows(warehouse_db, "select distinct error_kind from raw.coinbase_ingest_errors where slot_at = %s", (slot,))
    assert kinds == [("missed_slot",)]
    assert rows(warehouse_db, "select count(*) from raw.coinbase_book_snapshots") == [(0,)]


def _errors(db: str, slot) -> dict[tuple[str, str], tuple[str, str]]:
    found = rows(
        db,
        "select product_id, endpoint, error_kind, reason from raw.coinbase_ingest_errors where slot_at = %s",
        (slot,),
    )
    return {(p, e): (k, r) for p, e, k, r in found}


def test_malformed_json_is_recorded_and_blocks_no_other_product(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/ETH-USD/book", "malformed_json")
    slot = current_slot()
    report = lander.land(slot, now=slot)
    assert report.books == len(PRODUCTS) - 1 and report.tickers == len(PRODUCTS)
    errors = _errors(warehouse_db, slot)
    assert list(errors) == [("ETH-USD", "book")]
    assert errors[("ETH-USD", "book")][0] == "malformed_payload"
    excerpt = rows(warehouse_db, "select body_excerpt from raw.coinbase_ingest_errors")[0][0]
    assert excerpt  # what the exchange sent is kept for the investigation


def test_missing_field_is_rejected_naming_it(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/SOL-USD/book", "missing_field", field="bids")
    slot = current_slot()
    lander.land(slot, now=slot)
    kind, reason = _errors(warehouse_db, slot)[("SOL-USD", "book")]
    assert kind == "invalid_payload" and "bids" in reason


def test_unknown_fields_land_in_rescued_data(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/BTC-USD/book", "extra_field")
    exchange.faults.add("/products/BTC-USD/ticker", "extra_field")
    slot = current_slot()
    lander.land(slot, now=slot)
    book = rows(warehouse_db, "select _rescued_data from raw.coinbase_book_snapshots where product_id='BTC-USD'")
    ticker = rows(warehouse_db, "select _rescued_data from raw.coinbase_tickers where product_id='BTC-USD'")
    assert book[0][0] and ticker[0][0]
    others = rows(
        warehouse_db,
        "select count(*) from raw.coinbase_book_snapshots where product_id <> 'BTC-USD' and _rescued_data is not null",
    )
    assert others == [(0,)]


def test_server_errors_are_retried_then_landed(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/ADA-USD/book", "server_error", count=2, status=503)
    slot = current_slot()
    report = lander.land(slot, now=slot)
    assert report.books == len(PRODUCTS) and report.errors == 0


def test_exhausted_retries_are_recorded_as_unavailable(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/DOGE-USD/ticker", "server_error", status=502)
    slot = current_slot()
    lander.land(slot, now=slot)
    kind, reason = _errors(warehouse_db, slot)[("DOGE-USD", "ticker")]
    assert kind == "exchange_unavailable" and "502" in reason
    attempts = rows(warehouse_db, "select attempts from raw.coinbase_ingest_errors")[0][0]
    assert attempts == load_settings().exchange.max_attempts


def test_crossed_and_negative_books_are_landed_as_received_for_dbt_to_judge(lander, warehouse_db, exchange) -> None:
    exchange.faults.add("/products/BTC-USD/book", "crossed_book")
    exchange.faults.add("/products/ETH-USD/book", "negative_size")
    slot = current_slot()
    lander.land(slot, now=slot)
    crossed = rows(warehouse_db, "select product_id from raw.coinbase_book_snapshots where is_crossed")
    assert crossed == [("BTC-USD",)]
    excluded = rows(
        warehouse_db,
        "select bid_levels_excluded + ask_levels_excluded, bids::text || asks::text "
        "from raw.coinbase_book_snapshots where product_id = 'ETH-USD'",
    )
    count, levels = excluded[0]
    assert count > 0 and '"-' in levels  # negative sizes kept verbatim, excluded from the exact totals


def test_spool_survives_a_process_restart(lander, warehouse_db, pg) -> None:
    """A spooled slot is a file: a new process (a new WindowLander) lands it."""
    slot = current_slot()
    pg.stop()
    try:
        report = lander.land(slot, now=slot)  # `now` pinned: a slow stop must not turn the slot into a gap
        assert report.spooled and not report.failures, report
    finally:
        pg.start()
    pending = lander.lander.spool.pending()
    assert len(pending) == 1 and json.loads(pending[0].read_text())["slot_at"] == slot.isoformat()
    fresh = lander_for(warehouse_db)
    try:
        assert fresh.lander.drain() == (1, 0)
    finally:
        fresh.close()
    assert Spool(pending[0].parent).pending() == []
    assert rows(warehouse_db, "select count(*) from raw.coinbase_book_snapshots") == [(len(PRODUCTS),)]
