"""Replay mode: captured response bodies served verbatim, in name order per product, repeating the last one.

Layout: ``DIR/<PRODUCT-ID>/book_*.json`` and ``ticker_*.json`` (optional ``product.json``, ``trades_*.json``,
``stats_*.json``, ``candles_*.json``); the products are the subfolders. Each book request (any level) takes the
next book file; a level-1 request gets that body cut to the best bid and ask (everything else as captured); a
level-2 request gets its bytes untouched. Stats and candles requests take their next file the same way (404
when none was captured).

Trades: a request without a cursor takes the next ``trades_*.json`` page verbatim (cut to ``limit`` rows when
longer); a request with ``after``/``before`` is answered from every print of every captured page, paged as in
generated mode. ``CB-BEFORE``/``CB-AFTER`` name the newest and oldest id of what is served. No trades captured:
empty pages.
"""

from __future__ import annotations

import json
import logging
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from crypto_insights.config import SYMBOL_PATTERN, Settings
from crypto_insights.exchange.candles import granularity_of
from crypto_insights.exchange.catalog import currencies_of, product_object
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
    trades: list[Path] = field(default_factory=list)
    stats: list[Path] = field(default_factory=list)
    candles: list[Path] = field(default_factory=list)
    served: dict[str, int] = field(
        default_factory=lambda: {"book": 0, "ticker": 0, "trades": 0, "stats": 0, "candles": 0}
    )
    _prints: dict[int, dict[str, Any]] | None = None  # every captured print by trade id (read on first use)

    def next_file(self, endpoint: str, lock: threading.Lock) -> Path | None:
        files = {
            "book": self.books,
            "ticker": self.tickers,
            "trades": self.trades,
            "stats": self.stats,
            "candles": self.candles,
        }[endpoint]
        if not files:
            return None
        with lock:
            n = self.served[endpoint]
            self.served[endpoint] = n + 1
        return files[min(n, len(files) - 1)]

    def prints(self) -> dict[int, dict[str, Any]]:
        if self._prints is None:
            found: dict[int, dict[str, Any]] = {}
            for path in self.trades:
                for row in _trade_rows(path):
                    found.setdefault(row["trade_id"], row)
            self._prints = dict(sorted(found.items()))
        return self._prints


def _trade_rows(path: Path) -> list[dict[str, Any]]:
    """The prints of a captured trades page that carry an integer ``trade_id`` (others cannot be paged)."""
    try:
        rows = json.loads(path.read_bytes())
    except ValueError:
        log.warning("replay: %s is not JSON; its prints cannot be paged", path)
        return []
    return [r for r in rows if isinstance(r, dict) and type(r.get("trade_id")) is int] if isinstance(rows, list) else []


def _page_headers(ids: list[int]) -> dict[str, str]:
    return {"CB-BEFORE": str(max(ids)), "CB-AFTER": str(min(ids))} if ids else {}


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
    log.warning(
        "replay: %s has no product.json and is not configured; its product object has no increments", folder.name
    )
    base, _, quote = folder.name.partition("-")
    return dumps(
        {
            "id": folder.name,
            "base_currency": base,
            "quote_currency": quote,
            "display_name": folder.name,
            "status": "online",
        }
    ).encode(), None


