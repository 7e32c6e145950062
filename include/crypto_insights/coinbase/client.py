"""The Coinbase Exchange public REST client: paced, retried, typed, and the same for Coinbase and offline.

Only the base URL (``exchange.api_url`` / ``$COINBASE_API_URL``) tells the real exchange from the offline one.
Every attempt takes a token from a bucket shared by all threads using the client, so parallel fetches stay
under the public limit; 429, 5xx, timeouts and connection errors are retried with full-jitter exponential
backoff (``Retry-After`` honoured); everything else becomes a typed :class:`CoinbaseError` at once.
Bodies are decoded with plain ``json.loads``: Coinbase sends prices and sizes as strings, so no float is
ever made from them.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from crypto_insights.coinbase.errors import (
    BadRequest,
    CoinbaseError,
    DeadlineExceeded,
    ExchangeHTTPError,
    ExchangeUnavailable,
    InvalidPayload,
    MalformedPayload,
    ProductNotFound,
    Throttled,
    excerpt,
)
from crypto_insights.coinbase.models import BookResponse, CallMeta, TickerResponse, parse_book, parse_ticker
from crypto_insights.coinbase.rate_limit import TokenBucket
from crypto_insights.coinbase.trades import MAX_LIMIT, TradesPage, parse_trades
from crypto_insights.config import SYMBOL_PATTERN, ExchangeSettings

log = logging.getLogger(__name__)

# Enough for book + ticker of a few dozen products at once; more threads than this still work (urllib3 opens
# extra connections and drops them afterwards), they just are not kept alive.
DEFAULT_POOL_SIZE = 32
# Transport failures worth another attempt. SSLError is a ConnectionError but retrying a bad certificate
# only delays the same answer, so it is handled apart.
RETRYABLE_EXCEPTIONS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def validate_product_id(product_id: str) -> str:
    """Return ``product_id`` if it is a well-formed product id (e.g. ``BTC-USD``), else raise ValueError.

    Checked before the id is put into a URL, so a stray ``/``, ``?`` or ``..`` can never reach the exchange.
    """
    if not isinstance(product_id, str) or not SYMBOL_PATTERN.fullmatch(product_id):
        raise ValueError(
            f"invalid product id {product_id!r}: it must match {SYMBOL_PATTERN.pattern} "
            "(upper-case base and quote currency joined by '-', e.g. BTC-USD)"
        )
    return product_id


def default_bucket(settings: ExchangeSettings) -> TokenBucket:
    """The configured rate with one token less burst than the exchange allows.

    With exactly the exchange's burst, both buckets run empty together and a request that reaches the
    server a few milliseconds early (a reused connection overtaking one still being opened) is refused with
    429. One token in reserve absorbs up to ``1/rate`` seconds of such jitter and costs nothing in steady
    state.
    """
    return TokenBucket(settings.requests_per_second, max(1, settings.burst - 1))


# An attempt with less time than this left before the deadline is not started: it could not finish.
MIN_ATTEMPT_S = 0.2


class _Budget:
    """What is left of one call's deadline (a ``time.monotonic()`` instant; None: no deadline)."""

    def __init__(self, deadline: float | None, clock: Callable[[], float]) -> None:
        self.deadline, self.clock = deadline, clock

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - self.clock()

    def timeout(self, configured: tuple[float, float]) -> tuple[float, float]:
        """The configured (connect, read) timeouts, cut to what is left so no attempt outlives the deadline."""
        left = self.remaining()
        return (min(configured[0], left), min(configured[1], left))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - _utcnow()).total_seconds()
        except (TypeError, ValueError, IndexError):
            log.warning("ignoring unreadable Retry-After header %r", value)
            return None
    return max(0.0, seconds) if seconds == seconds else None  # NaN is not a delay


def _exchange_message(body: bytes, reason: str | None) -> str:
    """The exchange's ``{"message": ...}``, else the start of the body, else the HTTP reason phrase."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return excerpt(body, 200) or (reason or "")


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception behind a requests error (e.g. ConnectionRefusedError, ConnectionResetError)."""
    seen: set[int] = set()
    current = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        if inner is None:
            inner = current.__cause__ or current.__context__
        if inner is None:
            break
        current = inner
    return current


