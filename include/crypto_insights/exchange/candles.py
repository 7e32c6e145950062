"""Candles (``GET /products/{id}/candles``) and 24 h stats (``GET /products/{id}/stats``) from a product's tape.

Candles as Coinbase serves them: rows ``[time, low, high, open, close, volume]`` of JSON numbers, newest first,
one per bucket of ``granularity`` seconds (aligned to the epoch) that holds prints (empty buckets are left out),
at most 300 a response. Without ``start``: the 300 buckets up to ``end`` (default now); with it, the buckets that
start within ``[start, end]``. ``start``/``end`` are ISO-8601 or epoch seconds; a range of more than 300 buckets
is a 400, like a granularity Coinbase does not serve.

Stats: ``open``/``high``/``low``/``last`` from the prints of the last 24 h; ``volume``/``volume_30day`` their sizes,
plus, for the part of the window before the exchange started, the coin's modelled daily volume at the start price
(so a fresh exchange reports a day's volume, and its own prints take over as it runs); the RFQ volumes are a fixed
share of those. Before the first print, the price is the book's start price.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from crypto_insights.exchange.payload import BadRequest
from crypto_insights.exchange.sizes import daily_notional
from crypto_insights.exchange.tape import NS, Tape
from crypto_insights.exchange.wire import Scale, dumps

GRANULARITIES = (60, 300, 900, 3600, 21600, 86400)
MAX_CANDLES = 300
DAY_S, MONTH_S = 86_400, 30 * 86_400
RFQ_SHARE = Decimal("0.006")
UNSUPPORTED_GRANULARITY = "Unsupported granularity"
TOO_MANY_CANDLES = "granularity too small for the requested time range. Count of aggregations requested exceeds 300"


def granularity_of(value: str | None) -> int:
    if value is None or value == "":
        return GRANULARITIES[0]
    try:
        granularity = int(value)
    except ValueError:
        raise BadRequest(UNSUPPORTED_GRANULARITY) from None
    if granularity not in GRANULARITIES:
        raise BadRequest(UNSUPPORTED_GRANULARITY)
    return granularity


def _epoch(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"Invalid {name}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def candle_window(granularity: int, start: str | None, end: str | None, now_s: float) -> tuple[int, int]:
    """The first and last bucket (epoch s of its start) of a request: the buckets starting within
    ``[start, end]``, or the 300 up to now; BadRequest past 300 buckets."""
    end_s = _epoch("end", end) if end else now_s
    last = int(end_s // granularity) * granularity
    if not start:
        return last - (MAX_CANDLES - 1) * granularity, last
    start_s = _epoch("start", start)
    if start_s > end_s:
        raise BadRequest("start must be before end")
    first = -int(-start_s // granularity) * granularity  # the first bucket starting at or after start
    if (last - first) // granularity + 1 > MAX_CANDLES:
        raise BadRequest(TOO_MANY_CANDLES)
    return first, last


def candle_rows(tape: Tape, granularity: int, first: int, last: int) -> list[str]:
    """``[time, low, high, open, close, volume]`` rows of the buckets ``first..last`` that hold prints, newest
    first (at most 300)."""
    record, prices, sizes = tape.record, tape.prices, tape.sizes
    times = record.times
    rows: list[str] = []
    hi = record.index_at((last + granularity) * NS)
    bucket = last
    while bucket >= first and len(rows) < MAX_CANDLES and hi > record.start:
        lo = record.index_at(bucket * NS)
        if hi > lo:
            window = record.prices[lo:hi]
            rows.append(
                f"[{bucket},{prices.text(min(window))},{prices.text(max(window))},"
                f"{prices.text(window[0])},{prices.text(window[-1])},{sizes.text(sum(record.sizes[lo:hi]))}]"
            )
            bucket -= granularity
        else:  # skip empty buckets at once: to the bucket of the print before
            if lo <= record.start:
                break
            bucket = min(bucket - granularity, times[lo - 1] // NS // granularity * granularity)
        hi = lo
    return rows


def stats_body(tape: Tape, start_tick: int, now_ns: int) -> bytes:
    """The ``/stats`` object (keys and number formats of Coinbase's)."""
    record, prices, sizes = tape.record, tape.prices, tape.sizes
    day_ago = now_ns - DAY_S * NS
    lo, hi = record.index_at(day_ago), len(record.times)
    window = record.prices[lo:hi]
    before_start = max(0, tape.t0_ns - day_ago) / (DAY_S * NS)  # share of the window before the exchange ran
    last = record.prices[-1] if record.times else start_tick  # the last print made, even past the horizon
    if before_start > 0:
        open_ = start_tick  # the price a day ago: the book's start price
    elif lo > record.start:
        open_ = record.prices[lo - 1]  # the last print before the window
    else:
        open_ = window[0] if window else last
    high, low = max(window, default=last), min(window, default=last)
    high, low = max(high, open_, last), min(low, open_, last)
    daily_units = int(
        daily_notional(tape.symbol) / (start_tick * tape.symbol.quote_increment) / tape.symbol.base_increment
    )
    volume = sum(record.sizes[lo:hi]) + round(daily_units * before_start)
    month_before_start = max(0, tape.t0_ns - (now_ns - MONTH_S * NS)) / (DAY_S * NS)
    volume_30day = record.total_units + round(daily_units * month_before_start)
    return dumps(
        {
            "open": prices.text(open_),
            "high": prices.text(high),
            "low": prices.text(low),
            "last": prices.text(last),
            "volume": sizes.fixed(volume),
            "volume_30day": sizes.fixed(volume_30day),
            "rfq_volume_24hour": _rfq(sizes, volume),
            "rfq_volume_30day": _rfq(sizes, volume_30day),
        }
    ).encode()


def _rfq(sizes: Scale, units: int) -> str:
    """RFQ volume: a share of the volume, in base currency, 6 decimals (``"31.625279"``, ``"2310.097200"``)."""
    return str((sizes.value(units) * RFQ_SHARE).quantize(Decimal("0.000001")))
