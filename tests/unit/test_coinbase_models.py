"""Book and ticker parsing from real Coinbase responses: strings kept exactly, drift rescued, gaps named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.support.coinbase_fixtures import coinbase_capture_bytes

from crypto_insights.coinbase.client import validate_product_id
from crypto_insights.coinbase.errors import (
    BadRequest,
    CoinbaseError,
    ExchangeHTTPError,
    ExchangeUnavailable,
    InvalidPayload,
    MalformedPayload,
    ProductNotFound,
)
from crypto_insights.coinbase.models import CallMeta, parse_book, parse_ticker

# The verbatim capture of the public API's GET /products/BTC-USD/book?level=1 (2026-06-19), from
# tests/fixtures/coinbase/ (a missing file fails the tests).
BOOK_LEVEL1_BTC = coinbase_capture_bytes("book_level1_BTC-USD.json")
# The ticker's documented live shape (tests/fixtures/coinbase/README.md): all numbers strings, trade_id an int,
# rfq_volume present and conversions_volume absent; values from the same minute's trades and stats captures.
TICKER_BTC = (
    b'{"ask":"63217.43","bid":"63217.42","volume":"4918.33722403","trade_id":1040406590,'
    b'"price":"63212.97","size":"0.00003219","time":"2026-06-19T16:43:33.739704Z","rfq_volume":"31.625279"}'
)


def book_payload(**changes: Any) -> dict[str, Any]:
    payload = json.loads(BOOK_LEVEL1_BTC)
    payload.update(changes)
    return payload


def ticker_payload(**changes: Any) -> dict[str, Any]:
    payload = json.loads(TICKER_BTC)
    payload.update(changes)
    return payload


def walk(value: Any):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


# -- book -----------------------------------------------------------------------------------------------


def test_book_keeps_the_capture_exactly() -> None:
    book = parse_book("BTC-USD", json.loads(BOOK_LEVEL1_BTC))
    assert book.product_id == "BTC-USD"
    assert book.bids == [["63217.42", "0.00004377", 1]]
    assert book.asks == [["63217.43", "0.24090999", 8]]
    assert book.sequence == 130929351062 and type(book.sequence) is int
    assert book.exchange_time == "2026-06-19T16:43:31.844642586Z"  # nanoseconds kept as received
    assert book.auction_mode is False and book.auction is None
    assert book.rescued == {}
    assert not any(isinstance(v, float) for v in walk(json.loads(BOOK_LEVEL1_BTC)))


def test_book_levels_convert_to_exact_decimals() -> None:
    book = parse_book("BTC-USD", json.loads(BOOK_LEVEL1_BTC))
    bid, ask = book.best_bid, book.best_ask
    assert bid is not None and ask is not None
    assert (bid.price, bid.size, bid.num_orders) == (Decimal("63217.42"), Decimal("0.00004377"), 1)
    assert (ask.price, ask.size, ask.num_orders) == (Decimal("63217.43"), Decimal("0.24090999"), 8)
    assert str(bid.size) == "0.00004377" and str(ask.price) == "63217.43"
    assert ask.price - bid.price == Decimal("0.01")  # one tick, exactly (0.01 as float arithmetic is not)
    assert float(ask.price) - float(bid.price) != 0.01


def test_book_rows_keep_their_formatting() -> None:
    rows = [["77589.4", "0.0001", 1], ["77580", "12.50000000", 3]]
    book = parse_book("BTC-USD", book_payload(bids=rows, asks=[]))
    assert book.bids == rows  # no padding zeros added or stripped
    assert [lvl.price for lvl in book.levels("bids")] == [Decimal("77589.4"), Decimal("77580")]
    assert [str(lvl.size) for lvl in book.levels("bids", limit=2)] == ["0.0001", "12.50000000"]
    assert book.best_ask is None


def test_book_unknown_fields_are_rescued() -> None:
    book = parse_book("BTC-USD", book_payload(new_field={"depth": "1"}, venue="x"))
    assert book.rescued == {"new_field": {"depth": "1"}, "venue": "x"}
    assert book.sequence == 130929351062


def test_book_bad_values_are_data_not_errors() -> None:
    """Crossed books and negative sizes reach the warehouse, whose rules count and drop them."""
    book = parse_book("BTC-USD", book_payload(bids=[["63300.00", "-1", 1]], asks=[["63200.00", "1", 1]]))
    assert book.best_bid is not None and book.best_bid.size == Decimal("-1")


def test_book_carries_call_metadata() -> None:
    at = datetime(2026, 6, 19, 16, 43, 31, tzinfo=UTC)
    meta = CallMeta("http://x/products/BTC-USD/book?level=1", 200, 3, at, at, len(BOOK_LEVEL1_BTC))
    book = parse_book("BTC-USD", json.loads(BOOK_LEVEL1_BTC), meta, BOOK_LEVEL1_BTC)
    assert (book.requested_at, book.received_at, book.attempts, book.body_bytes, book.url) == (
        at,
        at,
        3,
        len(BOOK_LEVEL1_BTC),
        meta.url,
    )


@pytest.mark.parametrize("missing", ["bids", "asks", "sequence", "time"])
def test_book_missing_required_field_is_named(missing: str) -> None:
    payload = book_payload()
    del payload[missing]
    body = json.dumps(payload).encode()
    with pytest.raises(InvalidPayload) as caught:
        parse_book("BTC-USD", payload, body=body)
    err = caught.value
    assert err.field == missing and err.product_id == "BTC-USD" and err.endpoint == "book"
    assert repr(missing) in str(err) and "BTC-USD" in str(err)
    assert err.body_excerpt == body.decode()
    assert isinstance(err, CoinbaseError)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sequence", "130929351062"),
        ("sequence", True),
        ("sequence", 1.5),
        ("time", 1781887411),
        ("bids", {"63217.42": "0.1"}),
        ("asks", None),
        ("bids", [[63217.42, 0.00004377, 1]]),  # numbers instead of strings
        ("asks", [["63217.43", "0.24090999"]]),  # a row without num_orders
        ("auction_mode", "false"),
    ],
)
def test_book_mistyped_field_is_named(field: str, value: Any) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_book("BTC-USD", book_payload(**{field: value}))
    assert caught.value.field == field
    assert repr(field) in str(caught.value)
    assert caught.value.body_excerpt  # the payload, for the error record


@pytest.mark.parametrize("payload", [[], "NotFound", None, 42])
def test_book_that_is_not_an_object(payload: Any) -> None:
    with pytest.raises(InvalidPayload, match="expected a JSON object"):
        parse_book("BTC-USD", payload)


# -- ticker ---------------------------------------------------------------------------------------------


def test_ticker_keeps_strings_and_converts_exactly() -> None:
    ticker = parse_ticker("BTC-USD", json.loads(TICKER_BTC))
    assert (ticker.price, ticker.size, ticker.bid, ticker.ask, ticker.volume) == (
        "63212.97",
        "0.00003219",
        "63217.42",
        "63217.43",
        "4918.33722403",
    )
    assert ticker.trade_id == 1040406590 and type(ticker.trade_id) is int
    assert ticker.time == "2026-06-19T16:43:33.739704Z"
    assert ticker.rfq_volume == "31.625279" and ticker.conversions_volume is None
    assert ticker.rescued == {}
    assert ticker.decimal("price") == Decimal("63212.97")
    assert str(ticker.decimal("volume")) == "4918.33722403"
    assert ticker.decimal("conversions_volume") is None
    with pytest.raises(ValueError, match="not a numeric ticker field"):
        ticker.decimal("time")


def test_ticker_optional_and_unknown_fields() -> None:
    ticker = parse_ticker("BTC-USD", ticker_payload(conversions_volume="1.5", best_bid_size="0.3"))
    assert ticker.conversions_volume == "1.5"
    assert ticker.rescued == {"best_bid_size": "0.3"}


@pytest.mark.parametrize("missing", ["price", "bid", "ask", "time", "trade_id", "volume", "size"])
def test_ticker_missing_required_field_is_named(missing: str) -> None:
    payload = ticker_payload()
    del payload[missing]
    with pytest.raises(InvalidPayload) as caught:
        parse_ticker("ETH-USD", payload)
    assert caught.value.field == missing and caught.value.endpoint == "ticker"
    assert repr(missing) in str(caught.value) and "ETH-USD" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", 63212.97),
        ("price", "abc"),
        ("bid", None),
        ("size", "NaN"),
        ("trade_id", "1040406590"),
        ("trade_id", False),
        ("time", None),
        ("rfq_volume", 31.6),
    ],
)
def test_ticker_mistyped_field_is_named(field: str, value: Any) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_ticker("BTC-USD", ticker_payload(**{field: value}))
    assert caught.value.field == field


# -- product ids and error messages ---------------------------------------------------------------------


@pytest.mark.parametrize("pid", ["BTC-USD", "DOGE-USD", "1INCH-USDC", "BTC-EURC"])
def test_valid_product_ids(pid: str) -> None:
    assert validate_product_id(pid) == pid


@pytest.mark.parametrize(
    "pid", ["btc-usd", "BTC-USD\n", "BTC/USD", "../products", "BTC-USD?level=3", "", "B-USD", "BTC-US", 7]
)
def test_invalid_product_ids_never_reach_a_url(pid: Any) -> None:
    with pytest.raises(ValueError, match=r"invalid product id .*e\.g\. BTC-USD"):
        validate_product_id(pid)


def test_error_messages_say_what_to_do() -> None:
    url = "http://127.0.0.1:1/products/XRP-USD/book?level=2"
    nf = ProductNotFound("XRP-USD", url, attempts=1)
    assert isinstance(nf, ExchangeHTTPError) and nf.status == 404
    assert "'XRP-USD'" in str(nf) and "symbols" in str(nf)
    bad = BadRequest(400, "User-Agent header is required.", url)
    assert "User-Agent header is required." in str(bad) and "exchange.user_agent" in str(bad)
    down = ExchangeUnavailable("http://127.0.0.1:1", url, "HTTP 503 'down'", attempts=5, status=503)
    assert "5 time(s)" in str(down) and "COINBASE_API_URL" in str(down) and "network" in str(down)
    assert down.attempts == 5 and down.status == 503
    mal = MalformedPayload(url, b'{"bids": [', "Expecting value: line 1 column 11 (char 10)")
    assert mal.body == b'{"bids": [' and mal.body_excerpt == '{"bids": [' and "not valid JSON" in str(mal)
