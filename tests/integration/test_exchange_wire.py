"""The offline exchange speaks Coinbase's wire format: paths, status codes, headers and JSON shapes.

Every check is made over real HTTP against the captured responses in tests/fixtures/coinbase/.
"""

from __future__ import annotations

import http.client
import threading
from decimal import Decimal

import pytest
import requests
from tests.integration.exchange_helpers import BOOK_TIME, PLAIN_NUMBER, TICKER_TIME
from tests.support.coinbase_fixtures import coinbase_capture
from urllib3.util import SKIP_HEADER

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.config import load_settings

SETTINGS = load_settings()


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


@pytest.mark.parametrize("path", [
    "/products/XLM-USD", "/products/XLM-USD/book?level=2", "/products/XLM-USD/ticker", "/products/btc-usd",
    "/products/BTC-USD/candlesticks", "/products/BTC-USD/book/extra", "/", "/time", "/products/",
])  # fmt: skip
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
