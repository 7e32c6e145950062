"""Replay mode: captured response bodies served verbatim, in name order per product, repeating the last one.

Layout: ``DIR/<PRODUCT-ID>/book_*.json`` and ``ticker_*.json`` (optional ``product.json``); the products are the
subfolders. Each book request (any level) takes the next book file; a level-1 request gets that body cut to
the best bid and ask (everything else as captured); a level-2 request gets its bytes untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from crypto_insights.config import SYMBOL_PATTERN, Settings
from crypto_insights.exchange.catalog import product_object
from crypto_insights.exchange.payload import Payload
from crypto_insights.exchange.wire import dumps, fragments_of

log = logging.getLogger(__name__)


class ReplayError(ValueError):
    """The replay folder does not hold what replay mode serves."""


@dataclass
class ReplayProduct:
    product_id: str
    books: list[Path]
    tickers: list[Path]
    product_body: bytes
    tick: Decimal | None
    served: dict[str, int] = field(default_factory=lambda: {"book": 0, "ticker": 0})

    def next_file(self, endpoint: str, lock: threading.Lock) -> Path | None:
        files = self.books if endpoint == "book" else self.tickers
        if not files:
            return None
        with lock:
            n = self.served[endpoint]
            self.served[endpoint] = n + 1
        return files[min(n, len(files) - 1)]


def _product_body(folder: Path, settings: Settings) -> tuple[bytes, Decimal | None]:
    captured = folder / "product.json"
    if captured.is_file():
        body = captured.read_bytes()
        fragments = fragments_of(body)
        tick = fragments.get("quote_increment")
        return body, Decimal(tick.strip('"')) if isinstance(tick, str) else None
    if folder.name in settings.product_ids:
        symbol = settings.symbol(folder.name)
        return dumps(product_object(symbol)).encode(), symbol.quote_increment
    log.warning("replay: %s has no product.json and is not configured; its product object has no increments",
                folder.name)  # fmt: skip
    base, _, quote = folder.name.partition("-")
    return dumps({"id": folder.name, "base_currency": base, "quote_currency": quote,
                  "display_name": folder.name, "status": "online"}).encode(), None  # fmt: skip


class ReplayMarket:
    mode = "replay"

    def __init__(self, directory: Path, settings: Settings) -> None:
        directory = Path(directory)
        if not directory.is_dir():
            raise ReplayError(f"replay folder {directory} does not exist; "
                              "create DIR/<PRODUCT-ID>/book_*.json and ticker_*.json")  # fmt: skip
        self.directory = directory
        self._lock = threading.Lock()
        self.products: dict[str, ReplayProduct] = {}
        for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
            if not SYMBOL_PATTERN.match(folder.name):
                log.warning("replay: skipping %s (not a product id like BTC-USD)", folder)
                continue
            books, tickers = sorted(folder.glob("book_*.json")), sorted(folder.glob("ticker_*.json"))
            if not books and not tickers:
                log.warning("replay: %s holds no book_*.json or ticker_*.json", folder)
            body, tick = _product_body(folder, settings)
            self.products[folder.name] = ReplayProduct(folder.name, books, tickers, body, tick)
        if not self.products:
            raise ReplayError(f"{directory} has no product folders; expected DIR/<PRODUCT-ID>/book_*.json "
                              "and ticker_*.json (e.g. DIR/BTC-USD/book_0001.json)")  # fmt: skip

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(self.products)

    def __iter__(self) -> Iterator[ReplayProduct]:
        return iter(self.products.values())

    def products_payload(self) -> Payload:
        return Payload("products", raw=b"[" + b",".join(p.product_body for p in self.products.values()) + b"]")

    def product_payload(self, product_id: str) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else Payload("product", product_id, raw=product.product_body,
                                                     tick=product.tick)  # fmt: skip

    def book_payload(self, product_id: str, level: int) -> Payload | None:
        product = self.products.get(product_id)
        path = product.next_file("book", self._lock) if product else None
        if product is None or path is None:
            return None
        payload = Payload("book", product_id, raw=path.read_bytes(), tick=product.tick, level=level)
        if level == 1:
            fragments = payload.editable()
            sides = [fragments.get(side) for side in ("bids", "asks")] if fragments is not None else []
            if any(isinstance(rows, list) and len(rows) > 1 for rows in sides):
                for side in ("bids", "asks"):
                    if isinstance(fragments.get(side), list):  # type: ignore[union-attr]
                        fragments[side] = fragments[side][:1]  # type: ignore[index]
            else:  # a captured level-1 body: verbatim
                payload.fragments = None
        return payload

    def ticker_payload(self, product_id: str) -> Payload | None:
        product = self.products.get(product_id)
        path = product.next_file("ticker", self._lock) if product else None
        if product is None or path is None:
            return None
        return Payload("ticker", product_id, raw=path.read_bytes(), tick=product.tick)

    def steps(self) -> dict[str, int]:
        return {pid: p.served["book"] for pid, p in self.products.items()}
