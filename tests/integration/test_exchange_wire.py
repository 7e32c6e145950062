"""The offline exchange speaks Coinbase's wire format: paths, status codes, headers and JSON shapes.

Every check is made over real HTTP against the captured responses in tests/fixtures/coinbase/.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from tests.integration.exchange_helpers import BOOK_TIME, PLAIN_NUMBER, TICKER_TIME, small_settings
from tests.support.coinbase_fixtures import coinbase_capture
from urllib3.util import SKIP_HEADER

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.config import load_settings

SETTINGS = load_settings()
VOLUME = re.compile(r"^(0|[1-9]\d*)\.\d{8}$")  # stats volumes: 8 decimals
RFQ_VOLUME = re.compile(r"^(0|[1-9]\d*)\.\d{6}$")  # stats RFQ volumes: 6 decimals
TIME_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NS = 1_000_000_000
CURRENCY_KEYS = [
    "id",
    "name",
    "min_size",
    "status",
    "message",
    "max_precision",
    "convertible_to",
    "details",
    "default_network",
    "supported_networks",
]


class TestClock:
    """Epoch nanoseconds that move only when the test says so (the trade tape runs on it)."""

    __test__ = False

    def __init__(self) -> None:
        self.now = 1_790_000_000 * NS

    def __call__(self) -> int:
        return self.now


def json_types(value) -> object:
    """The shape of a JSON value: types of its fields, recursively (values ignored)."""
    if isinstance(value, dict):
        return {k: json_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_types(v) for v in value[:1]]
    return type(value).__name__


def test_product_has_the_real_shape_and_increments(exchange, http) -> None:
    real = coinbase_capture("product_BTC-USD.json")
    ours = http.get(f"{exchange.url}/products/BTC-USD").json()
    assert list(ours) == list(real)
    assert json_types(ours) == json_types(real)
    for key in ("id", "base_currency", "quote_currency", "quote_increment", "base_increment", "status"):
        assert ours[key] == real[key], key


def test_products_lists_every_configured_symbol_with_its_increments(exchange, http) -> None:
    response = http.get(f"{exchange.url}/products")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    products = response.json()
    assert [p["id"] for p in products] == list(SETTINGS.product_ids)
    for product in products:
        symbol = SETTINGS.symbol(product["id"])
        assert Decimal(product["quote_increment"]) == symbol.quote_increment
        assert Decimal(product["base_increment"]) == symbol.base_increment
        assert PLAIN_NUMBER.match(product["quote_increment"]) and PLAIN_NUMBER.match(product["base_increment"])
    ada = next(p for p in products if p["id"] == "ADA-USD")
    assert (ada["quote_increment"], ada["base_increment"]) == ("0.0001", "0.01")


@pytest.mark.parametrize("level", [1, 2])
def test_book_has_the_real_shape(exchange, http, level) -> None:
    real = coinbase_capture("book_level1_BTC-USD.json")
    response = http.get(f"{exchange.url}/products/BTC-USD/book", params={"level": level})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert b" " not in response.content[:200]  # compact JSON, like Coinbase
    book = response.json()
    assert list(book) == list(real)  # bids, asks, sequence, auction_mode, auction, time: same order
    assert json_types(book) == json_types(real)
    assert book["auction_mode"] is False and book["auction"] is None
    assert BOOK_TIME.match(book["time"])
    if level == 1:
        assert len(book["bids"]) == len(book["asks"]) == 1
    else:
        assert len(book["bids"]) > 20_000 and len(book["asks"]) > 20_000  # the whole book, BTC-size


def test_book_without_level_is_level_1(exchange, http) -> None:
    book = http.get(f"{exchange.url}/products/ETH-USD/book").json()
    assert len(book["bids"]) == len(book["asks"]) == 1


def test_ticker_has_the_documented_shape(exchange, http) -> None:
    ticker = http.get(f"{exchange.url}/products/BTC-USD/ticker").json()
    assert list(ticker) == ["ask", "bid", "volume", "trade_id", "price", "size", "time", "rfq_volume"]
    assert isinstance(ticker["trade_id"], int) and not isinstance(ticker["trade_id"], bool)
    for name in ("ask", "bid", "volume", "price", "size", "rfq_volume"):
        assert isinstance(ticker[name], str) and PLAIN_NUMBER.match(ticker[name]), name
    assert TICKER_TIME.match(ticker["time"])


def test_ticker_follows_the_book(exchange, http) -> None:
    """The ticker shows the state of the last served book: same best bid/ask, last trade at the touch."""
    trade_ids, times = [], []
    for _ in range(5):
        book = http.get(f"{exchange.url}/products/SOL-USD/book", params={"level": 1}).json()
        ticker = http.get(f"{exchange.url}/products/SOL-USD/ticker").json()
        assert (ticker["bid"], ticker["ask"]) == (book["bids"][0][0], book["asks"][0][0])
        mid = (Decimal(ticker["bid"]) + Decimal(ticker["ask"])) / 2
        assert abs(Decimal(ticker["price"]) - mid) / mid < Decimal("0.01")
        assert Decimal(ticker["volume"]) > 0 and Decimal(ticker["size"]) > 0
        trade_ids.append(ticker["trade_id"])
        times.append(ticker["time"])
    assert trade_ids == sorted(set(trade_ids)) and times == sorted(set(times))


def test_missing_user_agent_is_400(exchange) -> None:
    response = requests.get(f"{exchange.url}/products/BTC-USD/book", headers={"User-Agent": SKIP_HEADER})
    assert response.status_code == 400
    assert response.content == b'{"message":"User-Agent header is required."}'
    connection = http.client.HTTPConnection(exchange.host, exchange.port, timeout=5)
    connection.request("GET", "/products")  # http.client sends no User-Agent of its own
    assert connection.getresponse().status == 400
    connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/products/XLM-USD",
        "/products/XLM-USD/book?level=2",
        "/products/XLM-USD/ticker",
        "/products/btc-usd",
        "/products/BTC-USD/candlesticks",
        "/products/BTC-USD/book/extra",
        "/",
        "/times",
        "/products/",
        "/products/XLM-USD/trades",
        "/products/XLM-USD/stats",
        "/products/XLM-USD/candles",
        "/products/BTC-USD/trades/1",
        "/currencies/XLM",
        "/currencies/btc",
        "/currencies/",
        "/time/now",
    ],
)
def test_unknown_product_or_path_is_404_not_found(exchange, http, path) -> None:
    response = http.get(f"{exchange.url}{path}")
    assert response.status_code == 404 and response.content == b'{"message":"NotFound"}'
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("level", ["3", "0", "two"])
def test_unsupported_book_level_is_400(exchange, http, level) -> None:
    response = http.get(f"{exchange.url}/products/BTC-USD/book", params={"level": level})
    assert response.status_code == 400 and response.json() == {"message": "Invalid level"}


def test_other_methods_on_public_paths_are_404(exchange, http) -> None:
    assert http.post(f"{exchange.url}/products/BTC-USD/book", data=b"{}").status_code == 404
    assert http.get(f"{exchange.url}/products").status_code == 200  # the connection is still usable


def test_the_project_client_reads_it_unchanged(exchange) -> None:
    from dataclasses import replace

    settings = replace(SETTINGS.exchange, api_url=exchange.url)
    with CoinbaseClient(settings) as client:
        assert [p["id"] for p in client.get_products()] == list(SETTINGS.product_ids)
        book = client.get_book("ETH-USD", level=2)
        ticker = client.get_ticker("ETH-USD")
    assert book.best_bid.price < book.best_ask.price and len(book.bids) > 10_000 and book.rescued == {}
    assert ticker.decimal("bid") == book.best_bid.price and ticker.rescued == {}


def test_serves_concurrent_clients_and_steps_once_per_book(exchange) -> None:
    """Ten threads, all products at once: every answer whole, every book a distinct step of its product."""
    products = SETTINGS.product_ids
    sequences: dict[str, list[int]] = {p: [] for p in products}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def fetch(worker: int) -> None:
        try:
            with requests.Session() as session:
                session.headers["User-Agent"] = f"worker-{worker}"
                for i in range(4):
                    product = products[(worker + i) % len(products)]
                    book = session.get(f"{exchange.url}/products/{product}/book", params={"level": 2}).json()
                    session.get(f"{exchange.url}/products/{product}/ticker").raise_for_status()
                    assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])
                    with lock:
                        sequences[product].append(book["sequence"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    assert 40 % len(products) == 0, "ten workers x four books must cover every product equally often"
    threads = [threading.Thread(target=fetch, args=(w,)) for w in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    served = exchange.book_steps()
    for product in products:
        assert len(sequences[product]) == len(set(sequences[product])) == served[product] == 40 // len(products)
    assert exchange.requests_served.total() == 80 and exchange.responses == {200: 80}


# -- the other public market-data endpoints --------------------------------------------------------------------


def test_stats_have_the_real_shape(exchange, http) -> None:
    real = coinbase_capture("stats_BTC-USD.json")
    response = http.get(f"{exchange.url}/products/BTC-USD/stats")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    ours = response.json()
    assert list(ours) == list(real) and json_types(ours) == json_types(real)
    for stats in (real, ours):  # the capture passes the same checks
        assert all(PLAIN_NUMBER.match(stats[k]) for k in ("open", "high", "low", "last")), stats
        assert VOLUME.match(stats["volume"]) and VOLUME.match(stats["volume_30day"]), stats
        assert RFQ_VOLUME.match(stats["rfq_volume_24hour"]) and RFQ_VOLUME.match(stats["rfq_volume_30day"]), stats
        low, high = Decimal(stats["low"]), Decimal(stats["high"])
        assert low <= Decimal(stats["open"]) <= high and low <= Decimal(stats["last"]) <= high
        assert Decimal(stats["volume"]) <= Decimal(stats["volume_30day"])
    # a fresh exchange reports a modelled day: BTC-USD trades ~$400M a day at its start price
    assert 4_000 < Decimal(ours["volume"]) < 6_000 and ours["open"] == "77500"


def test_stats_come_from_the_prints_of_the_last_day(exchange_factory, http) -> None:
    clock = TestClock()
    exchange = exchange_factory(settings=small_settings(1_500, ("DOGE-USD",)), clock=clock)
    clock.now += 25 * 3_600 * NS  # a day and an hour of trading: the window holds only the exchange's prints
    stats = http.get(f"{exchange.url}/products/DOGE-USD/stats").json()
    prints = [p for p in exchange.trades("DOGE-USD") if _ns(p["time"]) >= clock.now - 86_400 * NS]
    prices = [Decimal(p["price"]) for p in prints]
    assert len(prints) > 30_000
    assert Decimal(stats["last"]) == prices[-1] and Decimal(stats["open"]) == prices[0]
    assert (Decimal(stats["high"]), Decimal(stats["low"])) == (max(prices), min(prices))
    assert Decimal(stats["volume"]) == sum(Decimal(p["size"]) for p in prints)
    assert Decimal(stats["volume_30day"]) > Decimal(stats["volume"])


def _ns(stamp: str) -> int:
    whole, fraction = stamp[:-1].split(".")
    return int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()) * NS + int(fraction.ljust(9, "0"))


def test_candles_have_the_real_shape_and_sum_the_prints(exchange_factory, http) -> None:
    real = coinbase_capture("candles_60_BTC-USD.json")
    clock = TestClock()
    exchange = exchange_factory(settings=small_settings(1_500, ("BTC-USD",)), clock=clock)
    clock.now += 900 * NS
    for granularity in (60, 300):
        response = http.get(f"{exchange.url}/products/BTC-USD/candles", params={"granularity": granularity})
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
        ours = response.json()
        for row in [*ours, *real]:  # [time, low, high, open, close, volume]: numbers (77500 is written as an int)
            assert len(row) == 6 and type(row[0]) is int and all(type(v) in (int, float) for v in row[1:]), row
        times = [row[0] for row in ours]
        assert times == sorted(times, reverse=True) and all(t % granularity == 0 for t in times)
        buckets = defaultdict(list)
        for p in exchange.trades("BTC-USD"):
            buckets[_ns(p["time"]) // NS // granularity * granularity].append(p)
        assert times == sorted(buckets, reverse=True)  # one candle per bucket with prints
        decoded = response.json(parse_float=Decimal, parse_int=Decimal)
        for t, low, high, open_, close, volume in decoded:
            prints = buckets[int(t)]
            prices = [Decimal(p["price"]) for p in prints]
            assert (low, high, open_, close) == (min(prices), max(prices), prices[0], prices[-1])
            assert volume == sum(Decimal(p["size"]) for p in prints)
    for row in real:  # the capture: low <= open, close <= high, newest first
        assert row[1] <= min(row[3], row[4]) <= max(row[3], row[4]) <= row[2]
    assert real[0][0] > real[1][0]


def test_candles_take_a_time_range_and_refuse_what_coinbase_refuses(exchange_factory, http) -> None:
    clock = TestClock()
    exchange = exchange_factory(settings=small_settings(1_500, ("ETH-USD",)), clock=clock)
    clock.now += 3_600 * NS
    url = f"{exchange.url}/products/ETH-USD/candles"
    start = datetime.fromtimestamp(1_790_000_000 + 600, UTC)
    ranged = http.get(
        url, params={"granularity": 60, "start": start.isoformat(), "end": (1_790_000_000 + 1_200)}
    ).json()
    assert ranged and all(1_790_000_600 <= row[0] <= 1_790_001_200 for row in ranged)
    every = http.get(url, params={"granularity": 60}).json()
    assert len(every) <= 300 and ranged == [row for row in every if 1_790_000_600 <= row[0] <= 1_790_001_200]
    for params, text in (
        ({"granularity": 120}, "Unsupported granularity"),
        ({"granularity": "hourly"}, "Unsupported granularity"),
        (
            {"granularity": 60, "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
            "granularity too small for the requested time range. Count of aggregations requested exceeds 300",
        ),
        ({"granularity": 60, "start": "yesterday"}, "Invalid start"),
    ):
        response = http.get(url, params=params)
        assert response.status_code == 400 and response.json() == {"message": text}, params


def test_time_is_coinbases_iso_and_epoch(exchange, http) -> None:
    before = time.time()
    response = http.get(f"{exchange.url}/time")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    ours = response.json()
    assert list(ours) == ["iso", "epoch"] and TIME_ISO.match(ours["iso"]) and isinstance(ours["epoch"], float)
    assert before - 1 <= ours["epoch"] <= time.time() + 1
    assert datetime.fromisoformat(ours["iso"].replace("Z", "+00:00")).timestamp() == pytest.approx(ours["epoch"])


def test_currencies_list_every_base_and_quote(exchange, http) -> None:
    response = http.get(f"{exchange.url}/currencies")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    currencies = response.json()
    expected = {s.base_currency for s in SETTINGS.symbols} | {s.quote_currency for s in SETTINGS.symbols}
    assert sorted(c["id"] for c in currencies) == sorted(expected)
    for currency in currencies:
        assert list(currency) == CURRENCY_KEYS, currency["id"]
        assert PLAIN_NUMBER.match(currency["min_size"]) and currency["status"] == "online"
        assert isinstance(currency["details"], dict) and isinstance(currency["supported_networks"], list)
        assert currency["details"]["type"] == ("fiat" if currency["id"] == "USD" else "crypto")
    btc = http.get(f"{exchange.url}/currencies/BTC").json()
    assert btc == next(c for c in currencies if c["id"] == "BTC") and btc["name"] == "Bitcoin"
    assert btc["default_network"] == btc["supported_networks"][0]["id"] == "bitcoin"


def test_new_endpoints_take_faults_like_any_path(exchange, http) -> None:
    for path in ("/time", "/currencies", "/products/BTC-USD/stats", "/products/BTC-USD/candles"):
        exchange.faults.add(path, "server_error", count=1)
        assert http.get(f"{exchange.url}{path}").status_code == 503, path
        assert http.get(f"{exchange.url}{path}").status_code == 200, path
    exchange.faults.add("/products/BTC-USD/stats", "extra_field", count=1)
    assert "new_field" in http.get(f"{exchange.url}/products/BTC-USD/stats").json()
