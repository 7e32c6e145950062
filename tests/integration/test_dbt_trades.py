"""dbt on the trade tape: staging, the 30 s / daily / whale marts and data quality against an independent computation.

Books and tickers of SOL-USD and DOGE-USD are landed by the real landing code (`build_batch` + `CopyWriter`) for 24
slots; prints are inserted into `raw.coinbase_trades` as the landing would write them (one row per print, strings as
received, `slot_at` = the slot whose landing fetched it), with the two prints of the real capture
`tests/fixtures/coinbase/trades_BTC-USD.json` among them. dbt builds three times incrementally (a one-minute
lookback, shorter than the data; the last build takes in two prints fetched long after they were traded, as the
landing's backfill does), then rebuilds everything from scratch, which must give the same tables. Every figure is
checked against a Decimal computation from the raw rows made here:

- fct_trades_30s / fct_trades_daily: prints, volumes, VWAP by taker side, order-flow imbalance and the largest print
  (to 1e-10), with the maker side inverted: a 'sell' print is taker buy volume (pinned on the real capture);
- fct_order_book_30s carries each window's trade figures (a window without prints keeps its row);
- fct_whale_trades: prints at or over the coin's floor, or k × the median notional of the lookback before their
  window (a print exactly at k × median is a whale, one 0.001 under is not), with the rule that fired;
- fct_data_quality: every trade drop rule and the warn rule are counted exactly, per window of the fetching slot,
  the trades endpoint's failures by kind, and dbt's warn test reports as many prints as the mart.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation, getcontext
from pathlib import Path

import psycopg2
import pytest
from tests.integration.landing_helpers import data_quality, query
from tests.support.coinbase_fixtures import coinbase_capture

from crypto_insights.coinbase.errors import ExchangeUnavailable
from crypto_insights.coinbase.fetch import SnapshotResult
from crypto_insights.coinbase.models import BookResponse, TickerResponse
from crypto_insights.config import load_settings
from crypto_insights.landing.batch import build_batch
from crypto_insights.landing.copy_writer import CopyWriter
from crypto_insights.landing.partitions import ensure_partitions
from crypto_insights.postgres.connection import endpoint
from crypto_insights.transform.dbt_runner import run_dbt
from crypto_insights.transform.dbt_vars import dbt_vars

pytestmark = pytest.mark.integration
getcontext().prec = 60

SETTINGS = load_settings()
VARS = dbt_vars(SETTINGS)
FLOOR = {p["product_id"]: Decimal(p["whale_trade_floor_usd"]) for p in VARS["products"]}
K = Decimal(VARS["whale_trade_k"])
WHALE_LOOKBACK = timedelta(minutes=int(VARS["whale_trade_lookback_minutes"]))
WARN_PCT = Decimal(VARS["trade_mid_warn_pct"])
SLOT_SECONDS, WINDOW_SECONDS = SETTINGS.ingest.slot_seconds, SETTINGS.ingest.window_seconds
SOL, DOGE, BTC, UNCONFIGURED = "SOL-USD", "DOGE-USD", "BTC-USD", "NOTLISTED-USD"
assert {SOL, DOGE, BTC} <= set(SETTINGS.product_ids) and UNCONFIGURED not in SETTINGS.product_ids
assert WHALE_LOOKBACK >= timedelta(minutes=5), "the whale medians below expect every earlier print in the lookback"
START = datetime(2026, 6, 19, 16, 40, tzinfo=UTC)  # the capture's prints (16:43:33) fall in slot 22's fetch
SLOTS = 24  # eight 30 s windows
STAGES = (range(0, 9), range(9, 16), range(16, SLOTS))  # slots landed before each incremental build
LOOKBACK_MINUTES = 1
WHOLE_HISTORY_MINUTES = 1440
TOLERANCE = Decimal("1e-10")

MID = {SOL: Decimal("150.00"), DOGE: Decimal("0.15000")}
SOL_BOOK_FAILED_SLOT, DOGE_CROSSED_SLOT = 13, 9  # prints fetched then have no uncrossed mid: not checked
TARGET_WINDOW = START + timedelta(seconds=180)  # SOL's reference median here is exactly 450 (see sol_prints)
LATE_SLOT = 20  # two SOL prints traded in the first window are fetched only then (a backfill)
# the trades endpoint's failures: (product, slot, error_kind)
TRADE_FETCH_ERRORS = (
    (SOL, 5, "exchange_unavailable"),
    (SOL, 6, "deadline_exceeded"),
    (DOGE, 7, "trades_gap_unrecoverable"),
    (DOGE, 16, "exchange_unavailable"),
)
# the rules of the trade entities in fct_data_quality (docs/architecture.md#data-quality)
TRADE_RULES = {
    "product_not_configured": "drop",
    "price_not_numeric": "drop",
    "price_not_positive": "drop",
    "size_not_numeric": "drop",
    "size_not_positive": "drop",
    "side_not_buy_sell": "drop",
    "trade_price_vs_mid": "warn",
}


def slot_at(slot: int) -> datetime:
    return START + timedelta(seconds=SLOT_SECONDS * slot)


def floor_to(at: datetime, seconds: int) -> datetime:
    return at - timedelta(seconds=at.timestamp() % seconds)


# ---------------------------------------------------------------------------------------------------- the prints
@dataclass(frozen=True)
class Print:
    product_id: str
    side: str | None  # the maker's side, as Coinbase sends it
    price: str | None
    size: str | None
    traded_at: datetime
    slot: int  # the slot whose landing fetched it
    trade_id: int = 0
    source: str = "simulated"
    rescued: dict | None = None

    @property
    def slot_at(self) -> datetime:
        return slot_at(self.slot)


def _traded_in(slot: int, rng: random.Random) -> datetime:
    """A time in the 10 s before the slot that fetches it (microseconds, as Coinbase stamps prints)."""
    return slot_at(slot) - timedelta(microseconds=rng.randint(1, SLOT_SECONDS * 1_000_000 - 1))


def _notional(p: Print) -> Decimal:
    return Decimal(p.price) * Decimal(p.size)


def sol_prints() -> list[Print]:
    """1-4 prints a slot within 0.1 of mid 150, each notional below 440 or above 460 USD, plus the special ones.

    Before TARGET_WINDOW the valid prints are balanced around one print of exactly 450 USD, so the median of the
    lookback before it is 450 and k x median is exactly 450·k: TARGET_WINDOW holds a print at that notional (a whale)
    and one 0.15 USD under it (not one).
    """
    prints = []
    for slot in range(SLOTS):
        rng = random.Random(f"{SOL}:{slot}")
        for _ in range(rng.randint(1, 4)):
            ticks = 15_000 + rng.randint(-10, 10)
            size = rng.randint(500, 2_900) if rng.random() < 0.5 else rng.randint(3_100, 6_000)
            prints.append(
                Print(
                    SOL,
                    rng.choice(["buy", "sell"]),
                    str(Decimal(ticks) / 100),
                    str(Decimal(size) / 1000),
                    _traded_in(slot, rng),
                    slot,
                )
            )
    rng = random.Random("special")
    floor_size = (FLOOR[SOL] / MID[SOL] * Decimal("1.2")).quantize(Decimal("0.001"))
    prints += [
        # the first window has no lookback before it: only the floor can make a whale there
        Print(SOL, "sell", "150.05", str(floor_size), _traded_in(0, rng), 0),
        # 1.5 (= 1 % of 150) from mid is not warned; one tick further is
        Print(SOL, "buy", "151.50", "1.000", _traded_in(4, rng), 4),
        Print(SOL, "sell", "151.51", "1.000", _traded_in(4, rng), 4),
        Print(SOL, "buy", "148.50", "1.000", _traded_in(4, rng), 4),
        Print(SOL, "sell", "148.49", "1.000", _traded_in(4, rng), 4),
        # fetched while SOL's book failed: no mid, not checked
        Print(SOL, "sell", "160.00", "1.000", _traded_in(SOL_BOOK_FAILED_SLOT, rng), SOL_BOOK_FAILED_SLOT),
        # with a field the client does not know (rescued)
        Print(SOL, "buy", "150.02", "2.000", _traded_in(7, rng), 7, rescued={"order_type": "limit"}),
        # traded in the first window, fetched at LATE_SLOT: 300 and 600 USD keep the balance around 450
        Print(SOL, "buy", "150.00", "2.000", START + timedelta(seconds=5, microseconds=5), LATE_SLOT),
        Print(SOL, "sell", "150.00", "4.000", START + timedelta(seconds=6, microseconds=6), LATE_SLOT),
        # at exactly k x 450 (a whale by k x median only) and just under it, in TARGET_WINDOW (fetched at slot 20)
        Print(SOL, "sell", "150.00", str(3 * K), TARGET_WINDOW + timedelta(seconds=12), 20),
        Print(SOL, "buy", "150.00", str(3 * K - Decimal("0.001")), TARGET_WINDOW + timedelta(seconds=13), 20),
    ]
    # balance the valid prints before TARGET_WINDOW around 450 (fillers fetched at slot 18, traded before it)
    before = [_notional(p) for p in prints if p.traded_at < TARGET_WINDOW]
    below, above = sum(n < 450 for n in before), sum(n > 450 for n in before)
    assert not any(n == 450 for n in before)
    edge = TARGET_WINDOW - timedelta(seconds=1)
    fillers = [
        Print(SOL, "sell", "150.00", "4.000" if below > above else "2.000", edge - timedelta(microseconds=i), 18)
        for i in range(abs(below - above))
    ]
    return [*prints, *fillers, Print(SOL, "buy", "150.00", "3.000", edge - timedelta(milliseconds=500), 18)]


def doge_prints() -> list[Print]:
    prints = []
    for slot in range(SLOTS - 2):  # none fetched in the last two slots: the last book window has no print
        rng = random.Random(f"{DOGE}:{slot}")
        for _ in range(rng.randint(0, 3)):
            ticks = 15_000 + rng.randint(-20, 20)
            prints.append(
                Print(
                    DOGE,
                    rng.choice(["buy", "sell"]),
                    str(Decimal(ticks) / 100_000),
                    str(Decimal(rng.randint(100, 20_000)) / 10),
                    _traded_in(slot, rng),
                    slot,
                )
            )
    rng = random.Random("special")
    whale_size = (FLOOR[DOGE] / MID[DOGE] * Decimal("1.5")).quantize(Decimal("0.1"))
    tie = START + timedelta(seconds=95)  # two equal prints are the largest of their window: the lower id is it
    return [
        *prints,
        Print(DOGE, "buy", "0.15150", "100.0", _traded_in(4, rng), 4),  # at the 1 % edge: not warned
        Print(DOGE, "sell", "0.14849", "100.0", _traded_in(4, rng), 4),  # beyond it: warned
        Print(DOGE, "sell", "0.20000", "10.0", _traded_in(DOGE_CROSSED_SLOT, rng), DOGE_CROSSED_SLOT),  # no mid
        Print(DOGE, "sell", "0.15000", "5000.0", tie, 10),
        Print(DOGE, "buy", "0.15000", "5000.0", tie + timedelta(milliseconds=1), 10),
        Print(DOGE, "sell", "0.15010", str(whale_size), _traded_in(17, rng), 17),  # over the floor
    ]


def rejected_prints() -> list[Print]:
    """Each trade drop rule, including a print breaking two (the first one counts), and an unconfigured product."""
    rng = random.Random("rejected")
    bad = [
        (SOL, "buy", "abc", "1.000"),  # price_not_numeric
        (SOL, "sell", None, "1.000"),  # price_not_numeric (missing)
        (DOGE, "buy", "", "10.0"),  # price_not_numeric (empty)
        (SOL, "buy", "0", "1.000"),  # price_not_positive
        (DOGE, "sell", "-0.15", "10.0"),  # price_not_positive
        (SOL, "buy", "150.00", "x"),  # size_not_numeric
        (SOL, "sell", "150.00", None),  # size_not_numeric (missing)
        (DOGE, "buy", "0.15", "0"),  # size_not_positive
        (SOL, "sell", "150.00", "-1"),  # size_not_positive
        (SOL, "BUY", "150.00", "1.000"),  # side_not_buy_sell (case matters)
        (DOGE, None, "0.15", "10.0"),  # side_not_buy_sell (missing)
        (SOL, "hold", "abc", "1.000"),  # price_not_numeric: the first rule broken
        (UNCONFIGURED, "buy", "0.55", "10"),  # product_not_configured
    ]
    return [
        Print(pid, side, price, size, _traded_in(slot, rng), slot)
        for slot, (pid, side, price, size) in zip((2, 2, 2, 3, 3, 5, 5, 8, 11, 14, 14, 19, 21), bad, strict=True)
    ]


def capture_prints() -> list[Print]:
    """The two prints of the real capture (GET /products/BTC-USD/trades?limit=2), fetched at slot 22."""
    return [
        Print(
            BTC,
            t["side"],
            t["price"],
            t["size"],
            datetime.fromisoformat(t["time"].replace("Z", "+00:00")),
            22,
            trade_id=t["trade_id"],
            source="coinbase",
        )
        for t in coinbase_capture("trades_BTC-USD.json")
    ]


def all_prints() -> list[Print]:
    """Every print, with trade ids increasing with traded_at per product (ids have no gaps on Coinbase)."""
    by_product: dict[str, list[Print]] = defaultdict(list)
    for p in sol_prints() + doge_prints() + rejected_prints():
        by_product[p.product_id].append(p)
    numbered = []
    for pid, prints in by_product.items():
        first = {SOL: 400_000_000, DOGE: 700_000_000, UNCONFIGURED: 1}[pid]
        prints.sort(key=lambda p: p.traded_at)
        numbered += [Print(**{**p.__dict__, "trade_id": first + i}) for i, p in enumerate(prints)]
    return numbered + capture_prints()


# ----------------------------------------------------------------------------------------------- books and raw
def ladder(mid_ticks: int, tick: str, size: str, *, side: str, shift: int = 0) -> list[list]:
    step = -1 if side == "bid" else 1
    return [[str((mid_ticks + shift + step * i) * Decimal(tick)), size, 1] for i in range(1, 11)]


def _book_result(pid: str, slot: int) -> SnapshotResult:
    at = slot_at(slot)
    tick, size, ticks = ("0.01", "1.000", 15_000) if pid == SOL else ("0.00001", "1000.0", 15_000)
    bids = ladder(ticks, tick, size, side="bid", shift=11 if (pid, slot) == (DOGE, DOGE_CROSSED_SLOT) else 0)
    asks = ladder(ticks, tick, size, side="ask")
    stamp = at.isoformat().replace("+00:00", "Z")
    book = BookResponse(
        product_id=pid,
        bids=bids,
        asks=asks,
        sequence=slot,
        exchange_time=stamp,
        auction_mode=None,
        auction=None,
        requested_at=at,
        received_at=at,
        body_bytes=1,
    )
    ticker = TickerResponse(
        product_id=pid,
        price=str(MID[pid]),
        size="1",
        bid=bids[0][0],
        ask=asks[0][0],
        volume="100",
        trade_id=1,
        time=stamp,
        requested_at=at,
        received_at=at,
    )
    if (pid, slot) == (SOL, SOL_BOOK_FAILED_SLOT):
        error = ExchangeUnavailable("http://exchange", f"/products/{pid}/book", "HTTP 503", attempts=5)
        return SnapshotResult(pid, None, ticker, error, None)
    return SnapshotResult(pid, book, ticker, None, None)


def land(db: str, slots: range, prints: list[Print]) -> None:
    """Books, tickers, prints and the trades endpoint's failures of `slots`, as the landing writes them."""
    writer = CopyWriter(lambda: psycopg2.connect(**endpoint("loader", db).connect_kwargs()))
    try:
        for slot in slots:
            writer.write(
                build_batch(slot_at(slot), [_book_result(SOL, slot), _book_result(DOGE, slot)], SETTINGS, "simulated")
            )
    finally:
        writer.close()
    conn = psycopg2.connect(**endpoint("loader", db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            ensure_partitions(conn, (START - timedelta(days=1)).date(), 3)
            cur.executemany(
                "insert into raw.coinbase_trades (product_id, trade_id, source, side, price, size, _rescued_data, "
                "exchange_time, traded_at, slot_at, received_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        p.product_id,
                        p.trade_id,
                        p.source,
                        p.side,
                        p.price,
                        p.size,
                        json.dumps(p.rescued) if p.rescued else None,
                        p.traded_at.isoformat().replace("+00:00", "Z"),
                        p.traded_at,
                        p.slot_at,
                        p.slot_at,
                    )
                    for p in prints
                    if p.slot in slots
                ],
            )
            for pid, slot, kind in TRADE_FETCH_ERRORS:
                if slot in slots:
                    first, last = (5, 9) if kind == "trades_gap_unrecoverable" else (None, None)
                    cur.execute(
                        "insert into raw.coinbase_ingest_errors (product_id, slot_at, endpoint, source, error_kind, "
                        "reason, first_trade_id, last_trade_id) values (%s, %s, 'trades', 'simulated', %s, %s, %s, %s)",
                        (pid, slot_at(slot), kind, f"test: {kind}", first, last),
                    )
    finally:
        conn.close()


