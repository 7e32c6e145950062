"""Every fault kind, switched on through the Python API, the control endpoint (only when asked for), per path, with
counts or probabilities; and the chaos mix."""

from __future__ import annotations

import dataclasses
import json
import time
from decimal import Decimal

import pytest
import requests
from tests.integration.exchange_helpers import get_book, small_settings
from urllib3.util import SKIP_HEADER

from crypto_insights.exchange.faults import (
    CHAOS_MIX,
    FaultError,
    FaultTable,
    chaos_faults,
    install_chaos,
    parse_cli_fault,
)

BOOK = "/products/BTC-USD/book"
TICKER = "/products/BTC-USD/ticker"


@pytest.fixture
def controlled(exchange_factory):
    """An exchange that serves the fault-control endpoint (off by default)."""
    return exchange_factory(control=True)


def test_rate_limit_fault_is_coinbase_429_for_count_requests(exchange, http) -> None:
    exchange.faults.add(BOOK, "rate_limit", count=2)
    answers = [http.get(f"{exchange.url}{BOOK}", params={"level": 1}) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].content == b'{"message":"Public rate limit exceeded"}'
    assert "Retry-After" not in answers[0].headers  # Coinbase sends none
    assert len(exchange.faults) == 0  # spent


def test_rate_limit_fault_can_ask_to_retry_after(exchange, http) -> None:
    exchange.faults.add(TICKER, "rate_limit", count=1, retry_after=2)
    answer = http.get(f"{exchange.url}{TICKER}")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2"


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({}, 503, "Service Unavailable"),
        ({"status": 502}, 502, "Bad Gateway"),
        ({"status": 500, "message": "Internal server error"}, 500, "Internal server error"),
    ],
)
def test_server_error(exchange, http, params, status, text) -> None:
    exchange.faults.add(BOOK, "server_error", count=1, **params)
    answer = http.get(f"{exchange.url}{BOOK}", params={"level": 2})
    assert answer.status_code == status and answer.json() == {"message": text}
    assert answer.headers["Content-Type"] == "application/json"
    assert http.get(f"{exchange.url}{BOOK}", params={"level": 2}).status_code == 200


def test_answering_faults_do_not_step_the_book(exchange, http) -> None:
    exchange.faults.add(BOOK, "server_error", count=2)
    exchange.faults.add(BOOK, "rate_limit", count=1)
    for _ in range(2):
        assert http.get(f"{exchange.url}{BOOK}").status_code in (429, 503)
    assert exchange.book_steps()["BTC-USD"] == 0
    http.get(f"{exchange.url}{BOOK}").raise_for_status()
    assert exchange.book_steps()["BTC-USD"] == 1


def test_delay_outlasts_the_client_read_timeout(exchange, http) -> None:
    exchange.faults.add(TICKER, "delay", count=1, seconds=1.5)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        http.get(f"{exchange.url}{TICKER}", timeout=(1, 0.4))
    assert time.monotonic() - started < 1.4
    assert http.get(f"{exchange.url}{TICKER}", timeout=(1, 5)).status_code == 200


def test_delay_defaults_past_the_configured_read_timeout(exchange) -> None:
    fault = exchange.faults.add(TICKER, "delay")
    assert fault.params["seconds"] > exchange.settings.exchange.read_timeout_s


def test_delayed_answer_still_comes_when_waited_for(exchange, http) -> None:
    exchange.faults.add(TICKER, "delay", count=1, seconds=0.3)
    started = time.monotonic()
    assert http.get(f"{exchange.url}{TICKER}", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_reset_closes_the_connection_abruptly(exchange, http) -> None:
    exchange.faults.add(BOOK, "reset", count=1)
    with pytest.raises(requests.ConnectionError) as caught:
        http.get(f"{exchange.url}{BOOK}")
    assert "reset" in str(caught.value).lower()  # ECONNRESET, not a clean close
    assert http.get(f"{exchange.url}{BOOK}").status_code == 200
    assert exchange.responses[0] == 1


def test_malformed_json_is_a_200_that_does_not_parse(exchange, http) -> None:
    exchange.faults.add(BOOK, "malformed_json", count=1)
    exchange.faults.add(TICKER, "malformed_json", count=1, mode="html")
    book = http.get(f"{exchange.url}{BOOK}", params={"level": 2})
    ticker = http.get(f"{exchange.url}{TICKER}")
    for answer in (book, ticker):
        assert answer.status_code == 200
        with pytest.raises(ValueError):
            json.loads(answer.content)
    assert book.content.startswith(b'{"bids":[["') and len(book.content) > 100_000  # cut mid-body
    assert ticker.content.startswith(b"<html>")


@pytest.mark.parametrize("field", ["bids", "sequence", "time"])
def test_missing_field_drops_just_that_field(exchange, http, field) -> None:
    exchange.faults.add(BOOK, "missing_field", count=1, field=field)
    book = get_book(http, exchange, "BTC-USD", level=1)
    expected = [k for k in ("bids", "asks", "sequence", "auction_mode", "auction", "time") if k != field]
    assert list(book) == expected


def test_missing_field_on_the_ticker(exchange, http) -> None:
    exchange.faults.add(TICKER, "missing_field", field="price")
    assert "price" not in http.get(f"{exchange.url}{TICKER}").json()


def test_extra_field_adds_unknown_top_level_fields(exchange, http) -> None:
    exchange.faults.add(BOOK, "extra_field", count=1)
    exchange.faults.add(TICKER, "extra_field", count=1, fields={"conversions_volume": "0", "venue": {"x": 1}})
    book = get_book(http, exchange, "BTC-USD", level=2)
    assert list(book)[:6] == ["bids", "asks", "sequence", "auction_mode", "auction", "time"]
    assert isinstance(book["new_field"], dict) and len(book["bids"]) > 20_000
    ticker = http.get(f"{exchange.url}{TICKER}").json()
    assert ticker["conversions_volume"] == "0" and ticker["venue"] == {"x": 1}


@pytest.mark.parametrize(("by_ticks", "level"), [(1, 2), (0, 1), (5, 1)])
def test_crossed_book(exchange, http, by_ticks, level) -> None:
    exchange.faults.add(BOOK, "crossed_book", count=1, by_ticks=by_ticks)
    book = get_book(http, exchange, "BTC-USD", level=level)
    best_bid, best_ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
    assert best_bid - best_ask == by_ticks * Decimal("0.01")  # by_ticks=0: a locked book
    assert len(book["asks"]) == (1 if level == 1 else len(book["asks"]))
    asks = [Decimal(p) for p, _, _ in book["asks"]]
    assert asks == sorted(asks)  # still ascending: only the touch is wrong
    fresh = get_book(http, exchange, "BTC-USD", level=1)
    assert Decimal(fresh["bids"][0][0]) < Decimal(fresh["asks"][0][0])


def test_crossed_ticker(exchange, http) -> None:
    exchange.faults.add(TICKER, "crossed_book", count=1)
    ticker = http.get(f"{exchange.url}{TICKER}").json()
    assert Decimal(ticker["ask"]) < Decimal(ticker["bid"])


def test_negative_size(exchange, http) -> None:
    exchange.faults.add("/products/ETH-USD/book", "negative_size", count=1, levels=2)
    exchange.faults.add("/products/ETH-USD/ticker", "negative_size", count=1)
    book = get_book(http, exchange, "ETH-USD", level=2)
    for side in ("bids", "asks"):
        negative = [i for i, (_, size, _) in enumerate(book[side]) if size.startswith("-")]
        assert negative == [0, 3]
        assert all(Decimal(size) > 0 for _, size, _ in book[side][10:])
    assert http.get(f"{exchange.url}/products/ETH-USD/ticker").json()["size"].startswith("-")


def test_faults_match_the_path_without_query_and_globs(exchange, http) -> None:
    exchange.faults.add("/products/*/ticker", "server_error", status=500)
    assert http.get(f"{exchange.url}/products/DOGE-USD/ticker?x=1").status_code == 500
    assert http.get(f"{exchange.url}/products/ADA-USD/ticker").status_code == 500
    assert http.get(f"{exchange.url}/products/ADA-USD/book").status_code == 200
    exchange.faults.add(BOOK, "server_error", status=502)
    assert http.get(f"{exchange.url}{BOOK}?level=2").status_code == 502
    assert http.get(f"{exchange.url}/products/BTC-USD").status_code == 200


def test_a_fault_without_count_lasts_until_cleared(exchange, http) -> None:
    exchange.faults.add(BOOK, "server_error")
    assert [http.get(f"{exchange.url}{BOOK}").status_code for _ in range(4)] == [503] * 4
    assert exchange.faults.list()[0]["hits"] == 4
    assert exchange.faults.clear() == 1
    assert http.get(f"{exchange.url}{BOOK}").status_code == 200


def test_faults_combine_delay_then_body_edits(exchange, http) -> None:
    exchange.faults.add(BOOK, "delay", count=1, seconds=0.2)
    exchange.faults.add(BOOK, "missing_field", count=1, field="auction")
    exchange.faults.add(BOOK, "extra_field", count=1)
    book = get_book(http, exchange, "BTC-USD", level=1)
    assert "auction" not in book and "new_field" in book


def test_control_endpoint_is_off_unless_asked_for(exchange, http) -> None:
    for method, path in (
        ("GET", "/_control/faults"),
        ("POST", "/_control/faults"),
        ("GET", "/_control/stats"),
        ("DELETE", "/_control/faults"),
    ):
        answer = http.request(method, f"{exchange.url}{path}", json={"path": BOOK, "fault": "reset"})
        assert answer.status_code == 404 and answer.json() == {"message": "NotFound"}, (method, path)
    assert len(exchange.faults) == 0
    assert http.get(f"{exchange.url}{BOOK}").status_code == 200


def test_control_endpoint_adds_lists_and_clears(controlled) -> None:
    exchange = controlled
    control = f"{exchange.url}/_control/faults"
    # no User-Agent needed, never rate limited
    no_agent = {"User-Agent": SKIP_HEADER}
    added = requests.post(
        control, json={"path": BOOK, "fault": "server_error", "count": 2, "status": 504}, headers=no_agent
    )
    assert added.status_code == 201
    assert added.json() == {
        "id": added.json()["id"],
        "path": BOOK,
        "fault": "server_error",
        "count": 2,
        "hits": 0,
        "status": 504,
        "message": "Gateway Timeout",
    }
    both = requests.post(control, json=[{"path": TICKER, "fault": "reset"}, {"path": BOOK, "kind": "delay"}])
    assert both.status_code == 201 and [f["fault"] for f in both.json()] == ["reset", "delay"]
    listed = requests.get(control, headers=no_agent).json()
    assert [(f["path"], f["fault"]) for f in listed] == [(BOOK, "server_error"), (TICKER, "reset"), (BOOK, "delay")]
    removed = requests.delete(f"{control}/{listed[2]['id']}")
    assert removed.status_code == 200 and len(exchange.faults) == 2
    assert requests.delete(f"{control}/999").status_code == 404
    assert requests.delete(control).json() == {"cleared": 2}
    assert requests.get(control).json() == []
    assert exchange.requests_served.total() == 0  # control requests are not counted


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"path": BOOK, "fault": "meltdown"}, "unknown fault kind 'meltdown'; use one of: rate_limit"),
        ({"path": BOOK, "fault": "delay", "secs": 3}, "delay takes seconds; got secs"),
        ({"path": BOOK, "fault": "server_error", "status": 200}, "status must be >= 400"),
        ({"path": "products", "fault": "reset"}, "a fault path is a request path"),
        ({"path": BOOK + "?level=2", "fault": "reset"}, "without query string"),
        ({"path": BOOK, "fault": "reset", "count": 0}, "count must be a whole number >= 1"),
        ({"fault": "reset"}, 'each fault is {"path"'),
        ({"path": BOOK, "fault": "malformed_json", "mode": "xml"}, "mode must be 'truncate' or 'html'"),
        ({"path": BOOK, "fault": "reset", "probability": 0}, "probability must be a number in (0, 1]"),
        ({"path": BOOK, "fault": "reset", "probability": "often"}, "probability must be a number in (0, 1]"),
    ],
)
def test_control_endpoint_rejects_bad_faults_saying_why(controlled, body, says) -> None:
    exchange = controlled
    answer = requests.post(f"{exchange.url}/_control/faults", json=body)
    assert answer.status_code == 400 and says in answer.json()["message"]
    assert len(exchange.faults) == 0


