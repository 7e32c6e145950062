"""A thread-safe, lazy-fill token bucket: the client's side of the exchange's public rate limit.

Coinbase allows 10 requests/s per IP with bursts of 15 and answers 429 past that. Pacing ourselves with the
same kind of bucket means a burst of parallel requests never meets a 429 in the first place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second, computed on demand (no timer thread).

    :meth:`acquire` reserves a token under the lock (the balance may go negative: that is the queue of
    threads already waiting) and sleeps outside it, so waiting threads are served in the order they arrived
    and never hold each other up beyond their turn.
    """

    def __init__(
        self,
        rate: float = 10.0,
        burst: int = 15,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"token bucket rate must be > 0 requests/s, got {rate!r}")
        if burst < 1:
            raise ValueError(f"token bucket burst must be >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._updated = now

    def reserve(self) -> float:
        """Take one token now and return how many seconds the caller must wait before using it."""
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until a token is available; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def take_spare(self) -> float:
        """Take a token only if one is spare now and return 0.0; else take nothing and return the seconds until one
        may be. Reservations (:meth:`reserve`) always come first: a caller of this never queues ahead of them, so
        low-priority requests (the trade pages) use only what the high-priority ones (books, tickers) leave."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def try_acquire(self) -> bool:
        """Take a token only if one is available right now."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    @property
    def available(self) -> float:
        """Tokens available now (negative while threads are queued for future tokens)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens
