"""Fetch one slot: the book and the ticker of every product, all requests at once, every failure kept."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from crypto_insights.coinbase.client import CoinbaseClient, validate_product_id
from crypto_insights.coinbase.errors import CoinbaseError
from crypto_insights.coinbase.models import BookResponse, TickerResponse

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SnapshotResult:
    """One product's slot: each endpoint has either its response or the error that explains its absence."""

    product_id: str
    book: BookResponse | None
    ticker: TickerResponse | None
    book_error: CoinbaseError | None
    ticker_error: CoinbaseError | None

    @property
    def ok(self) -> bool:
        return self.book is not None and self.ticker is not None

    @property
    def errors(self) -> dict[str, CoinbaseError]:
        """``{"book": ..., "ticker": ...}`` for the endpoints that failed."""
        return {name: err for name, err in (("book", self.book_error), ("ticker", self.ticker_error)) if err}


def _outcome(future: Future[T]) -> tuple[T | None, CoinbaseError | None]:
    # Only the client's own errors are an outcome of the exchange; anything else is a bug and propagates.
    try:
        return future.result(), None
    except CoinbaseError as exc:
        return None, exc


def fetch_slot(
    client: CoinbaseClient,
    product_ids: Sequence[str],
    *,
    max_workers: int | None = None,
    level: int = 2,
    deadline: float | None = None,
) -> list[SnapshotResult]:
    """Book and ticker of every product, fetched concurrently (2 x N requests), paced by the client's bucket.

    Results come back in the order of ``product_ids``. A failing request costs only its own endpoint: the
    other products (and the other endpoint of the same product) are still returned, and the failure is in
    ``book_error`` / ``ticker_error`` with its reason, never dropped. Invalid product ids raise ValueError
    before anything is sent. ``deadline`` (a ``time.monotonic()`` instant) bounds every request, so a slow or
    throttled request ends by then as ``DeadlineExceeded`` / ``Throttled`` and never delays the next slot.
    """
    ids = [validate_product_id(pid) for pid in product_ids]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate product ids in {ids}: each product is fetched once per slot")
    if not ids:
        return []
    workers = max_workers or min(2 * len(ids), client.pool_size)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="coinbase-fetch") as pool:
        submitted: list[tuple[str, Future[BookResponse], Future[TickerResponse]]] = []
        for pid in ids:
            book = pool.submit(client.get_book, pid, level, deadline=deadline)
            ticker = pool.submit(client.get_ticker, pid, deadline=deadline)
            submitted.append((pid, book, ticker))
        results = []
        for pid, book_future, ticker_future in submitted:
            book, book_error = _outcome(book_future)
            ticker, ticker_error = _outcome(ticker_future)
            results.append(SnapshotResult(pid, book, ticker, book_error, ticker_error))
    failed = [f"{r.product_id} {name}" for r in results for name in r.errors]
    log.info(
        "fetched %d products: %d of %d requests failed%s",
        len(ids),
        len(failed),
        2 * len(ids),
        f" ({', '.join(failed)})" if failed else "",
    )
    return results
