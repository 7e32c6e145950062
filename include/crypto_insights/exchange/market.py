"""The simulated market: one evolving book per product, with Coinbase's sequence, time, ticker and products."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from typing import Any

from crypto_insights.config import SymbolSettings
from crypto_insights.exchange.book_model import SimulatedBook
from crypto_insights.exchange.wire import nano_time, plain

PRODUCT_TEMPLATE = {
    "display_name": "", "min_market_funds": "1", "margin_enabled": False, "post_only": False,
    "limit_only": False, "cancel_only": False, "status": "online", "status_message": "",
    "trading_disabled": False, "fx_stablecoin": False, "max_slippage_percentage": "0.02000000",
    "auction_mode": False, "high_bid_limit_percentage": "",
}  # fmt: skip


class ProductMarket:
    """One product: the book advances one step per level-2 book request (deterministic for a seed)."""

    def __init__(self, symbol: SymbolSettings, seed: int) -> None:
        self.symbol = symbol
        self.book = SimulatedBook(symbol, seed)
        self.lock = threading.Lock()
        self.sequence = 100_000_000 + (seed % 1000) * 1_000_000
        self.trade_id = 1_000_000
        self.volume = Decimal(symbol.whale_floor_usd) * 40 / symbol.simulated_start_price
        self._last_ns = 0

    def _now_ns(self) -> int:
        """Wall-clock nanoseconds, strictly increasing per product."""
        now = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = now
        return now

    def product(self) -> dict[str, Any]:
        s = self.symbol
        return {"id": s.product_id, "base_currency": s.base_currency, "quote_currency": s.quote_currency,
                "quote_increment": plain(s.quote_increment), "base_increment": plain(s.base_increment),
                **PRODUCT_TEMPLATE, "display_name": s.product_id}  # fmt: skip

    def book_payload(self, level: int) -> dict[str, Any]:
        with self.lock:
            if level == 2:
                self.book.step()
            self.sequence += 1 + self.book.rng.randint(0, 500)
            bids, asks = self.book.side_rows("bid"), self.book.side_rows("ask")
            if level == 1:
                bids, asks = bids[:1], asks[:1]
            return {"bids": bids, "asks": asks, "sequence": self.sequence, "auction_mode": False,
                    "auction": None, "time": nano_time(self._now_ns())}  # fmt: skip

    def ticker_payload(self) -> dict[str, Any]:
        with self.lock:
            self.trade_id += 1 + self.book.rng.randint(0, 40)
            price, size = self.book.last_trade()
            self.volume += Decimal(size)
            return {"ask": self.book.price_text(self.book.best_ask), "bid": self.book.price_text(self.book.best_bid),
                    "volume": plain(self.volume.quantize(self.symbol.base_increment)), "trade_id": self.trade_id,
                    "price": price, "size": size, "time": nano_time(self._now_ns())[:26] + "Z",
                    "rfq_volume": "0"}  # fmt: skip


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