# ----------------------------------------------------------------------------------- the independent reference
def _decimal(text: object) -> Decimal | None:
    """A number as dbt reads one (sign, digits, point, exponent; no NaN/Infinity), or None."""
    if not isinstance(text, str):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and "_" not in text else None


def drop_rule(p: Print) -> str | None:
    price, size = _decimal(p.price), _decimal(p.size)
    if p.product_id not in SETTINGS.product_ids:
        return "product_not_configured"
    if price is None:
        return "price_not_numeric"
    if price <= 0:
        return "price_not_positive"
    if size is None:
        return "size_not_numeric"
    if size <= 0:
        return "size_not_positive"
    return None if p.side in ("buy", "sell") else "side_not_buy_sell"


def taker_side(p: Print) -> str:
    return {"sell": "buy", "buy": "sell"}[p.side]  # Coinbase's side is the maker's


def book_mid(pid: str, slot: int) -> Decimal | None:
    """The uncrossed mid of the product's book landed at `slot`, or None (failed, crossed, never landed)."""
    if pid not in MID or (pid, slot) in ((SOL, SOL_BOOK_FAILED_SLOT), (DOGE, DOGE_CROSSED_SLOT)):
        return None
    return MID[pid]


def is_warned(p: Print) -> bool | None:
    """trade_price_vs_mid: |price − mid| > trade_mid_warn_pct % of mid; None when there is no mid to check against."""
    mid = book_mid(p.product_id, p.slot)
    return None if mid is None else abs(Decimal(p.price) - mid) * 100 > mid * WARN_PCT


