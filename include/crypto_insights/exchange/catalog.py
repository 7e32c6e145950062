"""Product objects (`GET /products`, `GET /products/{id}`) in the shape of Coinbase's, from the symbol config."""

from __future__ import annotations

from typing import Any

from crypto_insights.config import SymbolSettings
from crypto_insights.exchange.wire import plain


def product_object(symbol: SymbolSettings) -> dict[str, Any]:
    """Same keys, order and types as the captured `product_BTC-USD.json`."""
    return {
        "id": symbol.product_id,
        "base_currency": symbol.base_currency,
        "quote_currency": symbol.quote_currency,
        "quote_increment": plain(symbol.quote_increment),
        "base_increment": plain(symbol.base_increment),
        "display_name": symbol.product_id,
        "min_market_funds": "1",
        "margin_enabled": False,
        "post_only": False,
        "limit_only": False,
        "cancel_only": False,
        "status": "online",
        "status_message": "",
        "trading_disabled": False,
        "fx_stablecoin": False,
        "max_slippage_percentage": "0.02000000",  # sic: Coinbase pads this one
        "auction_mode": False,
        "high_bid_limit_percentage": "",
    }
