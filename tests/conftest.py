"""Fixtures shared by every test folder: a running offline exchange, and HTTP sessions for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from crypto_insights.config import load_settings
from crypto_insights.exchange.server import ExchangeServer

EXCHANGE_SEED = 7
TEST_USER_AGENT = "crypto-insights-tests/1"


@pytest.fixture
def exchange() -> Iterator[ExchangeServer]:
    """The offline exchange (generated mode, seed 7) on a free port, rate limit lifted for parallel tests."""
    with ExchangeServer(load_settings(), seed=EXCHANGE_SEED, rate_limit=None) as server:
        yield server


@pytest.fixture
def exchange_factory() -> Iterator[Callable[..., ExchangeServer]]:
    """Start more exchanges with other options (``rate_limit=1, burst=3``, ``replay_dir=...``, a seed, small
    books via ``settings=small_settings(...)``); all are stopped after the test."""
    started: list[ExchangeServer] = []

    def start(**options: object) -> ExchangeServer:
        options.setdefault("settings", load_settings())
        options.setdefault("seed", EXCHANGE_SEED)
        options.setdefault("rate_limit", None)
        server = ExchangeServer(**options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session that sends a User-Agent, as every Coinbase client must."""
    with requests.Session() as session:
        session.headers["User-Agent"] = TEST_USER_AGENT
        yield session
