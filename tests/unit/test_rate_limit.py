"""The client's pacing: the token bucket (burst, then rate; thread safety) and the retry delays."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from crypto_insights.coinbase.client import CoinbaseClient, _retry_after_seconds, default_bucket
from crypto_insights.coinbase.rate_limit import TokenBucket
from crypto_insights.config import load_settings


class FakeClock:
    """A monotonic clock that only moves when the bucket sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_bucket(rate: float = 10.0, burst: int = 15) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep), clock


def test_defaults_are_the_public_limit() -> None:
    bucket = TokenBucket()
    assert (bucket.rate, bucket.burst) == (10.0, 15)


def test_burst_is_free_then_tokens_come_at_the_rate() -> None:
    bucket, clock = make_bucket(10.0, 15)
    waits = [bucket.acquire() for _ in range(15)]
    assert waits == [0.0] * 15 and clock.slept == [] and clock.now == 1000.0
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.1] * 5)
    assert clock.now - 1000.0 == pytest.approx(0.5)  # 20 requests: 15 at once, then 10/s


def test_lazy_fill_is_capped_at_burst() -> None:
    bucket, clock = make_bucket(10.0, 15)
    for _ in range(15):
        bucket.acquire()
    clock.now += 3600  # idle for an hour: the bucket holds 15 tokens, not 36 000
    assert bucket.available == pytest.approx(15.0)
    assert [bucket.acquire() for _ in range(15)] == [0.0] * 15
    assert bucket.acquire() == pytest.approx(0.1)


def test_partial_refill() -> None:
    bucket, clock = make_bucket(10.0, 15)
    for _ in range(15):
        bucket.acquire()
    clock.now += 0.35  # 3.5 tokens back
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.05)


def test_try_acquire_never_waits() -> None:
    bucket, clock = make_bucket(2.0, 2)
    assert bucket.try_acquire() and bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.now += 0.5
    assert bucket.try_acquire()
    assert clock.slept == []


def test_a_spare_token_is_taken_only_when_no_reservation_waits() -> None:
    bucket, clock = make_bucket(rate=1.0, burst=2)
    assert bucket.take_spare() == 0.0  # one of the burst is spare
    assert bucket.reserve() == 0.0  # the last token goes to a reservation
    assert bucket.take_spare() == pytest.approx(1.0) and bucket.available == pytest.approx(0.0)  # nothing taken
    assert bucket.reserve() == pytest.approx(1.0)  # a reservation queues (the balance goes negative)...
    assert bucket.take_spare() == pytest.approx(2.0)  # ...and a spare token waits behind it
    clock.now += 1.0
    assert bucket.take_spare() == pytest.approx(1.0)  # the refill went to the queued reservation
    clock.now += 1.0
    assert bucket.take_spare() == 0.0 and bucket.available == pytest.approx(0.0)


def test_trade_pages_yield_the_rate_limit_to_books_and_tickers() -> None:
    """Books queued for tokens are all served before a trade page that polls for a spare one."""
    bucket = TokenBucket(rate=10.0, burst=3)  # a token every 100 ms: far more than a thread's wake-up jitter
    order: list[str] = []
    lock = threading.Lock()

    def take(kind: str) -> None:
        if kind == "trades":
            while (wait := bucket.take_spare()) > 0:
                time.sleep(wait)
        else:
            time.sleep(bucket.reserve())
        with lock:
            order.append(kind)

    books = [threading.Thread(target=take, args=("book",)) for _ in range(9)]
    trades = [threading.Thread(target=take, args=("trades",)) for _ in range(3)]
    for t in books:
        t.start()
    while bucket.available > -5.5:  # the books have taken the burst and queued for the next tokens
        time.sleep(0.001)
    for t in trades:
        t.start()
    for t in books + trades:
        t.join(5)
    assert order == ["book"] * 9 + ["trades"] * 3


@pytest.mark.parametrize(("rate", "burst"), [(0, 15), (-1, 15), (10, 0)])
def test_rejects_impossible_limits(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate, burst)


def test_concurrent_reservations_are_never_lost() -> None:
    """Clock frozen: 400 reservations from 8 threads queue exactly (burst free, then 1/rate apart)."""
    clock = FakeClock()
    bucket = TokenBucket(10.0, 15, clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = [bucket.reserve() for _ in range(50)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [0.0] * 15 + [(k + 1) / 10.0 for k in range(400 - 15)]
    assert sorted(waits) == pytest.approx(expected)


def test_threads_sharing_a_bucket_stay_within_the_limit() -> None:
    """Real clock, real sleeps: 6 threads x 8 acquisitions never exceed burst + rate x elapsed."""
    rate, burst = 200.0, 5
    bucket = TokenBucket(rate, burst)
    granted: list[float] = []
    lock = threading.Lock()
    t0 = time.monotonic()

    def worker() -> None:
        for _ in range(8):
            bucket.acquire()
            now = time.monotonic()
            with lock:
                granted.append(now)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(granted) == 48
    for k, at in enumerate(sorted(granted)):
        allowed_from = t0 + max(0, k + 1 - burst) / rate
        assert at >= allowed_from - 1e-3, f"grant {k} came {allowed_from - at:.4f}s early"
    elapsed = max(granted) - t0
    assert (48 - burst) / rate - 1e-3 <= elapsed < 2.0


def test_client_keeps_one_token_in_reserve() -> None:
    settings = load_settings().exchange
    bucket = default_bucket(settings)
    assert bucket.rate == settings.requests_per_second
    assert bucket.burst == settings.burst - 1
    assert default_bucket(replace(settings, burst=1)).burst == 1


def test_backoff_is_full_jitter_under_the_cap() -> None:
    settings = replace(load_settings().exchange, backoff_base_s=0.5, backoff_max_s=3.0)
    client = CoinbaseClient(settings)
    try:
        for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
            delays = [client.backoff_delay(attempt) for _ in range(300)]
            assert all(0.0 <= d <= ceiling for d in delays)
            # full jitter spreads over the whole interval, not only near the ceiling
            assert min(delays) < ceiling * 0.2 and max(delays) > ceiling * 0.8
    finally:
        client.close()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert _retry_after_seconds("2") == 2.0
    assert _retry_after_seconds("0.25") == 0.25
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("soon") is None
    assert _retry_after_seconds("-3") == 0.0
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8.0 < (_retry_after_seconds(in_ten) or 0) <= 10.0