def test_control_endpoint_rejects_non_json(controlled) -> None:
    answer = requests.post(f"{controlled.url}/_control/faults", data=b"{nope")
    assert answer.status_code == 400 and "must be JSON" in answer.json()["message"]


def test_stats_show_steps_requests_and_faults(controlled, http) -> None:
    exchange = controlled
    exchange.faults.add(TICKER, "server_error", count=1)
    http.get(f"{exchange.url}{BOOK}")
    http.get(f"{exchange.url}{TICKER}")
    stats = requests.get(f"{exchange.url}/_control/stats").json()
    assert stats["mode"] == "generated" and stats["seed"] == 7 and stats["chaos"] is None
    assert stats["book_steps"]["BTC-USD"] == 1
    assert stats["requests_served"] == {BOOK: 1, TICKER: 1}
    assert stats["responses"] == {"200": 1, "503": 1} and stats["faults"] == []


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("/products/BTC-USD/book=server_error", ("/products/BTC-USD/book", "server_error", None, {})),
        (
            "/products/BTC-USD/book=server_error:3,status=502",
            ("/products/BTC-USD/book", "server_error", 3, {"status": 502}),
        ),
        (
            "/products/*/ticker=rate_limit,retry_after=1.5",
            ("/products/*/ticker", "rate_limit", None, {"retry_after": 1.5}),
        ),
        (
            "/products/SOL-USD/book=missing_field:1,field=sequence",
            ("/products/SOL-USD/book", "missing_field", 1, {"field": "sequence"}),
        ),
    ],
)
def test_cli_fault_specs_parse(spec, parsed) -> None:
    assert parse_cli_fault(spec) == parsed


