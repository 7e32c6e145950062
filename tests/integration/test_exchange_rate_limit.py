"""Coinbase's public rate limit, per client IP, lazily refilled; the control endpoint is exempt."""

from __future__ import annotations

import http.client
import time

import requests
from tests.integration.exchange_helpers import small_settings
from urllib3.util import SKIP_HEADER

from crypto_insights.exchange.throttle import ClientThrottle


def test_burst_then_429_then_refill(exchange_factory, http) -> None:
    # small books: building BTC-USD's full book on the first request takes about a second, a token's refill
    exchange = exchange_factory(rate_limit=1, burst=3, control=True, settings=small_settings(levels_per_side=200))
    statuses = [http.get(f"{exchange.url}/products/BTC-USD/book").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = http.get(f"{exchange.url}/products")
    assert refused.status_code == 429 and refused.content == b'{"message":"Public rate limit exceeded"}'
    assert "Retry-After" not in refused.headers
    assert exchange.book_steps()["BTC-USD"] == 3  # refused requests never reach the book
    assert requests.get(f"{exchange.url}/_control/faults").status_code == 200  # control: no limit
    time.sleep(1.1)
    assert http.get(f"{exchange.url}/products").status_code == 200  # one token back after a second
    assert http.get(f"{exchange.url}/products").status_code == 429


def test_the_limit_is_per_client_ip(exchange_factory) -> None:
    exchange = exchange_factory(rate_limit=1, burst=2)

    def status_from(source_ip: str) -> int:
        connection = http.client.HTTPConnection(exchange.host, exchange.port, timeout=5, source_address=(source_ip, 0))
        connection.request("GET", "/products", headers={"User-Agent": "t"})
        status = connection.getresponse().status
        connection.close()
        return status

    assert [status_from("127.0.0.1") for _ in range(3)] == [200, 200, 429]
    assert [status_from("127.0.0.2") for _ in range(3)] == [200, 200, 429]  # another IP, its own bucket


def test_requests_without_user_agent_still_count_against_the_limit(exchange_factory) -> None:
    exchange = exchange_factory(rate_limit=1, burst=2)
    bare = {"User-Agent": "x"}
    assert requests.get(f"{exchange.url}/products", headers={"User-Agent": SKIP_HEADER}).status_code == 400
    assert requests.get(f"{exchange.url}/products", headers=bare).status_code == 200
    assert requests.get(f"{exchange.url}/products", headers=bare).status_code == 429


def test_lazy_fill_token_bucket() -> None:
    now = [0.0]
    throttle = ClientThrottle(10, 15, clock=lambda: now[0])
    assert sum(throttle.allow("a") for _ in range(20)) == 15
    now[0] += 0.25  # 2.5 tokens
    assert sum(throttle.allow("a") for _ in range(5)) == 2
    now[0] += 100  # capped at the burst
    assert sum(throttle.allow("a") for _ in range(20)) == 15
    assert ClientThrottle(None, None).allow("a")
