"""Product and currency objects (`GET /products`, `/products/{id}`, `/currencies`) in the shape of Coinbase's, from the
symbol config."""

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


# Currencies (`GET /currencies`, `/currencies/{id}`): the documented shape of Coinbase's currency objects.
# (name, symbol, sort order, network id, network name, confirmations) of the coins configured today; any other
# code gets a generic object of the same shape.
FIAT = {
    "USD": ("United States Dollar", "$", 1, "US Dollar"),
    "EUR": ("Euro", "€", 2, "Euro"),
    "GBP": ("British Pound", "£", 3, "British Pound"),
}
CRYPTO = {
    "BTC": ("Bitcoin", "₿", 20, "bitcoin", "Bitcoin", 2),
    "ETH": ("Ethereum", "Ξ", 25, "ethereum", "Ethereum", 14),
    "LTC": ("Litecoin", "Ł", 35, "litecoin", "Litecoin", 12),
    "XRP": ("XRP", "", 40, "ripple", "XRP", 1),
    "ADA": ("Cardano", "", 45, "cardano", "Cardano", 30),
    "SOL": ("Solana", "", 50, "solana", "Solana", 1),
    "DOGE": ("Dogecoin", "", 55, "dogecoin", "Dogecoin", 40),
    "DOT": ("Polkadot", "", 60, "polkadot", "Polkadot", 1),
    "AVAX": ("Avalanche", "", 65, "avacchain", "Avalanche C-Chain", 1),
    "LINK": ("Chainlink", "", 70, "ethereum", "Ethereum", 14),
}
CRYPTO_MIN_SIZE = "0.00000001"


def currency_object(code: str) -> dict[str, Any]:
    """One currency as ``GET /currencies`` lists it (fiat or crypto; a generic crypto for unknown codes)."""
    if code in FIAT:
        name, symbol, order, display = FIAT[code]
        return {
            "id": code,
            "name": name,
            "min_size": "0.01",
            "status": "online",
            "message": "",
            "max_precision": "0.01",
            "convertible_to": ["USDC"] if code == "USD" else [],
            "details": {
                "type": "fiat",
                "symbol": symbol,
                "network_confirmations": 0,
                "sort_order": order,
                "crypto_address_link": "",
                "crypto_transaction_link": "",
                "push_payment_methods": ["bank_wire", "fedwire", "swift_bank_account", "intra_bank_account"],
                "group_types": ["fiat", code.lower()],
                "display_name": display,
                "processing_time_seconds": 0,
                "min_withdrawal_amount": 0,
                "max_withdrawal_amount": 0,
            },
            "default_network": "",
            "supported_networks": [],
        }
    name, symbol, order, network, network_name, confirmations = CRYPTO.get(code, (code, "", 500, code.lower(), code, 1))
    return {
        "id": code,
        "name": name,
        "min_size": CRYPTO_MIN_SIZE,
        "status": "online",
        "message": "",
        "max_precision": CRYPTO_MIN_SIZE,
        "convertible_to": [],
        "details": {
            "type": "crypto",
            "symbol": symbol,
            "network_confirmations": confirmations,
            "sort_order": order,
            "crypto_address_link": "",
            "crypto_transaction_link": "",
            "push_payment_methods": ["crypto"],
            "group_types": [code.lower(), "crypto"],
            "display_name": "",
            "processing_time_seconds": 0,
            "min_withdrawal_amount": 1e-08,
            "max_withdrawal_amount": 1000000,
        },
        "default_network": network,
        "supported_networks": [
            {
                "id": network,
                "name": network_name,
                "status": "online",
                "contract_address": "",
                "crypto_address_link": "",
                "crypto_transaction_link": "",
                "min_withdrawal_amount": 1e-08,
                "max_withdrawal_amount": 1000000,
                "network_confirmations": confirmations,
                "processing_time_seconds": 0,
            }
        ],
    }


def currencies_of(products: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The currency objects of every base and quote currency of ``products`` ((base, quote) pairs), fiat first."""
    codes = {code for pair in products for code in pair}
    objects = [currency_object(code) for code in codes]
    return sorted(objects, key=lambda c: (c["details"]["sort_order"], c["id"]))