@pytest.mark.parametrize("spec", ["server_error", "/products/BTC-USD/book=", "/p=reset:x", "/p=reset,status"])
def test_bad_cli_fault_specs_say_what_is_expected(spec) -> None:
    with pytest.raises(FaultError, match=r"PATH=KIND|COUNT|NAME=VALUE"):
        parse_cli_fault(spec)


# -- probabilities and chaos ------------------------------------------------------------------------------------


def _hits(table: FaultTable, path: str, requests_: int) -> list[list[str]]:
    return [[f.kind for f in table.take(path)] for _ in range(requests_)]


def test_probability_affects_that_share_reproducibly() -> None:
    runs = []
    for _ in range(2):
        table = FaultTable(seed=11)
        table.add("/products/*/book", "server_error", probability=0.3)
        runs.append(_hits(table, BOOK, 1000))
    affected = sum(bool(kinds) for kinds in runs[0])
    assert 250 <= affected <= 350  # 0.3 of 1000, +-3.5 sd
    assert runs[0] == runs[1]  # same seed, same requests affected
    other = FaultTable(seed=12)
    other.add("/products/*/book", "server_error", probability=0.3)
    assert _hits(other, BOOK, 1000) != runs[0]
    assert table.list()[0]["seen"] == 1000 and table.list()[0]["hits"] == affected


def test_probability_with_count_stops_after_count_affected() -> None:
    table = FaultTable(seed=1)
    table.add(BOOK, "reset", count=5, probability=0.5)
    hits = _hits(table, BOOK, 200)
    assert sum(bool(kinds) for kinds in hits) == 5 and len(table) == 0
    assert sum(bool(kinds) for kinds in hits[:5]) < 5  # not simply the first five


def test_probabilistic_faults_never_stack_on_one_request() -> None:
    table = FaultTable(seed=3)
    table.add(BOOK, "server_error", probability=0.5)
    table.add(BOOK, "reset", probability=0.5)
    table.add(BOOK, "extra_field")  # certain faults still apply as well
    hits = _hits(table, BOOK, 400)
    assert all(len([k for k in kinds if k != "extra_field"]) == 1 and "extra_field" in kinds for kinds in hits)
    assert 150 <= sum("reset" in kinds for kinds in hits) <= 250


def test_probability_over_http(exchange, http) -> None:
    exchange.faults.add(TICKER, "server_error", probability=0.25, status=502)
    statuses = [http.get(f"{exchange.url}{TICKER}").status_code for _ in range(200)]
    assert set(statuses) == {200, 502} and 30 <= statuses.count(502) <= 70
    assert exchange.faults.list()[0]["probability"] == 0.25


