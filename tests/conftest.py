"""Fixtures shared by every test folder: a running offline exchange."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crypto_insights.config import load_settings
from crypto_insights.exchange.server import ExchangeServer


@pytest.fixture
def exchange() -> Iterator[ExchangeServer]:
    """The offline exchange on a free port, seed 7, with a limit high enough for parallel tests."""
    with ExchangeServer(load_settings(), seed=7, rate_limit=1000, burst=1000) as server:
        yield server