def figures(prints: list[Print]) -> dict:
    """The trade figures of a period (docs/architecture.md#trades), exactly."""
    side = {s: [p for p in prints if taker_side(p) == s] for s in ("buy", "sell")}
    base = {s: sum((Decimal(p.size) for p in side[s]), Decimal(0)) for s in side}
    quote = {s: sum((_notional(p) for p in side[s]), Decimal(0)) for s in side}
    largest = min(prints, key=lambda p: (-_notional(p), p.trade_id))
    return {
        "trade_count": len(prints),
        "taker_buy_count": len(side["buy"]),
        "taker_sell_count": len(side["sell"]),
        "base_volume": base["buy"] + base["sell"],
        "taker_buy_base_volume": base["buy"],
        "taker_sell_base_volume": base["sell"],
        "quote_volume": quote["buy"] + quote["sell"],
        "taker_buy_quote_volume": quote["buy"],
        "taker_sell_quote_volume": quote["sell"],
        "vwap": (quote["buy"] + quote["sell"]) / (base["buy"] + base["sell"]),
        "taker_buy_vwap": quote["buy"] / base["buy"] if side["buy"] else None,
        "taker_sell_vwap": quote["sell"] / base["sell"] if side["sell"] else None,
        "order_flow_imbalance": (quote["buy"] - quote["sell"]) / (quote["buy"] + quote["sell"]),
        "largest_trade_id": largest.trade_id,
        "largest_trade_taker_side": taker_side(largest),
        "largest_trade_price": Decimal(largest.price),
        "largest_trade_size": Decimal(largest.size),
        "largest_trade_notional": _notional(largest),
        "first_trade_id": min(p.trade_id for p in prints),
        "last_trade_id": max(p.trade_id for p in prints),
        "last_slot_at": max(p.slot_at for p in prints),
    }


