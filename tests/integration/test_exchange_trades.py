"""The offline exchange's trade tape over real HTTP: Coinbase's wire format and paging, prints made by takers
walking the served book, the exchange's own record of them, and faults on the trades path.

Most tests drive the exchange with a test clock (``clock=``), so a minute of trading takes no time and the prints
are the same in every run.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from tests.integration.exchange_helpers import small_settings
from tests.support.coinbase_fixtures import coinbase_capture, coinbase_capture_bytes

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.config import load_settings
from crypto_insights.exchange.book_model import SimulatedBook
from crypto_insights.exchange.tape import Tape

SETTINGS = load_settings()
TRADE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PADDED = re.compile(r"^(0|[1-9]\d*)\.\d{8}$")  # trades pad prices and sizes to 8 decimals, as Coinbase does
NS = 1_000_000_000
START_NS = 1_790_000_000 * NS  # a whole second, so book and print times compare exactly


class TestClock:
    """Epoch nanoseconds that move only when the test says so."""

    __test__ = False

    def __init__(self, now_ns: int = START_NS) -> None:
        self.now = now_ns

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * NS)


def epoch_ns(stamp: str) -> int:
    """``2026-09-21T14:14:19.942670Z`` as epoch ns (exact to the microsecond)."""
    whole, fraction = stamp[:-1].split(".")
    seconds = int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp())
    return seconds * NS + int(fraction.ljust(9, "0"))


def trades(http, exchange, product: str = "BTC-USD", **params) -> tuple[list[dict], dict[str, str]]:
    response = http.get(f"{exchange.url}/products/{product}/trades", params=params)
    assert response.status_code == 200, response.text[:300]
    return response.json(), {k: v for k, v in response.headers.items() if k.upper().startswith("CB-")}


def every_page(http, exchange, product: str, limit: int = 1000) -> list[dict]:
    """Every print served, newest first, paging back with ``after`` until the empty page."""
    page, headers = trades(http, exchange, product, limit=limit)
    out = list(page)
    while page:
        page, headers = trades(http, exchange, product, limit=limit, after=headers["CB-AFTER"])
        out += page
    return out


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def traded(exchange_factory, clock):
    """An exchange (BTC-USD and SOL-USD at full size) that has traded for ten minutes of test time."""
    settings = replace(SETTINGS, symbols=tuple(s for s in SETTINGS.symbols if s.product_id in ("BTC-USD", "SOL-USD")))
    exchange = exchange_factory(settings=settings, clock=clock)
    clock.advance(600)
    return exchange


# -- wire format ---------------------------------------------------------------------------------------------------


def test_trades_have_the_real_wire_format(traded, http) -> None:
    real = coinbase_capture("trades_BTC-USD.json")
    response = http.get(f"{traded.url}/products/BTC-USD/trades", params={"limit": 2})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert b" " not in response.content  # compact JSON, like Coinbase
    ours = response.json()
    assert len(ours) == len(real) == 2
    for mine, theirs in zip(ours, real, strict=True):
        assert list(mine) == list(theirs) == ["trade_id", "side", "size", "price", "time"]
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}
    for row in [*real, *ours]:  # the capture passes the same checks as our rows
        assert type(row["trade_id"]) is int and row["side"] in ("buy", "sell")
        assert PADDED.match(row["price"]) and PADDED.match(row["size"]), row
        assert TRADE_TIME.match(row["time"]), row
    shape = re.sub(rb"\d+", b"0", coinbase_capture_bytes("trades_BTC-USD.json").split(b"},")[0])
    assert re.sub(rb"\d+", b"0", response.content.split(b"},")[0]).replace(b'"sell"', b'"buy"') == shape


@pytest.mark.parametrize("product", ["BTC-USD", "SOL-USD"])
def test_prints_sit_on_the_products_increments(traded, http, product) -> None:
    symbol = SETTINGS.symbol(product)
    page, _ = trades(http, traded, product)
    assert len(page) == 1000
    for row in page:
        price, size = Decimal(row["price"]), Decimal(row["size"])
        assert price > 0 and price % symbol.quote_increment == 0, row
        assert size > 0 and size % symbol.base_increment == 0, row


def test_the_project_client_reads_the_tape(traded) -> None:
    settings = replace(SETTINGS.exchange, api_url=traded.url)
    with CoinbaseClient(settings) as client:
        newest = client.get_trades("BTC-USD", limit=500)
        older = client.get_trades("BTC-USD", limit=500, after=newest.oldest_id)
    assert len(newest.trades) == len(older.trades) == 500
    assert older.newest_id == newest.oldest_id - 1 and all(not t.rescued for t in newest.trades)
    assert [t.trade_id for t in newest.trades] == sorted((t.trade_id for t in newest.trades), reverse=True)


# -- paging --------------------------------------------------------------------------------------------------------


def test_newest_page_is_the_default_1000_with_headers(traded, http) -> None:
    page, headers = trades(http, traded)
    ids = [row["trade_id"] for row in page]
    assert len(ids) == 1000 and ids == list(range(ids[0], ids[0] - 1000, -1))  # newest first, no gaps
    assert headers == {"CB-BEFORE": str(ids[0]), "CB-AFTER": str(ids[-1])}
    assert ids[0] == traded.trades("BTC-USD")[-1]["trade_id"]  # the newest print made


def test_after_and_before_page_either_way_next_to_the_cursor(traded, http) -> None:
    newest, headers = trades(http, traded, limit=300)
    older, older_headers = trades(http, traded, limit=300, after=headers["CB-AFTER"])
    assert older[0]["trade_id"] == int(headers["CB-AFTER"]) - 1 and len(older) == 300
    assert older_headers == {"CB-BEFORE": str(older[0]["trade_id"]), "CB-AFTER": str(older[-1]["trade_id"])}
    back, back_headers = trades(http, traded, limit=300, before=older_headers["CB-BEFORE"])  # round trip
    assert back == newest and back_headers == headers
    middle, _ = trades(http, traded, limit=7, before=older[100]["trade_id"])  # the 7 just newer than the cursor
    assert [r["trade_id"] for r in middle] == [older[100]["trade_id"] + k for k in range(7, 0, -1)]
    assert middle == older[93:100]
    both, _ = trades(http, traded, limit=5, after=older[0]["trade_id"], before=older[3]["trade_id"])
    assert both == older[1:3]  # strictly between the cursors


def test_pages_of_exactly_limit_and_empty_pages(traded, http) -> None:
    for limit in (1, 7, 1000):
        page, _ = trades(http, traded, limit=limit)
        assert len(page) == limit
    newest, headers = trades(http, traded, limit=1)
    newer, newer_headers = trades(http, traded, before=newest[0]["trade_id"])
    assert newer == [] and newer_headers == {}  # nothing newer than the newest
    oldest = traded.trades("BTC-USD")[0]["trade_id"]
    assert trades(http, traded, after=oldest) == ([], {})  # nothing older than the oldest kept
    assert trades(http, traded, after=1) == ([], {})
    assert trades(http, traded, after=oldest + 3)[0][-1]["trade_id"] == oldest  # a short last page


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"limit": 0}, "Invalid limit"),
        ({"limit": 1001}, "Invalid limit"),
        ({"limit": -5}, "Invalid limit"),
        ({"limit": "ten"}, "Invalid limit"),
        ({"after": "abc"}, "Invalid after"),
        ({"before": "1.5"}, "Invalid before"),
    ],
)
def test_bad_paging_parameters_are_400_with_a_message(traded, http, params, text) -> None:
    response = http.get(f"{traded.url}/products/BTC-USD/trades", params=params)
    assert response.status_code == 400 and response.json() == {"message": text}
    assert response.headers["Content-Type"] == "application/json"


def test_unknown_product_trades_are_404(exchange, http) -> None:
    response = http.get(f"{exchange.url}/products/XLM-USD/trades")
    assert response.status_code == 404 and response.json() == {"message": "NotFound"}


def test_paging_back_walks_every_print_without_gaps_and_matches_the_record(traded, http) -> None:
    served = every_page(http, traded, "BTC-USD", limit=1000)
    ids = [row["trade_id"] for row in served]
    assert ids == list(range(ids[0], ids[0] - len(ids), -1))  # gap-free, decreasing
    made = traded.trades("BTC-USD")
    assert served[::-1] == made  # what is served is exactly the exchange's record
    assert traded.stats()["trades_made"]["BTC-USD"] == len(made)
    times = [epoch_ns(row["time"]) for row in made]
    assert times == sorted(times) and START_NS < times[0] and times[-1] <= START_NS + 600 * NS
    assert traded.trades("BTC-USD", after_id=ids[10]) == made[-10:]
    with pytest.raises(KeyError, match="XLM-USD"):
        traded.trades("XLM-USD")


def test_prints_past_the_horizon_are_no_longer_served(exchange_factory, http, clock) -> None:
    exchange = exchange_factory(settings=small_settings(1_500, ("ETH-USD",)), clock=clock, trade_retention_s=60)
    clock.advance(30)
    first = exchange.trades("ETH-USD")
    assert first
    clock.advance(300)
    kept = exchange.trades("ETH-USD")
    assert kept[0]["trade_id"] > first[-1]["trade_id"]  # the first half-minute is past the horizon
    assert all(epoch_ns(row["time"]) >= clock.now - 60 * NS for row in kept)
    assert trades(http, exchange, "ETH-USD", after=kept[0]["trade_id"]) == ([], {})
    assert trades(http, exchange, "ETH-USD", before=first[0]["trade_id"])[0][-1] == kept[0]
    assert [r["trade_id"] for r in every_page(http, exchange, "ETH-USD")][::-1] == [r["trade_id"] for r in kept]


def test_a_market_with_history_serves_prints_from_before_it_opened(exchange_factory, clock) -> None:
    exchange = exchange_factory(settings=small_settings(1_500, ("ETH-USD",)), clock=clock, trade_history_s=300)
    made = exchange.trades("ETH-USD")  # asked the moment it opened
    assert made and all(clock.now - 300 * NS <= epoch_ns(row["time"]) <= clock.now for row in made)
    assert epoch_ns(made[0]["time"]) < clock.now - 240 * NS  # the tape began five minutes back, not now


# -- prints come from takers walking the served book ------------------------------------------------------------


def test_prints_walk_the_book_served_before_them(exchange_factory, http, clock) -> None:
    """Between two book responses, every print is at a price of the first book, on the side the taker consumed
    (a "sell" print is a taker buy at or above the best ask), and what prints at a level never exceeds its size
    (until makers refill it, 2 s after its last fill)."""
    settings = replace(SETTINGS, symbols=(SETTINGS.symbol("BTC-USD"),))
    exchange = exchange_factory(settings=settings, clock=clock)
    whale_floor = SETTINGS.symbol("BTC-USD").whale_trade_floor_usd
    checked = multi_level_takers = 0
    for _ in range(6):
        book = http.get(f"{exchange.url}/products/BTC-USD/book", params={"level": 2}).json()
        served_at = epoch_ns(book["time"][:26] + "Z")
        clock.advance(30)
        page, _ = trades(http, exchange)
        prints = [row for row in page if served_at < epoch_ns(row["time"]) <= clock.now]
        assert len(prints) > 20
        asks = {Decimal(p): Decimal(s) for p, s, _ in book["asks"]}
        bids = {Decimal(p): Decimal(s) for p, s, _ in book["bids"]}
        best_bid, best_ask = max(bids), min(asks)
        mid = (best_bid + best_ask) / 2
        taken: dict[tuple[str, Decimal], tuple[Decimal, int]] = {}  # since its last refill: (size, last fill)
        by_taker: dict[str, list[dict]] = defaultdict(list)
        for row in reversed(prints):  # oldest first
            price, size, at = Decimal(row["price"]), Decimal(row["size"]), epoch_ns(row["time"])
            level = (asks if row["side"] == "sell" else bids).get(price)
            if row["side"] == "sell":  # the maker sold: a taker bought, lifting asks
                assert price >= best_ask and level is not None, row
            else:
                assert price <= best_bid and level is not None, row
            assert abs(price - mid) / mid < Decimal("0.01")
            if price * size < whale_floor:  # (a whale meets a large resting order at the touch)
                before, last = taken.get((row["side"], price), (Decimal(0), at))
                before = before if at - last < 2 * NS else Decimal(0)
                assert before + size <= level, (row, before, level)
                taken[(row["side"], price)] = (before + size, at)
            by_taker[row["time"]].append(row)
            checked += 1
        for rows in by_taker.values():  # one taker: one print per level, walking away from the touch
            if len(rows) > 1 and len({r["side"] for r in rows}) == 1:
                prices = [Decimal(r["price"]) for r in rows]
                assert prices == sorted(set(prices), reverse=rows[0]["side"] == "buy")
                multi_level_takers += 1
    assert checked > 500 and multi_level_takers > 0


def test_the_tape_consumes_the_book_as_it_stands() -> None:
    """In the model, taker by taker: each meets the book minus what earlier takers took (until makers refill a
    level, 2 s after its last fill); its first print is at the live best price, it takes whole levels until the
    last, and the prints carry the maker's side. A book response restores the book."""
    symbol = small_settings(2_000, ("SOL-USD",)).symbol("SOL-USD")
    book = SimulatedBook(symbol, seed=5)
    tape = Tape(symbol, seed=5, t0_ns=START_NS)
    left: dict[tuple[str, int], tuple[int, int]] = {}  # (side, key) -> (units left, ns of its last fill)

    def live(name: str, i: int, at_ns: int) -> int:
        side = book.side(name)
        units, last = left.get((name, side.keys[i]), (None, 0))
        return book.size_scale.parse(side.rows[i].split('"')[3]) if units is None or at_ns - last >= 2 * NS else units

    walked = 0
    for n in range(600):
        at_ns = START_NS + round(tape.orders.next_at * NS)
        newest = tape.record.next_id - 1
        tape.advance(book, at_ns + 2)  # exactly the next taker
        rows = tape.prints(after_id=newest)
        assert rows and len({r["side"] for r in rows}) == 1
        name = "asks" if rows[0]["side"] == "sell" else "bids"  # a "sell" print: the taker bought the asks
        side = book.side(name)
        first = next(i for i in range(len(side)) if live(name, i, at_ns) > 0)
        for k, row in enumerate(rows):
            i = side.find(side.direction * book.price_scale.units(Decimal(row["price"])))
            assert i is not None and (k > 0 or i == first), (n, row)
            shown, size = live(name, i, at_ns), book.size_scale.parse(row["size"])
            if len(rows) > 1:  # a whale prints once, for more than is shown; anyone else takes what rests
                assert size == shown if k < len(rows) - 1 else size <= shown, (n, k, row)
            left[(name, side.keys[i])] = (max(0, shown - size), at_ns)
        walked += len(rows) > 1
        if n % 100 == 99:  # a book response: the next step, nothing consumed
            book.step()
            tape.book_served()
            left.clear()
    assert walked > 10 and tape.record.made >= 600


