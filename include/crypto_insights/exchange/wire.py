"""Coinbase's wire format: numbers as strings without padding zeros, nanosecond ISO-8601 times."""

from __future__ import annotations

import json
import time
from decimal import Decimal


def plain(number: Decimal) -> str:
    """`77580`, `77589.4`, `0.0001`: no exponent, no padding zeros (as Coinbase sends them)."""
    return format(number.normalize(), "f")


def nano_time(epoch_ns: int) -> str:
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def message(text: str) -> bytes:
    return json.dumps({"message": text}, separators=(",", ":")).encode()