def _describe_failure(exc: BaseException, timeout: tuple[float, float]) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within the {timeout[0]} s connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return f"no response within the {timeout[1]} s read timeout"
    root = _root_cause(exc)
    detail = str(root) or type(root).__name__
    if isinstance(root, OSError) and root.strerror:
        detail = root.strerror
    return f"{type(root).__name__}: {detail}"


class CoinbaseClient:
    """One HTTP session, one token bucket, shared by every thread that uses this client."""

    def __init__(
        self,
        settings: ExchangeSettings,
        *,
        session: requests.Session | None = None,
        bucket: TokenBucket | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self.base_url = settings.api_url.rstrip("/")
        self.bucket = bucket or default_bucket(settings)
        self.pool_size = pool_size
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self._sleep = sleep
        self._random = random.Random()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        # Coinbase answers 400 without a User-Agent: set it even on a session we were given.
        session.headers["User-Agent"] = settings.user_agent
        session.headers["Accept"] = "application/json"
        self.session = session

    # -- public API ---------------------------------------------------------------------------------------

    def get_products(self) -> list[dict[str, Any]]:
        """``GET /products``: every product the exchange lists (delisted ones included), as received."""
        data, meta, body = self._get_json("/products")
        if not isinstance(data, list):
            raise InvalidPayload(
                "all products",
                "products",
                "expected a JSON array of products",
                excerpt(body),
                attempts=meta.attempts,
                url=meta.url,
            )
        return data

    def get_product(self, product_id: str) -> dict[str, Any]:
        """``GET /products/{id}``: one product's description (increments, status), as received."""
        pid = validate_product_id(product_id)
        data, meta, body = self._get_json(f"/products/{pid}", product_id=pid)
        if not isinstance(data, dict) or "id" not in data:
            raise InvalidPayload(
                pid,
                "product",
                "expected a JSON object with an 'id'",
                excerpt(body),
                field="id",
                attempts=meta.attempts,
                url=meta.url,
            )
        return data

    def get_book(self, product_id: str, level: int = 2, *, deadline: float | None = None) -> BookResponse:
        """``GET /products/{id}/book?level=1|2``; level 2 is the whole aggregated book (~1 MB for BTC-USD).

        ``deadline`` (a ``time.monotonic()`` instant) bounds every attempt, backoff and ``Retry-After``.
        """
        pid = validate_product_id(product_id)
        if level not in (1, 2):
            raise ValueError(f"book level must be 1 or 2 (aggregated levels), got {level!r}")
        data, meta, body = self._get_json(
            f"/products/{pid}/book", params={"level": level}, product_id=pid, deadline=deadline
        )
        return parse_book(pid, data, meta, body)

    def get_ticker(self, product_id: str, *, deadline: float | None = None) -> TickerResponse:
        """``GET /products/{id}/ticker``: last trade, best bid/ask and 24 h volume."""
        pid = validate_product_id(product_id)
        data, meta, body = self._get_json(f"/products/{pid}/ticker", product_id=pid, deadline=deadline)
        return parse_ticker(pid, data, meta, body)

    def get_trades(
        self, product_id: str, *, limit: int = MAX_LIMIT, after: int | None = None, deadline: float | None = None
    ) -> TradesPage:
        """``GET /products/{id}/trades``: the newest ``limit`` prints, or those older than ``after`` (newest first)."""
        pid = validate_product_id(product_id)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"trades limit must be 1..{MAX_LIMIT}, got {limit!r}")
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = int(after)
        data, meta, body = self._get_json(
            f"/products/{pid}/trades", params=params, product_id=pid, deadline=deadline, spare_tokens_only=True
        )
        return parse_trades(pid, data, meta, body)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> CoinbaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one call, with retries ---------------------------------------------------------------------------

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt - 1))] after the ``attempt``-th failure."""
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** (attempt - 1))
        return self._random.uniform(0.0, ceiling)

    def _get_json(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        product_id: str | None = None,
        deadline: float | None = None,
        spare_tokens_only: bool = False,
    ) -> tuple[Any, CallMeta, bytes]:
        """One call with retries. `spare_tokens_only`: this request yields the rate limit to every other (a trade
        page waits while books and tickers are queued for tokens: prints can be fetched later, a book cannot)."""
        url = self.base_url + path
        shown = url + (("?" + "&".join(f"{k}={v}" for k, v in params.items())) if params else "")
        max_attempts = self.settings.max_attempts
        failure, status, body_excerpt = "no attempt made", None, None
        budget = _Budget(deadline, self._clock)
        for attempt in range(1, max_attempts + 1):
            while True:
                wait = self.bucket.take_spare() if spare_tokens_only else self.bucket.reserve()
                if budget.remaining() < wait + MIN_ATTEMPT_S:
                    raise DeadlineExceeded(
                        shown,
                        f"waiting {wait:.2f} s for the rate limit's next token; before that: {failure}",
                        attempts=attempt - 1,
                        status=status,
                        body_excerpt=body_excerpt,
                    )
                if wait > 0:
                    self._sleep(wait)
                if wait == 0 or not spare_tokens_only:
                    break  # a reservation is ours once waited for; a spare token only once taken
            requested_at = _utcnow()
            retry_after: float | None = None
            try:
                response = self.session.get(url, params=params, timeout=budget.timeout(self.timeout))
            except requests.exceptions.SSLError as exc:
                raise ExchangeUnavailable(
                    self.base_url, shown, f"a TLS error ({_root_cause(exc)})", attempts=attempt
                ) from exc
            except RETRYABLE_EXCEPTIONS as exc:
                failure, status, body_excerpt = _describe_failure(exc, self.timeout), None, None
            else:
                received_at = _utcnow()
                status, body = response.status_code, response.content
                if 200 <= status < 300:
                    meta = CallMeta(shown, status, attempt, requested_at, received_at, len(body))
                    if attempt > 1:
                        log.info("GET %s succeeded on attempt %d/%d", shown, attempt, max_attempts)
                    try:
                        return json.loads(body), meta, body
                    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                        raise MalformedPayload(shown, body, str(exc), status=status, attempts=attempt) from None
                message = _exchange_message(body, response.reason)
                if status != 429 and status < 500:
                    raise self._http_error(status, message, shown, product_id, attempt, body)
                failure, body_excerpt = f"HTTP {status} {message!r}", excerpt(body)
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if attempt == max_attempts:
                break
            if retry_after is not None and retry_after > budget.remaining():
                raise Throttled(shown, retry_after, budget.remaining(), attempts=attempt, body_excerpt=body_excerpt)
            delay = self._delay(attempt, retry_after, shown)
            if delay + MIN_ATTEMPT_S > budget.remaining():
                raise DeadlineExceeded(shown, failure, attempts=attempt, status=status, body_excerpt=body_excerpt)
            log.warning("GET %s: %s (attempt %d/%d); retrying in %.2f s", shown, failure, attempt, max_attempts, delay)
            self._sleep(delay)
        raise ExchangeUnavailable(
            self.base_url, shown, failure, attempts=max_attempts, status=status, body_excerpt=body_excerpt
        )

    def _delay(self, attempt: int, retry_after: float | None, url: str) -> float:
        if retry_after is None:
            return self.backoff_delay(attempt)
        if retry_after > self.settings.backoff_max_s:
            log.warning(
                "GET %s: the exchange asks to retry after %.2f s, longer than the %.2f s backoff cap; waiting as asked",
                url,
                retry_after,
                self.settings.backoff_max_s,
            )
        return retry_after

    @staticmethod
    def _http_error(
        status: int, message: str, url: str, product_id: str | None, attempts: int, body: bytes
    ) -> CoinbaseError:
        body_excerpt = excerpt(body)
        if status == 404 and product_id is not None:
            return ProductNotFound(product_id, url, message=message, attempts=attempts, body_excerpt=body_excerpt)
        if status == 400:
            return BadRequest(status, message, url, attempts=attempts, body_excerpt=body_excerpt)
        return ExchangeHTTPError(status, message, url, attempts=attempts, body_excerpt=body_excerpt)