def test_cli_fault_spec_takes_a_probability() -> None:
    path, kind, count, params = parse_cli_fault("/products/*/book=reset,probability=0.1")
    table = FaultTable()
    fault = table.add(path, kind, count, **params)
    assert (fault.probability, fault.params) == (0.1, {})


def test_chaos_mix_covers_every_bad_day_on_every_market_data_path() -> None:
    faults = chaos_faults(0.05, slot_seconds=10)
    paths = {"/products/*/book", "/products/*/ticker", "/products/*/trades"}
    assert {path for path, *_ in faults} == paths
    for path in paths:
        shares = [p for fpath, _, p, _ in faults if fpath == path]
        assert sum(shares) == pytest.approx(0.05)
    kinds = {kind for _, kind, _, _ in faults}
    assert kinds == {
        "rate_limit",
        "server_error",
        "delay",
        "reset",
        "malformed_json",
        "extra_field",
        "crossed_book",
        "negative_size",
    }
    retry_after = sorted({params["retry_after"] for _, kind, _, params in faults if kind == "rate_limit"})
    assert retry_after[0] < 10 < retry_after[-1]  # some within the slot, some longer than a slot
    assert {params["mode"] for _, kind, _, params in faults if kind == "malformed_json"} == {"truncate", "html"}
    with pytest.raises(FaultError, match="chaos rate"):
        chaos_faults(0)


def test_chaos_mix_shares_as_drawn() -> None:
    table = FaultTable(seed=5)
    install_chaos(table, 1.0)
    drawn = [kinds[0] for kinds in _hits(table, BOOK, 4000)]
    for share, kind, _ in CHAOS_MIX:
        expected = sum(s for s, k, _ in CHAOS_MIX if k == kind)
        assert abs(drawn.count(kind) / len(drawn) - expected) < 0.025, (kind, share)


CLIENT_READ_TIMEOUT_S = 4  # well past a normal answer on a busy machine, well short of a delay fault (6 s here)


def _faulted(session: requests.Session, url: str, path: str) -> bool:
    """Whether a request met a fault, as a client sees it: no answer, an error status, or a bad body."""
    try:
        answer = session.get(f"{url}{path}", params={"level": 1}, timeout=(5, CLIENT_READ_TIMEOUT_S))
    except requests.RequestException:
        return True  # reset, or delayed past the read timeout
    if answer.status_code != 200:
        return True
    try:
        data = answer.json()
    except ValueError:
        return True
    if set(data) - {
        "bids",
        "asks",
        "sequence",
        "auction_mode",
        "auction",
        "time",
        "ask",
        "bid",
        "volume",
        "trade_id",
        "price",
        "size",
        "rfq_volume",
        "conversions_volume",
    }:
        return True  # schema drift
    if "bids" in data:
        (bid, bid_size, _), (ask, ask_size, _) = data["bids"][0], data["asks"][0]
        return Decimal(ask) <= Decimal(bid) or Decimal(bid_size) < 0 or Decimal(ask_size) < 0
    return Decimal(data["ask"]) < Decimal(data["bid"]) or Decimal(data["size"]) < 0


@pytest.mark.parametrize(("rate", "tolerance"), [(0.05, 0.03), (0.2, 0.05)])
def test_chaos_rate_is_the_share_of_requests_that_fault(exchange_factory, http, rate, tolerance) -> None:
    settings = small_settings(levels_per_side=300)
    settings = dataclasses.replace(settings, exchange=dataclasses.replace(settings.exchange, read_timeout_s=1.0))
    exchange = exchange_factory(chaos=rate, seed=21, settings=settings)  # delay faults: 1 + 5 s
    paths = [
        f"/products/{pid}/{endpoint}"
        for pid in ("BTC-USD", "ETH-USD", "ADA-USD", "SOL-USD")
        for endpoint in ("book", "ticker")
    ]
    outcomes = [_faulted(http, exchange.url, paths[i % len(paths)]) for i in range(300)]
    share = sum(outcomes) / len(outcomes)
    served = sum(f["hits"] for f in exchange.faults.list())
    assert abs(share - rate) <= tolerance, (share, rate)
    assert served == sum(outcomes)  # every fault the exchange served, the client saw
    assert exchange.stats()["chaos"] == rate
    assert http.get(f"{exchange.url}/products").status_code == 200  # only market data is touched
