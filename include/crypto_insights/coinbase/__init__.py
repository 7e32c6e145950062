"""Coinbase Exchange public REST client (works unchanged against the offline exchange)."""

from crypto_insights.coinbase.client import CoinbaseClient, validate_product_id
from crypto_insights.coinbase.errors import (
    BadRequest,
    CoinbaseError,
    ExchangeHTTPError,
    ExchangeUnavailable,
    InvalidPayload,
    MalformedPayload,
    ProductNotFound,
)
from crypto_insights.coinbase.fetch import SnapshotResult, fetch_slot
from crypto_insights.coinbase.models import BookLevel, BookResponse, CallMeta, TickerResponse
from crypto_insights.coinbase.rate_limit import TokenBucket

__all__ = [
    "BadRequest",
    "BookLevel",
    "BookResponse",
    "CallMeta",
    "CoinbaseClient",
    "CoinbaseError",
    "ExchangeHTTPError",
    "ExchangeUnavailable",
    "InvalidPayload",
    "MalformedPayload",
    "ProductNotFound",
    "SnapshotResult",
    "TickerResponse",
    "TokenBucket",
    "fetch_slot",
    "validate_product_id",
]