class ReplayMarket:
    mode = "replay"

    def __init__(self, directory: Path, settings: Settings) -> None:
        directory = Path(directory)
        if not directory.is_dir():
            raise ReplayError(
                f"replay folder {directory} does not exist; create DIR/<PRODUCT-ID>/book_*.json and ticker_*.json"
            )
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
            self.products[folder.name] = ReplayProduct(
                folder.name,
                books,
                tickers,
                body,
                tick,
                trades=sorted(folder.glob("trades_*.json")),
                stats=sorted(folder.glob("stats_*.json")),
                candles=sorted(folder.glob("candles_*.json")),
            )
        if not self.products:
            raise ReplayError(
                f"{directory} has no product folders; expected DIR/<PRODUCT-ID>/book_*.json "
                "and ticker_*.json (e.g. DIR/BTC-USD/book_0001.json)"
            )

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(self.products)

    def __iter__(self) -> Iterator[ReplayProduct]:
        return iter(self.products.values())

    def products_payload(self) -> Payload:
        return Payload("products", raw=b"[" + b",".join(p.product_body for p in self.products.values()) + b"]")

    def product_payload(self, product_id: str) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else Payload("product", product_id, raw=product.product_body, tick=product.tick)

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

    def trades_payload(self, product_id: str, limit: int, after: int | None, before: int | None) -> Payload | None:
        product = self.products.get(product_id)
        if product is None:
            return None
        if after is None and before is None:
            path = product.next_file("trades", self._lock)
            if path is None:
                return Payload("trades", product_id, rows=[], tick=product.tick)
            raw, rows = path.read_bytes(), _trade_rows(path)
            if len(rows) > limit:
                rows = rows[:limit]
                return Payload(
                    "trades",
                    product_id,
                    rows=[dumps(r) for r in rows],
                    tick=product.tick,
                    headers=_page_headers([r["trade_id"] for r in rows]),
                )
            return Payload(
                "trades", product_id, raw=raw, tick=product.tick, headers=_page_headers([r["trade_id"] for r in rows])
            )
        with self._lock:
            prints = product.prints()
        ids = list(prints)
        hi = len(ids) if after is None else bisect_left(ids, after)
        lo = 0 if before is None else bisect_right(ids, before)
        if hi <= lo:
            page: list[int] = []
        elif after is None:
            page = ids[lo : min(hi, lo + limit)]
        else:
            page = ids[max(lo, hi - limit) : hi]
        return Payload(
            "trades",
            product_id,
            rows=[dumps(prints[i]) for i in reversed(page)],
            tick=product.tick,
            headers=_page_headers(page),
        )

    def _captured(self, product_id: str, endpoint: str) -> Payload | None:
        product = self.products.get(product_id)
        path = product.next_file(endpoint, self._lock) if product else None
        if product is None or path is None:
            return None
        return Payload(endpoint, product_id, raw=path.read_bytes(), tick=product.tick)  # type: ignore[arg-type]

    def stats_payload(self, product_id: str) -> Payload | None:
        return self._captured(product_id, "stats")

    def candles_payload(
        self, product_id: str, granularity: str | None, start: str | None, end: str | None
    ) -> Payload | None:
        granularity_of(granularity)  # a bad one is a 400 here too
        return self._captured(product_id, "candles")

    def currencies_payload(self, code: str | None = None) -> Payload | None:
        pairs = []
        for product in self.products.values():
            fragments = fragments_of(product.product_body)
            base, _, quote = product.product_id.partition("-")
            pairs.append(
                (
                    json.loads(fragments.get("base_currency", dumps(base))),  # type: ignore[arg-type]
                    json.loads(fragments.get("quote_currency", dumps(quote))),
                )
            )  # type: ignore[arg-type]
        currencies = {c["id"]: c for c in currencies_of(pairs)}
        if code is None:
            return Payload("currencies", rows=[dumps(c) for c in currencies.values()])
        return Payload("currency", raw=dumps(currencies[code]).encode()) if code in currencies else None

    def trades(self, product_id: str, after_id: int | None = None) -> list[dict[str, Any]]:
        """Every captured print of ``product_id`` (newer than ``after_id``), oldest first."""
        with self._lock:
            prints = self.products[product_id].prints()
        return [row for trade_id, row in prints.items() if after_id is None or trade_id > after_id]

    def trades_made(self) -> dict[str, int]:
        return {pid: len(p._prints or {}) for pid, p in self.products.items()}

    def steps(self) -> dict[str, int]:
        return {pid: p.served["book"] for pid, p in self.products.items()}