# -- realism and determinism ---------------------------------------------------------------------------------------


def test_btc_is_busiest_arrivals_are_bursty_and_sizes_heavy_tailed(exchange_factory, clock) -> None:
    exchange = exchange_factory(settings=small_settings(1_500), clock=clock)
    clock.advance(3_600)
    made = {pid: exchange.trades(pid) for pid in SETTINGS.product_ids}
    counts = {pid: len(rows) for pid, rows in made.items()}
    assert max(counts, key=counts.get) == "BTC-USD"
    assert 8_000 < counts["BTC-USD"] < 40_000, counts  # ~4 takers/s, a print or more each
    assert min(counts.values()) > 1_000, counts
    btc = made["BTC-USD"]
    per_second = Counter(epoch_ns(row["time"]) // NS for row in btc)
    series = [per_second.get(START_NS // NS + s, 0) for s in range(3_600)]
    assert statistics.variance(series) > 3 * statistics.mean(series)  # bursts: far more dispersed than Poisson
    notionals = sorted(Decimal(r["price"]) * Decimal(r["size"]) for r in btc)
    median = notionals[len(notionals) // 2]
    assert 10 < median < 1_000 and notionals[-1] > 200 * median
    whales = [
        n
        for pid, rows in made.items()
        for r in rows
        if (n := Decimal(r["price"]) * Decimal(r["size"])) >= SETTINGS.symbol(pid).whale_trade_floor_usd
    ]
    assert whales, "an hour of ten coins holds a whale print"
    sides = Counter(r["side"] for r in btc)
    assert 0.3 < sides["buy"] / len(btc) < 0.7


def test_same_seed_same_tape_other_seed_other_tape(exchange_factory, http) -> None:
    settings = small_settings(1_500, ("DOGE-USD",))
    tapes = []
    for seed in (11, 11, 12):
        clock = TestClock()
        exchange = exchange_factory(settings=settings, seed=seed, clock=clock)
        for _ in range(3):  # the same book requests at the same (test) times
            http.get(f"{exchange.url}/products/DOGE-USD/book", params={"level": 2}).raise_for_status()
            clock.advance(40)
        tapes.append(exchange.trades("DOGE-USD"))
    assert tapes[0] == tapes[1] and len(tapes[0]) > 50
    assert tapes[0] != tapes[2]


def test_books_are_still_the_seeded_steps_while_trading(exchange_factory, http, clock) -> None:
    """The tape never changes what a book response shows: the n-th is still ``SimulatedBook.at_step(n)``."""
    settings = small_settings(1_500, ("DOGE-USD",))
    exchange = exchange_factory(settings=settings, seed=11, clock=clock)
    for _ in range(3):
        http.get(f"{exchange.url}/products/DOGE-USD/book", params={"level": 2}).raise_for_status()
        clock.advance(30)
        assert trades(http, exchange, "DOGE-USD")[0]
    book = http.get(f"{exchange.url}/products/DOGE-USD/book", params={"level": 2}).json()
    rebuilt = SimulatedBook.at_step(settings.symbol("DOGE-USD"), 11, 3)
    assert book["asks"] == [json.loads(r) for r in rebuilt.asks.rows]
    assert book["bids"] == [json.loads(r) for r in rebuilt.bids.rows] and book["sequence"] == rebuilt.sequence


def test_the_tape_runs_on_the_wall_clock_by_default(exchange_factory, http) -> None:
    started = time.time_ns()
    exchange = exchange_factory(settings=small_settings(1_500, ("BTC-USD",)))
    deadline = time.monotonic() + 20
    page: list[dict] = []
    while len(page) < 3 and time.monotonic() < deadline:  # ~4 takers/s: a few prints within seconds
        time.sleep(0.25)
        page, _ = trades(http, exchange)
    assert len(page) >= 3
    assert started < epoch_ns(page[-1]["time"]) <= epoch_ns(page[0]["time"]) <= time.time_ns()


# -- faults --------------------------------------------------------------------------------------------------------


def test_faults_apply_to_the_trades_path(traded, http) -> None:
    path = "/products/BTC-USD/trades"
    url = f"{traded.url}{path}"
    traded.faults.add(path, "server_error", count=1, status=502)
    first = http.get(url)
    assert (first.status_code, first.json()) == (502, {"message": "Bad Gateway"})
    traded.faults.add("/products/*/trades", "rate_limit", count=1, retry_after=2)  # a glob
    second = http.get(url)
    assert (second.status_code, second.headers["Retry-After"]) == (429, "2") and "CB-BEFORE" not in second.headers
    assert http.get(url).status_code == 200
    traded.faults.add(path, "malformed_json", count=1)
    with pytest.raises(ValueError):
        http.get(url).json()
    traded.faults.add(path, "extra_field", count=1, fields={"venue": "x"})
    traded.faults.add(path, "missing_field", count=1, field="price")
    traded.faults.add(path, "negative_size", count=1, levels=2)
    edited = http.get(url, params={"limit": 10})
    rows = edited.json()
    assert edited.status_code == 200 and all(r["venue"] == "x" and "price" not in r for r in rows)
    assert [r["size"].startswith("-") for r in rows] == [True, False, False, True] + [False] * 6
    assert edited.headers["CB-BEFORE"] == str(rows[0]["trade_id"])
    traded.faults.add(path, "reset", count=1)
    with pytest.raises(requests.ConnectionError):
        http.get(url)
    assert http.get(url).status_code == 200
    assert traded.responses[0] == 1 and traded.requests_served[path] >= 7


def test_replay_serves_captured_pages_and_pages_their_prints(exchange_factory, http, tmp_path: Path) -> None:
    btc = tmp_path / "BTC-USD"
    btc.mkdir()
    (btc / "book_0001.json").write_bytes(coinbase_capture_bytes("book_level1_BTC-USD.json"))
    (btc / "trades_0001.json").write_bytes(coinbase_capture_bytes("trades_BTC-USD.json"))
    newer = (
        b'[{"trade_id":1040406592,"side":"sell","size":"0.1","price":"63213.00000000",'
        b'"time":"2026-06-19T16:43:35.000001Z"},{"trade_id":1040406591,"side":"buy","size":"0.2",'
        b'"price":"63212.99000000","time":"2026-06-19T16:43:34.000001Z"}]'
    )
    (btc / "trades_0002.json").write_bytes(newer)
    exchange = exchange_factory(replay_dir=tmp_path)
    url = f"{exchange.url}/products/BTC-USD/trades"
    first = http.get(url)
    assert first.content == coinbase_capture_bytes("trades_BTC-USD.json")
    assert (first.headers["CB-BEFORE"], first.headers["CB-AFTER"]) == ("1040406590", "1040406589")
    assert http.get(url).content == newer and http.get(url).content == newer  # then repeats the last
    older = http.get(url, params={"after": 1040406592, "limit": 2}).json()
    assert [r["trade_id"] for r in older] == [1040406591, 1040406590]
    assert [r["trade_id"] for r in http.get(url, params={"before": 1040406589}).json()] == [
        1040406592,
        1040406591,
        1040406590,
    ]
    assert [r["trade_id"] for r in exchange.trades("BTC-USD")] == list(range(1040406589, 1040406593))
    assert http.get(f"{exchange.url}/products/BTC-USD/stats").status_code == 404  # nothing captured


def test_the_record_is_on_the_control_endpoint_when_asked_for(exchange_factory, http, clock) -> None:
    exchange = exchange_factory(settings=small_settings(1_500, ("SOL-USD",)), clock=clock, control=True)
    clock.advance(60)
    made = exchange.trades("SOL-USD")
    assert requests.get(f"{exchange.url}/_control/trades/SOL-USD").json() == made
    newer = requests.get(f"{exchange.url}/_control/trades/SOL-USD", params={"after_id": made[-4]["trade_id"]})
    assert newer.json() == made[-3:]
    assert requests.get(f"{exchange.url}/_control/trades/XLM-USD").status_code == 404
    assert requests.get(f"{exchange.url}/_control/stats").json()["trades_made"] == {"SOL-USD": len(made)}
    closed = exchange_factory(settings=small_settings(1_500, ("SOL-USD",)), clock=clock)
    assert http.get(f"{closed.url}/_control/trades/SOL-USD").status_code == 404  # off unless asked for
