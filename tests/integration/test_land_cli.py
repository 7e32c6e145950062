"""`crypto-insights land --slot <ISO time>` lands one given slot through the real CLI, exchange and warehouse.

A coming slot is waited for and fetched; a slot that has landed stays as it is when asked again; a past slot that
never landed cannot be fetched again (the exchange serves only the current book), so it is recorded as missed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.landing_helpers import rows

from crypto_insights.config import load_settings
from crypto_insights.landing.slots import next_slot

pytestmark = pytest.mark.integration
PRODUCTS = load_settings().product_ids


def land(exchange, db: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COINBASE_API_URL": exchange.url}
    return subprocess.run(
        [sys.executable, "-m", "crypto_insights.cli", "land", "--db", db, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def slot_rows(db: str, slot_at: datetime) -> tuple[int, int, list[tuple]]:
    books = rows(db, "select count(*) from raw.coinbase_book_snapshots where slot_at = %s", (slot_at,))[0][0]
    tickers = rows(db, "select count(*) from raw.coinbase_tickers where slot_at = %s", (slot_at,))[0][0]
    errors = rows(
        db,
        "select endpoint, error_kind, count(*) from raw.coinbase_ingest_errors where slot_at = %s "
        "group by 1, 2 order by 1, 2",
        (slot_at,),
    )
    return books, tickers, errors


def test_a_coming_slot_is_landed_and_landing_it_again_changes_nothing(exchange, warehouse: str) -> None:
    slot_at = next_slot(datetime.now(UTC) + timedelta(seconds=1), 10)
    first = land(exchange, warehouse, "--slot", slot_at.isoformat())
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(first.stdout.splitlines()[-1])["books"] == len(PRODUCTS)
    assert slot_rows(warehouse, slot_at) == (len(PRODUCTS), len(PRODUCTS), [])

    again = land(exchange, warehouse, "--slot", slot_at.isoformat())  # now past its deadline, or not: either way
    assert again.returncode == 0, again.stderr[-3000:]
    assert slot_rows(warehouse, slot_at) == (len(PRODUCTS), len(PRODUCTS), [])  # no duplicate, no error over it


def test_a_past_slot_that_never_landed_is_recorded_as_missed(exchange, warehouse: str) -> None:
    past = next_slot(datetime.now(UTC), 10) - timedelta(minutes=5)
    done = land(exchange, warehouse, "--slot", past.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    books, tickers, errors = slot_rows(warehouse, past)
    assert (books, tickers) == (0, 0)  # never invented from today's book
    assert errors == [("book", "missed_slot", len(PRODUCTS)), ("ticker", "missed_slot", len(PRODUCTS))]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("2026-11-29T10:00:05+00:00", "slots start every 10 s; the nearest are 2026-11-29T10:00:00+00:00"),
        ("2026-11-29T10:00:10", "give a time zone"),
        ("yesterday", "not an ISO-8601 time"),
    ],
)
def test_a_bad_slot_is_a_one_line_error(exchange, warehouse: str, given: str, says: str) -> None:
    done = land(exchange, warehouse, "--slot", given)
    assert done.returncode != 0 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