def _median(values: list[Decimal]) -> Decimal:
    ordered, n = sorted(values), len(values)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def whale_references(valid: list[Print]) -> dict[tuple[str, datetime], Decimal | None]:
    """(product, window) -> the median notional of the product's prints in the lookback before the window."""
    references = {}
    for pid, window in {(p.product_id, floor_to(p.traded_at, WINDOW_SECONDS)) for p in valid}:
        sample = [
            _notional(p) for p in valid if p.product_id == pid and window - WHALE_LOOKBACK <= p.traded_at < window
        ]
        references[(pid, window)] = _median(sample) if sample else None
    return references


def whales(valid: list[Print]) -> dict[tuple[str, int], tuple[str, Decimal | None]]:
    """(product, trade id) -> (the rule that fired, the median) for every whale print."""
    references = whale_references(valid)
    found = {}
    for p in valid:
        median = references[(p.product_id, floor_to(p.traded_at, WINDOW_SECONDS))]
        by_floor = _notional(p) >= FLOOR[p.product_id]
        by_median = median is not None and _notional(p) >= K * median
        if by_floor or by_median:
            found[(p.product_id, p.trade_id)] = (
                "both" if by_floor and by_median else "floor" if by_floor else "k_median",
                median,
            )
    return found


# ------------------------------------------------------------------------------------------------------ helpers
def close(actual: object, expected: object, what: str) -> None:
    """Equal to 1e-10 (ratios are stored to 10 decimal places; sums are exact)."""
    if expected is None or actual is None:
        assert actual is None and expected is None, f"{what}: {actual} != {expected}"
        return
    if not isinstance(expected, Decimal):
        assert actual == expected, f"{what}: {actual} != {expected}"
        return
    assert abs(Decimal(actual) - expected) <= TOLERANCE, f"{what}: {actual} != {expected}"


