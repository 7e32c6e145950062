"""What can go wrong talking to the Coinbase Exchange, one class per outcome a caller handles differently.

Every error derives from :class:`CoinbaseError` and carries ``attempts`` (requests sent, retries included),
``status`` (the last HTTP status, ``None`` when no response came back), ``url`` and, where a body was read,
``body_excerpt`` (text, for recording next to the failure).
"""

from __future__ import annotations

BODY_EXCERPT_CHARS = 500


def excerpt(body: bytes | str | None, limit: int = BODY_EXCERPT_CHARS) -> str:
    """The start of a body as text, for messages and error rows (undecodable bytes replaced)."""
    if body is None:
        return ""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more chars)"


class CoinbaseError(Exception):
    """Base of every client error."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int = 1,
        status: int | None = None,
        url: str | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status
        self.url = url
        self.body_excerpt = body_excerpt


class ExchangeHTTPError(CoinbaseError):
    """A non-retryable HTTP error status (4xx other than 429)."""

    def __init__(
        self, status: int, message: str, url: str, *, attempts: int = 1, body_excerpt: str | None = None
    ) -> None:
        self.exchange_message = message
        super().__init__(
            self._describe(status, message, url),
            attempts=attempts,
            status=status,
            url=url,
            body_excerpt=body_excerpt,
        )

    def _describe(self, status: int, message: str, url: str) -> str:
        return f"GET {url} answered HTTP {status}: {message!r}"


class BadRequest(ExchangeHTTPError):
    """HTTP 400: the exchange rejected the request itself (its message says why)."""

    def _describe(self, status: int, message: str, url: str) -> str:
        hint = (
            " (set `exchange.user_agent` in the configuration: the exchange refuses requests without one)"
            if "user-agent" in message.lower()
            else ""
        )
        return f"GET {url} was rejected as a bad request (HTTP {status}): {message!r}{hint}"


class ProductNotFound(ExchangeHTTPError):
    """HTTP 404 for a product path: the exchange does not list this product."""

    def __init__(
        self,
        product_id: str,
        url: str,
        *,
        message: str = "NotFound",
        attempts: int = 1,
        body_excerpt: str | None = None,
    ) -> None:
        self.product_id = product_id
        super().__init__(404, message, url, attempts=attempts, body_excerpt=body_excerpt)

    def _describe(self, status: int, message: str, url: str) -> str:
        return (
            f"the exchange has no product {self.product_id!r} (HTTP {status} {message!r} from GET {url}); "
            "check the product ids under `symbols` in the configuration (include/crypto_insights.yaml or "
            "$CRYPTO_INSIGHTS_CONFIG) against GET /products"
        )


class ExchangeUnavailable(CoinbaseError):
    """Every attempt failed with a retryable outcome (429, 5xx, timeout, connection error)."""

    def __init__(
        self,
        base_url: str,
        url: str,
        reason: str,
        *,
        attempts: int,
        status: int | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.reason = reason
        super().__init__(
            f"the exchange at {base_url} is unavailable: GET {url} failed {attempts} time(s), last with "
            f"{reason}. Check the network and the exchange's status, or set COINBASE_API_URL to the "
            "offline exchange (`crypto-insights exchange`) to run without Coinbase",
            attempts=attempts,
            status=status,
            url=url,
            body_excerpt=body_excerpt,
        )


class DeadlineExceeded(CoinbaseError):
    """The request could not finish before its slot's deadline; what the last attempt met is kept."""

    def __init__(
        self, url: str, reason: str, *, attempts: int, status: int | None = None, body_excerpt: str | None = None
    ) -> None:
        self.reason = reason
        super().__init__(
            f"GET {url} did not finish before the slot's deadline (ingest.slot_deadline_s) after {attempts} "
            f"attempt(s): {reason}",
            attempts=attempts,
            status=status,
            url=url,
            body_excerpt=body_excerpt,
        )


class Throttled(CoinbaseError):
    """The exchange asked to wait (429 ``Retry-After``) longer than the slot has left: the slot is given up."""

    def __init__(
        self, url: str, retry_after_s: float, remaining_s: float, *, attempts: int, body_excerpt: str | None = None
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"GET {url}: the exchange asked to retry after {retry_after_s:.1f} s, but the slot's deadline is "
            f"{max(0.0, remaining_s):.1f} s away; recorded as throttled instead of delaying later slots",
            attempts=attempts,
            status=429,
            url=url,
            body_excerpt=body_excerpt,
        )


class MalformedPayload(CoinbaseError):
    """A success status whose body is not valid JSON; ``body`` keeps the raw bytes for recording."""

    def __init__(self, url: str, body: bytes, detail: str, *, status: int = 200, attempts: int = 1) -> None:
        self.body = body
        self.detail = detail
        super().__init__(
            f"GET {url} answered HTTP {status} with a body that is not valid JSON ({detail}); "
            f"{len(body)} bytes starting {excerpt(body, 120)!r}",
            attempts=attempts,
            status=status,
            url=url,
            body_excerpt=excerpt(body),
        )


class InvalidPayload(CoinbaseError):
    """Valid JSON that does not have the shape of the endpoint's response (a field missing or mistyped)."""

    def __init__(
        self,
        product_id: str,
        endpoint: str,
        reason: str,
        body_excerpt: str,
        *,
        field: str | None = None,
        attempts: int = 1,
        status: int | None = 200,
        url: str | None = None,
    ) -> None:
        self.product_id = product_id
        self.endpoint = endpoint
        self.reason = reason
        self.field = field
        super().__init__(
            f"{endpoint} of {product_id}: {reason}"
            + (f" (GET {url})" if url else "")
            + "; the exchange's schema may have changed: the body is kept in the error record",
            attempts=attempts,
            status=status,
            url=url,
            body_excerpt=body_excerpt,
        )
