"""Every data-quality rule fires, is counted exactly in `fct_data_quality`, and agrees with dbt's warn tests.

Fifteen slots of small hand-made books and tickers for SOL-USD and DOGE-USD (and one unconfigured product) are
landed by the real landing code (`build_batch`, `missed_slot_batch`, `quarantined_batch`, `CopyWriter`), with
profile entries no edge reduction writes appended to one landed book, and one error row inserted for a slot that
landed. Between them they break every drop rule and every warn rule, and record every ingest-accounting kind. One
real `dbt build` (unit tests excluded: the KPI test runs them) looks at all of it, then:

- `fct_data_quality` is compared row by row (every rule, zeros included) with counts made here, independently,
  from the rows handed to the landing: rows checked, dropped and warned, and per fetch entity the slots expected
  (landed + failed), landed and the completeness;
- the `severity: warn` tests (`not_flagged` on `int_prices_flagged`) report as many rows as the mart's rows_warned;
- the landing-contract warn tests report exactly the broken slots, and the cross-layer reconciliation fails when a
  layer is tampered with.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import psycopg2
import pytest
from tests.integration.landing_helpers import data_quality

from crypto_insights.coinbase.errors import (
    DeadlineExceeded,
    ExchangeUnavailable,
    InvalidPayload,
    MalformedPayload,
    Throttled,
)
from crypto_insights.coinbase.fetch import SnapshotResult
from crypto_insights.coinbase.models import BookResponse, TickerResponse
from crypto_insights.config import load_settings
from crypto_insights.landing.batch import SlotBatch, build_batch, missed_slot_batch, quarantined_batch
from crypto_insights.landing.copy_writer import CopyWriter
from crypto_insights.postgres.connection import endpoint
from crypto_insights.transform.dbt_runner import run_dbt

pytestmark = pytest.mark.integration

SETTINGS = load_settings()
SOL, DOGE, UNCONFIGURED = "SOL-USD", "DOGE-USD", "NOTLISTED-USD"
assert UNCONFIGURED not in SETTINGS.product_ids
# the prices below are chosen against these ranges: SOL 150 and DOGE 0.15 inside, SOL 4 and DOGE 2 outside
assert SETTINGS.symbol(SOL).price_min > 4 and SETTINGS.symbol(SOL).price_max > 152
assert SETTINGS.symbol(DOGE).price_min < Decimal("0.147") and SETTINGS.symbol(DOGE).price_max < 2
START = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
SLOTS = 15  # five 30 s windows
WHOLE_HISTORY_MINUTES = 1440  # the lookback of the build: incremental models and __recent__ tests see every slot
TOLERANCE_PCT = Decimal(1)  # dbt var ticker_mid_tolerance_pct

# The rules of the data-quality mart (docs/architecture.md#data-quality): entity -> rule -> kind.
ROW_RULES = {
    "book_snapshot": {"product_not_configured": "drop", "crossed_book": "drop", "mid_outside_price_range": "warn"},
    "book_level": dict.fromkeys(
        ("price_null", "price_not_numeric", "price_not_positive", "size_null", "size_not_numeric", "size_not_positive"),
        "drop",
    ),
    "book_bucket": dict.fromkeys(
        (
            "side_not_bid_ask",
            "bucket_not_integer",
            "size_not_numeric",
            "size_not_positive",
            "notional_not_numeric",
            "notional_not_positive",
            "level_count_not_positive",
        ),
        "drop",
    ),
    "ticker": {
        "product_not_configured": "drop",
        "price_not_numeric": "drop",
        "price_not_positive": "drop",
        "price_outside_range": "warn",
        "ticker_price_vs_mid": "warn",
    },
}
LISTED_ERROR_KINDS = (
    "missed_slot",
    "deadline_exceeded",
    "throttled",
    "quarantined",
    "exchange_unavailable",
    "malformed_payload",
    "invalid_payload",
)
FETCH_RULES = {"book_fetch": (*LISTED_ERROR_KINDS, "invalid_book"), "ticker_fetch": LISTED_ERROR_KINDS}


def slot_at(slot: int) -> datetime:
    return START + timedelta(seconds=10 * slot)


def window_of(at: datetime) -> datetime:
    return at - timedelta(seconds=at.timestamp() % SETTINGS.ingest.window_seconds)


# ----------------------------------------------------------------------------------------------------- the data
def ladder(center: int, tick: str, size: str, *, side: str, count: int = 10) -> list[list]:
    """`count` valid levels a side around `center` ticks: bids below it, best first; asks above it."""
    step = -1 if side == "bid" else 1
    return [[str((center + step * i) * Decimal(tick)), size, 1] for i in range(1, count + 1)]


SOL_BIDS, SOL_ASKS = ladder(15_000, "0.01", "1.000", side="bid"), ladder(15_000, "0.01", "1.000", side="ask")
DOGE_BIDS, DOGE_ASKS = ladder(15_000, "0.00001", "1000.0", side="bid"), ladder(15_000, "0.00001", "1000.0", side="ask")
NORMAL = {SOL: (SOL_BIDS, SOL_ASKS, "150.00"), DOGE: (DOGE_BIDS, DOGE_ASKS, "0.15000")}

# Profile entries the edge reduction never writes, appended to SOL's book of slot 2 (its real buckets stay whole).
BAD_BUCKETS = [
    ["buy", 0, "1", "150", 1],  # side_not_bid_ask
    [None, 0, "1", "150", 1],  # side_not_bid_ask
    ["sell", "x", "abc", None, 0],  # side_not_bid_ask: the first rule broken counts
    ["bid", "x", "1", "150", 1],  # bucket_not_integer
    ["ask", -1, "1", "150", 1],  # bucket_not_integer
    ["bid", 3, "abc", "150", 1],  # size_not_numeric
    ["ask", 3, "0", "150", 1],  # size_not_positive
    ["bid", 4, "1", None, 1],  # notional_not_numeric
    ["ask", 4, "1", "-150", 1],  # notional_not_positive
    ["bid", 5, "1", "150", 0],  # level_count_not_positive
    ["ask", 5, "1", "150", "two"],  # level_count_not_positive
]


def _book(pid: str, at: datetime, bids: list, asks: list) -> BookResponse:
    return BookResponse(
        product_id=pid,
        bids=bids,
        asks=asks,
        sequence=int(at.timestamp()),
        exchange_time=at.isoformat().replace("+00:00", "Z"),
        auction_mode=None,
        auction=None,
        requested_at=at,
        received_at=at,
        body_bytes=1,
    )


def _ticker(pid: str, at: datetime, price: str) -> TickerResponse:
    return TickerResponse(
        product_id=pid,
        price=price,
        size="1",
        bid="1",
        ask="1",
        volume="100",
        trade_id=1,
        time=at.isoformat().replace("+00:00", "Z"),
        requested_at=at,
        received_at=at,
    )


def _result(pid: str, at: datetime, bids=None, asks=None, price=None, *, book_error=None, ticker_error=None):
    book = None if book_error is not None else _book(pid, at, bids, asks)
    ticker = None if ticker_error is not None else _ticker(pid, at, price)
    return SnapshotResult(product_id=pid, book=book, ticker=ticker, book_error=book_error, ticker_error=ticker_error)


def _normal(pid: str, at: datetime, price: str | None = None):
    bids, asks, mid_price = NORMAL[pid]
    return _result(pid, at, bids, asks, price or mid_price)


def slot_batches(slot: int) -> list[SlotBatch]:
    """What the landing writes for `slot`: each slot breaks some rules (see the comments)."""
    at = slot_at(slot)
    url = "http://exchange/products"
    sol, doge = _normal(SOL, at), _normal(DOGE, at)
    extra: list = []
    if slot == 0:  # a ticker exactly 1 % below mid: not warned; a negative ticker price: dropped
        sol, doge = _normal(SOL, at, "148.50"), _normal(DOGE, at, "-0.5")
    elif slot == 1:  # every level rule, inside the kept rows but below the touch
        bad_bids = [
            [None, "1.000", 1],
            ["abc", "1.000", 1],
            ["-149.00", "1.000", 1],
            ["0", "1.000", 1],
            ["149.50", None, 1],
            ["149.49", "x", 1],
            ["x", "y", 1],
        ]
        bad_asks = [["150.50", "0", 1], ["150.51", "-2", 1], ["150.52", "", 1]]
        sol = _result(SOL, at, SOL_BIDS[:2] + bad_bids + SOL_BIDS[2:], SOL_ASKS[:3] + bad_asks + SOL_ASKS[3:], "150.00")
    elif slot == 2:  # DOGE's first bid is not a number (the touch is the next one); SOL's bad buckets below
        doge = _result(DOGE, at, [["n/a", "5.0", 1], *DOGE_BIDS], DOGE_ASKS, "0.15000")
    elif slot == 3:  # a crossed DOGE book (its ticker is then not checked against a mid)
        crossed_bids = ladder(15_011, "0.00001", "1000.0", side="bid")
        doge = _result(DOGE, at, crossed_bids, DOGE_ASKS, "0.15005")
    elif slot == 4:  # an unconfigured product's book and ticker
        extra = [_result(UNCONFIGURED, at, [["0.50", "10", 1]], [["0.60", "10", 1]], "0.55")]
    elif slot == 5:  # SOL at 4.00, below its price_min of 5: the mid and the ticker are warned
        sol = _result(
            SOL, at, ladder(400, "0.01", "1.000", side="bid"), ladder(400, "0.01", "1.000", side="ask"), "4.00"
        )
    elif slot == 6:  # exactly 1 % above mid: not warned; 2 % below: warned
        sol, doge = _normal(SOL, at, "151.50"), _normal(DOGE, at, "0.14700")
    elif slot == 7:  # one tick more than 1 % above mid: warned; a ticker price that is not a number: dropped
        sol, doge = _normal(SOL, at, "151.51"), _normal(DOGE, at, "n/a")
    elif slot == 8:  # one tick more than 1 % below mid: warned; a zero price: dropped
        sol, doge = _normal(SOL, at, "148.49"), _normal(DOGE, at, "0")
    elif slot == 9:  # SOL's book and ticker failed; DOGE's ticker out of range (and far from its mid)
        sol = _result(
            SOL,
            at,
            book_error=ExchangeUnavailable(url, f"{url}/{SOL}/book", "HTTP 503", attempts=5),
            ticker_error=InvalidPayload(SOL, "ticker", "field 'price' missing", "{}"),
        )
        doge = _normal(DOGE, at, "2.00000")
    elif slot == 10:  # the slot's deadline, a long Retry-After, a book that cannot be reduced, a body not JSON
        sol = _result(
            SOL,
            at,
            book_error=DeadlineExceeded(f"{url}/{SOL}/book", "read timeout", attempts=2),
            ticker_error=Throttled(f"{url}/{SOL}/ticker", 30.0, 2.5, attempts=1),
        )
        doge = _result(
            DOGE, at, [], DOGE_ASKS, ticker_error=MalformedPayload(f"{url}/{DOGE}/ticker", b"<html>", "not JSON")
        )
    elif slot == 11:  # nobody fetched this slot
        return [missed_slot_batch(at, (SOL, DOGE), "simulated", "slot not fetched: test")]
    elif slot == 12:  # the database rejected the slot's batch
        return [quarantined_batch(build_batch(at, [sol, doge], SETTINGS, "simulated"), "rejected: test")]
    elif slot == 13:  # SOL: no valid kept level on either side (valid ones lie deeper); DOGE: nothing at all
        sol = _result(SOL, at, [["bad", "1.000", 1]] * 100 + SOL_BIDS, [["150.50", "0", 1]] * 100 + SOL_ASKS, "150.00")
        batch = build_batch(at, [sol], SETTINGS, "simulated")
        return [batch]
    batch = build_batch(at, [sol, doge, *extra], SETTINGS, "simulated")
    if slot == 2:
        next(b for b in batch.books if b["product_id"] == SOL)["profile"].extend(BAD_BUCKETS)
    return [batch]


# An error row for a slot whose book landed (the landing never writes one): the book counts, the error does not.
STRAY_ERROR = (SOL, 14, "book", "exchange_unavailable")


def land(db: str) -> list[SlotBatch]:
    batches = [batch for slot in range(SLOTS) for batch in slot_batches(slot)]
    writer = CopyWriter(lambda: psycopg2.connect(**endpoint("loader", db).connect_kwargs()))
    try:
        for batch in batches:
            writer.write(batch)
    finally:
        writer.close()
    pid, slot, kind_endpoint, kind = STRAY_ERROR
    conn = psycopg2.connect(**endpoint("loader", db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into raw.coinbase_ingest_errors (product_id, slot_at, endpoint, source, error_kind, "
                "reason) values (%s, %s, %s, 'simulated', %s, 'test: a stray error row')",
                (pid, slot_at(slot), kind_endpoint, kind),
            )
    finally:
        conn.close()
    return batches


# ----------------------------------------------------------------------------------- the independent expectation
def _decimal(text: object) -> Decimal | None:
    """A number as dbt reads one (sign, digits, point, exponent; no NaN/Infinity), or None."""
    if not isinstance(text, str):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and "_" not in text else None


def level_rule(row: list) -> str | None:
    price, size = row[0], row[1]
    if price is None:
        return "price_null"
    if _decimal(price) is None:
        return "price_not_numeric"
    if _decimal(price) <= 0:
        return "price_not_positive"
    if size is None:
        return "size_null"
    if _decimal(size) is None:
        return "size_not_numeric"
    return "size_not_positive" if _decimal(size) <= 0 else None


def bucket_rule(entry: list) -> str | None:
    side, bucket, size, notional, level_count = entry
    if side not in ("bid", "ask"):
        return "side_not_bid_ask"
    if not str(bucket).isdigit():
        return "bucket_not_integer"
    if _decimal(size) is None:
        return "size_not_numeric"
    if _decimal(size) <= 0:
        return "size_not_positive"
    if _decimal(notional) is None:
        return "notional_not_numeric"
    if _decimal(notional) <= 0:
        return "notional_not_positive"
    return None if str(level_count).isdigit() and int(level_count) > 0 else "level_count_not_positive"


def book_mid(book: dict) -> Decimal | None:
    """The mid of the valid kept levels, or None when a side has none or the book is crossed."""
    valid = {side: [_decimal(r[0]) for r in book[side] if level_rule(r) is None] for side in ("bids", "asks")}
    if not valid["bids"] or not valid["asks"] or max(valid["bids"]) >= min(valid["asks"]):
        return None
    return (max(valid["bids"]) + min(valid["asks"])) / 2


@dataclass
class Cell:
    checked: int = 0
    dropped: Counter = field(default_factory=Counter)
    warned: Counter = field(default_factory=Counter)
    landed: int = 0


def expected_rows(batches: list[SlotBatch]) -> dict[tuple, tuple]:
    """Every row fct_data_quality must hold: (window, product, entity, rule) -> (kind, checked, dropped, warned,
    slots_expected, slots_landed, completeness)."""
    configured = set(SETTINGS.product_ids)
    ranges = {s.product_id: (s.price_min, s.price_max) for s in SETTINGS.symbols}
    cells: dict[tuple, Cell] = defaultdict(Cell)
    mids: dict[tuple, Decimal | None] = {}
    landed: set[tuple] = set()
    errors: dict[tuple, str] = {}
    for batch in batches:
        for book in batch.books:
            pid, at = book["product_id"], datetime.fromisoformat(book["slot_at"])
            window = window_of(at)
            landed.add((pid, at, "book_fetch"))
            snapshot = cells[(window, pid, "book_snapshot")]
            snapshot.checked += 1
            if pid not in configured:
                snapshot.dropped["product_not_configured"] += 1
                continue
            for row in book["bids"] + book["asks"]:
                cells[(window, pid, "book_level")].checked += 1
                cells[(window, pid, "book_level")].dropped[level_rule(row)] += 1
            for entry in book["profile"]:
                cells[(window, pid, "book_bucket")].checked += 1
                cells[(window, pid, "book_bucket")].dropped[bucket_rule(entry)] += 1
            mids[(pid, at)] = mid = book_mid(book)
            if mid is None:
                snapshot.dropped["crossed_book"] += 1
            elif not ranges[pid][0] <= mid <= ranges[pid][1]:
                snapshot.warned["mid_outside_price_range"] += 1
        for error in batch.errors:
            errors[(error["product_id"], datetime.fromisoformat(error["slot_at"]), error["endpoint"] + "_fetch")] = (
                error["error_kind"]
            )
    for batch in batches:
        for ticker in batch.tickers:
            pid, at = ticker["product_id"], datetime.fromisoformat(ticker["slot_at"])
            landed.add((pid, at, "ticker_fetch"))
            cell = cells[(window_of(at), pid, "ticker")]
            cell.checked += 1
            price = _decimal(ticker["price"])
            if pid not in configured:
                cell.dropped["product_not_configured"] += 1
            elif price is None:
                cell.dropped["price_not_numeric"] += 1
            elif price <= 0:
                cell.dropped["price_not_positive"] += 1
            else:
                if not ranges[pid][0] <= price <= ranges[pid][1]:
                    cell.warned["price_outside_range"] += 1
                mid = mids.get((pid, at))
                if mid is not None and abs(price - mid) > mid * TOLERANCE_PCT / 100:
                    cell.warned["ticker_price_vs_mid"] += 1
    pid, slot, endpoint_name, kind = STRAY_ERROR
    errors[(pid, slot_at(slot), endpoint_name + "_fetch")] = kind
    for key in landed | set(errors):
        pid, at, entity = key
        cell = cells[(window_of(at), pid, entity)]
        cell.checked += 1  # slots expected = landed + failed
        if key in landed:
            cell.landed += 1
        else:
            cell.dropped[errors[key]] += 1
    rows = {}
    for (window, pid, entity), cell in cells.items():
        if entity in FETCH_RULES:
            rules = dict.fromkeys((*FETCH_RULES[entity], *cell.dropped), "drop")
            completeness = (Decimal(cell.landed) / cell.checked).quantize(Decimal("1e-10"), ROUND_HALF_UP)
            slots = (cell.checked, cell.landed, completeness)
        else:
            rules, slots = ROW_RULES[entity], (None, None, None)
            assert set(cell.dropped) - {None} <= set(rules), f"the test breaks a rule the mart does not know: {cell}"
        for rule, kind in rules.items():
            rows[(window, pid, entity, rule)] = (kind, cell.checked, cell.dropped[rule], cell.warned[rule], *slots)
    return rows


# ------------------------------------------------------------------------------------------------------ helpers
def dbt(db: str, target: Path, *args: str) -> tuple[float, dict[str, dict]]:
    """Run dbt over the whole history; returns the seconds taken and each test's result by name."""
    started = time.perf_counter()
    result = run_dbt(
        [*args, "--exclude-resource-type", "unit_test"],
        dbname=db,
        lookback_minutes=WHOLE_HISTORY_MINUTES,
        target_path=target,
    )
    elapsed = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    tests = {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.")}
    return elapsed, {"returncode": result.returncode, "log": result.stdout[-6000:], "tests": tests}


# -------------------------------------------------------------------------------------------------------- tests
def test_every_rule_fires_is_counted_exactly_and_reconciles(warehouse: str, tmp_path: Path) -> None:
    batches = land(warehouse)
    elapsed, run = dbt(warehouse, tmp_path, "build")
    print(f"dbt build of {SLOTS} slots: {elapsed:.1f} s")
    assert run["returncode"] == 0, run["log"]
    expected = expected_rows(batches)
    _check_mart(warehouse, expected)
    _check_warn_tests(expected, run["tests"])
    _check_reconciliation_fails_when_a_layer_disagrees(warehouse, tmp_path)


def _check_mart(db: str, expected: dict[tuple, tuple]) -> None:
    actual = data_quality(db)  # what Superset reads
    assert set(actual) == set(expected), (sorted(set(actual) - set(expected)), sorted(set(expected) - set(actual)))
    wrong = {key: (actual[key], value) for key, value in expected.items() if actual[key] != value}
    assert not wrong, wrong

    # every rule of the mart fired at least once (the drop rules, the warn rules, the ingest accounting's kinds)
    fired = {
        (entity, rule) for (_, _, entity, rule), (_, _, dropped, warned, *_) in expected.items() if dropped or warned
    }
    every_rule = {(entity, rule) for entity, rules in ROW_RULES.items() for rule in rules}
    every_rule |= {
        (entity, kind)
        for entity in FETCH_RULES
        for kind in ("missed_slot", "quarantined", "throttled" if entity == "ticker_fetch" else "deadline_exceeded")
    }
    every_rule |= {
        ("book_fetch", "exchange_unavailable"),
        ("book_fetch", "invalid_book"),
        ("ticker_fetch", "malformed_payload"),
        ("ticker_fetch", "invalid_payload"),
    }
    assert every_rule <= fired, every_rule - fired

    # the window that lost SOL's book to the exchange (slot 9), the deadline (10) and a missed slot (11)
    sol_books = {
        tuple(cells[4:])
        for (window, product, entity, _), cells in actual.items()
        if (product, entity, window) == (SOL, "book_fetch", slot_at(9))
    }
    assert sol_books == {(3, 0, 0)}


def _check_warn_tests(expected: dict[tuple, tuple], tests: dict[str, dict]) -> None:
    # the dashboards' warn counts and dbt's warn tests count the same rows (one definition: int_prices_flagged)
    warned_in_mart: Counter = Counter()
    for (_, _, _, rule), (kind, _, _, warned, *_) in expected.items():
        if kind == "warn":
            warned_in_mart[rule] += warned
    assert warned_in_mart == {"mid_outside_price_range": 1, "price_outside_range": 2, "ticker_price_vs_mid": 4}
    for rule, count in warned_in_mart.items():
        (result,) = [r for name, r in tests.items() if name.startswith(f"not_flagged_int_prices_flagged_{rule}")]
        assert (result["status"], result["failures"]) == ("warn", count), (rule, result["status"], result["failures"])

    # the landing-contract warn tests name exactly the broken slots; the reconciliation across layers passes
    assert tests["assert_no_error_for_a_landed_slot"]["failures"] == 1  # the stray error row
    assert tests["assert_no_unaccounted_slots"]["failures"] == 2  # DOGE's slot 13, for the book and the ticker
    assert tests["assert_data_quality_reconciles_across_layers"]["status"] == "pass"


def _check_reconciliation_fails_when_a_layer_disagrees(db: str, target: Path) -> None:
    conn = psycopg2.connect(**endpoint("transform", db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            # a staged level lost (SOL, slot 0), a ticker drop over-counted (DOGE, slot 6), a warning lost (SOL, slot 7)
            cur.execute(
                "delete from staging.stg_coinbase__book_levels where (product_id, slot_at, side, level_rank) "
                "= (%s, %s, 'bid', 1)",
                (SOL, slot_at(0)),
            )
            assert cur.rowcount == 1
            cur.execute(
                "update marts.fct_data_quality set rows_dropped = rows_dropped + 1 where product_id = %s "
                "and window_start = %s and rule = 'price_not_numeric' and entity = 'ticker'",
                (DOGE, slot_at(6)),
            )
            assert cur.rowcount == 1
            cur.execute(
                "update marts.fct_data_quality set rows_warned = 0 where product_id = %s "
                "and window_start = %s and rule = 'ticker_price_vs_mid'",
                (SOL, slot_at(6)),
            )
            assert cur.rowcount == 1
    finally:
        conn.close()
    _, run = dbt(db, target, "test", "--select", "assert_data_quality_reconciles_across_layers")
    assert run["returncode"] == 1, run["log"]
    result = run["tests"]["assert_data_quality_reconciles_across_layers"]
    assert (result["status"], result["failures"]) == ("fail", 3), run["log"]