def dbt(
    db: str, target: Path, *args: str, lookback_minutes: int = LOOKBACK_MINUTES, rebuild_history: bool = False
) -> tuple[float, dict]:
    """Run dbt (no unit tests: test_dbt_unit_tests runs them); the seconds taken and each data test's result."""
    started = time.perf_counter()
    result = run_dbt(
        [*args, "--exclude-resource-type", "unit_test"],
        dbname=db,
        lookback_minutes=lookback_minutes,
        target_path=target,
        rebuild_history=rebuild_history,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return elapsed, {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.")}


MODELS_AND_KEYS = {
    "staging.stg_coinbase__trades": "product_id, trade_id",
    "staging.stg_coinbase__rejected_trades": "product_id, trade_id",
    "intermediate.int_trade_whale_thresholds": "product_id, window_start",
    "intermediate.int_prices_flagged": "product_id, slot_at, entity, rule, trade_id",
    "marts.fct_trades_30s": "product_id, window_start",
    "marts.fct_trades_daily": "product_id, day_start",
    "marts.fct_whale_trades": "product_id, trade_id",
    "marts.fct_order_book_30s": "product_id, window_start",
    "marts.fct_data_quality": "window_start, product_id, entity, rule",
}


def raw_prints(db: str) -> list[Print]:
    """The prints as raw.coinbase_trades holds them: what the reference is computed from."""
    rows = query(
        db,
        "select product_id, trade_id, source, side, price, size, _rescued_data, traded_at, slot_at "
        "from raw.coinbase_trades",
        role="loader",
    )
    return [
        Print(
            r["product_id"],
            r["side"],
            r["price"],
            r["size"],
            r["traded_at"],
            int((r["slot_at"] - START).total_seconds()) // SLOT_SECONDS,
            r["trade_id"],
            r["source"],
            r["_rescued_data"],
        )
        for r in rows
    ]


# -------------------------------------------------------------------------------------------------------- tests
def test_trade_marts_equal_an_independent_computation_and_a_rebuild(warehouse: str, tmp_path: Path) -> None:
    timings = []
    for stage in STAGES:
        land(warehouse, stage, all_prints())
        elapsed, _ = dbt(warehouse, tmp_path, "build")
        timings.append(elapsed)
    print("incremental dbt builds: " + ", ".join(f"{s:.1f} s" for s in timings))

    incremental = {m: query(warehouse, f"select * from {m} order by {k}") for m, k in MODELS_AND_KEYS.items()}
    elapsed, _ = dbt(warehouse, tmp_path, "build", "--full-refresh", rebuild_history=True)
    print(f"full rebuild: {elapsed:.1f} s")
    for model, key in MODELS_AND_KEYS.items():
        rebuilt = query(warehouse, f"select * from {model} order by {key}")
        assert rebuilt == incremental[model], f"{model}: incremental builds and a rebuild from scratch differ"

    prints = raw_prints(warehouse)
    assert sorted(prints, key=lambda p: (p.product_id, p.trade_id)) == sorted(
        all_prints(), key=lambda p: (p.product_id, p.trade_id)
    ), "raw holds the prints as written"
    valid = [p for p in prints if drop_rule(p) is None]
    _check_staging(warehouse, prints, valid)
    _check_capture(warehouse)
    _check_periods(warehouse, valid)
    _check_order_book_windows(warehouse)
    _check_whales(warehouse, valid)
    # the data tests downstream of the tape over the whole history (a micro-batch's look only at its lookback)
    _, tests = dbt(
        warehouse,
        tmp_path,
        "test",
        "--select",
        "stg_coinbase__trades+ stg_coinbase__rejected_trades+",
        lookback_minutes=WHOLE_HISTORY_MINUTES,
    )
    _check_data_quality(warehouse, prints, tests)


def _check_staging(db: str, prints: list[Print], valid: list[Print]) -> None:
    rows = {(r["product_id"], r["trade_id"]): r for r in query(db, "select * from staging.stg_coinbase__trades")}
    assert set(rows) == {(p.product_id, p.trade_id) for p in valid}
    for p in valid:
        row = rows[(p.product_id, p.trade_id)]
        assert (row["maker_side"], row["taker_side"]) == (p.side, taker_side(p))
        assert (row["price"], row["size"], row["notional"]) == (Decimal(p.price), Decimal(p.size), _notional(p))
        assert (row["traded_at"], row["slot_at"], row["has_rescued_data"]) == (p.traded_at, p.slot_at, bool(p.rescued))
    rejected = query(db, "select product_id, trade_id, rejection_rule from staging.stg_coinbase__rejected_trades")
    assert {(r["product_id"], r["trade_id"]): r["rejection_rule"] for r in rejected} == {
        (p.product_id, p.trade_id): drop_rule(p) for p in prints if drop_rule(p) is not None
    }
    listed = query(
        db, "select rejection_rule, rejected_value from staging.stg_coinbase__rejected_rows where entity = 'trade'"
    )
    assert Counter(r["rejection_rule"] for r in listed) == Counter(
        drop_rule(p) for p in prints if drop_rule(p) is not None
    )
    assert "[1, buy, 0.55, 10]" in {r["rejected_value"] for r in listed}  # [trade_id, side, price, size]


def _check_capture(db: str) -> None:
    """The real capture: the 'sell' print (63212.98) was taken by a buyer, the 'buy' print (63212.97) by a seller."""
    capture = {t["side"]: t for t in coinbase_capture("trades_BTC-USD.json")}
    rows = query(
        db,
        f"select trade_id, maker_side, taker_side from staging.stg_coinbase__trades "
        f"where product_id = '{BTC}' order by trade_id",
    )
    assert rows == sorted(
        [
            {"trade_id": capture["buy"]["trade_id"], "maker_side": "buy", "taker_side": "sell"},
            {"trade_id": capture["sell"]["trade_id"], "maker_side": "sell", "taker_side": "buy"},
        ],
        key=lambda r: r["trade_id"],
    )
    (window,) = query(db, f"select * from marts.fct_trades_30s where product_id = '{BTC}'", role="reader")
    bought, sold = capture["sell"], capture["buy"]
    assert (window["taker_buy_count"], window["taker_sell_count"]) == (1, 1)
    assert window["taker_buy_base_volume"] == Decimal(bought["size"]) == Decimal("0.00195786")
    assert window["taker_buy_quote_volume"] == Decimal(bought["price"]) * Decimal(bought["size"])
    assert window["taker_sell_base_volume"] == Decimal(sold["size"])
    assert (window["taker_buy_vwap"], window["taker_sell_vwap"]) == (Decimal("63212.98"), Decimal("63212.97"))
    assert window["order_flow_imbalance"] > Decimal("0.96"), "taker buying dominates this window"
    assert (window["largest_trade_taker_side"], window["largest_trade_id"]) == ("buy", bought["trade_id"])
    assert window["source"] == "coinbase"


def _check_periods(db: str, valid: list[Print]) -> None:
    for mart, seconds, period in (
        ("fct_trades_30s", WINDOW_SECONDS, "window_start"),
        ("fct_trades_daily", 86_400, "day_start"),
    ):
        groups: dict[tuple, list[Print]] = defaultdict(list)
        for p in valid:
            groups[(p.product_id, floor_to(p.traded_at, seconds))].append(p)
        rows = query(db, f"select * from marts.{mart}", role="reader")  # what Superset reads
        assert {(r["product_id"], r[period]) for r in rows} == set(groups), mart
        for row in rows:
            expected = figures(groups[(row["product_id"], row[period])])
            for column, value in expected.items():
                close(row[column], value, f"{mart} {row['product_id']} {row[period]} {column}")
    windows = {(r["product_id"], r["window_start"]): r for r in query(db, "select * from marts.fct_trades_30s")}
    tie = windows[(DOGE, START + timedelta(seconds=90))]
    assert tie["largest_trade_notional"] == 750 and tie["largest_trade_taker_side"] == "buy", tie  # the lower id
    first = [p for p in valid if p.product_id == SOL and floor_to(p.traded_at, WINDOW_SECONDS) == START]
    assert {p.slot for p in first} >= {LATE_SLOT}, "the late prints belong to the first window"
    assert windows[(SOL, START)]["trade_count"] == len(first)


def _check_order_book_windows(db: str) -> None:
    trades = {(r["product_id"], r["window_start"]): r for r in query(db, "select * from marts.fct_trades_30s")}
    books = query(db, "select * from marts.fct_order_book_30s", role="reader")
    assert len(books) == 2 * SLOTS // 3
    columns = (
        "taker_buy_count",
        "taker_sell_count",
        "taker_buy_base_volume",
        "taker_sell_base_volume",
        "taker_buy_quote_volume",
        "taker_sell_quote_volume",
        "vwap",
        "taker_buy_vwap",
        "taker_sell_vwap",
        "order_flow_imbalance",
        "largest_trade_id",
        "largest_trade_taker_side",
        "largest_trade_price",
        "largest_trade_notional",
    )
    without = 0
    for book in books:
        window = trades.get((book["product_id"], book["window_start"]))
        if window is None:
            without += 1
            assert book["trade_count"] == 0 and all(book[c] is None for c in columns), book
            continue
        assert [book[c] for c in ("trade_count", *columns)] == [window[c] for c in ("trade_count", *columns)]
    assert without >= 1, "a DOGE window without prints keeps its row"


def _check_whales(db: str, valid: list[Print]) -> None:
    expected = whales(valid)
    rows = query(db, "select * from marts.fct_whale_trades", role="reader")
    assert {(r["product_id"], r["trade_id"]): (r["whale_rule"], r["median_notional"]) for r in rows} == expected
    for row in rows:
        assert row["is_above_floor"] == (row["notional"] >= FLOOR[row["product_id"]])
        assert row["whale_trade_floor_usd"] == FLOOR[row["product_id"]]
        median = row["median_notional"]
        assert row["k_median_threshold"] == (None if median is None else K * median)
    rules = Counter(rule for rule, _ in expected.values())
    assert rules["floor"] >= 1 and rules["k_median"] >= 1 and rules["both"] >= 1, rules
    # at exactly k x the median of 450 USD a print is a whale; 0.15 USD under it is not
    edge = {
        _notional(p): p
        for p in valid
        if p.product_id == SOL
        and floor_to(p.traded_at, WINDOW_SECONDS) == TARGET_WINDOW
        and _notional(p) in (450 * K, 450 * K - Decimal("0.15"))
    }
    assert expected[(SOL, edge[450 * K].trade_id)] == ("k_median", 450)
    assert (SOL, edge[450 * K - Decimal("0.15")].trade_id) not in expected
    # the first window has no lookback before it: its floor whale is a whale by the floor alone
    (first,) = [r for r in rows if r["product_id"] == SOL and r["window_start"] == START - timedelta(seconds=30)]
    assert (first["whale_rule"], first["median_notional"]) == ("floor", None)
    thresholds = query(db, "select * from intermediate.int_trade_whale_thresholds")
    references = whale_references(valid)
    assert {(r["product_id"], r["window_start"]): r["median_notional"] for r in thresholds} == references


def _check_data_quality(db: str, prints: list[Print], tests: dict[str, dict]) -> None:
    cells: dict[tuple, Counter] = defaultdict(Counter)
    for p in prints:
        cell = cells[(floor_to(p.slot_at, WINDOW_SECONDS), p.product_id, "trade")]
        cell["checked"] += 1
        rule = drop_rule(p)
        if rule is not None:
            cell[rule] += 1
        elif is_warned(p):
            cell["trade_price_vs_mid"] += 1
    expected = {}
    for (window, pid, entity), cell in cells.items():
        for rule, kind in TRADE_RULES.items():
            dropped, warned = (cell[rule], 0) if kind == "drop" else (0, cell[rule])
            expected[(window, pid, entity, rule)] = (kind, cell["checked"], dropped, warned, None, None, None)
    failures: dict[tuple, Counter] = defaultdict(Counter)
    for pid, slot, kind in TRADE_FETCH_ERRORS:
        failures[(floor_to(slot_at(slot), WINDOW_SECONDS), pid)][kind] += 1
    for (window, pid), kinds in failures.items():
        for kind, n in kinds.items():
            expected[(window, pid, "trade_fetch", kind)] = ("drop", sum(kinds.values()), n, 0, None, None, None)

    actual = data_quality(db, "entity in ('trade', 'trade_fetch')")
    assert set(actual) == set(expected), (sorted(set(actual) - set(expected)), sorted(set(expected) - set(actual)))
    wrong = {key: (actual[key], value) for key, value in expected.items() if actual[key] != value}
    assert not wrong, wrong

    totals: Counter = Counter()
    for (_, _, _, rule), (_, _, dropped, warned, *_) in expected.items():
        totals[rule] += dropped + warned
    assert all(totals[rule] for rule in TRADE_RULES), totals  # every rule fired
    assert totals["price_not_numeric"] == 4 and totals["trade_price_vs_mid"] == 3, totals
    (warn_test,) = [r for name, r in tests.items() if name.startswith("not_flagged_int_prices_flagged_trade_price")]
    assert (warn_test["status"], warn_test["failures"]) == ("warn", totals["trade_price_vs_mid"])
    assert tests["assert_data_quality_reconciles_across_layers"]["status"] == "pass"
    assert {name for name, r in tests.items() if r["status"] != "pass"} == {warn_test["unique_id"].split(".")[2]}
