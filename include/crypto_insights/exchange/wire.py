"""Coinbase's wire format: numbers as strings without padding zeros, ISO-8601 times, `{"message": ...}` errors.

Bodies are assembled from JSON fragments (an ordered ``dict`` of field name → raw JSON text, where a list of
strings stands for a JSON array of already serialised rows), so a 44k-level book is a string join, and a fault
can drop, add or rewrite one field without decoding the whole body.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

# field name -> raw JSON text, or a list of raw JSON rows rendered as an array
Fragments = dict[str, "str | list[str]"]


def plain(number: Decimal) -> str:
    """`77580`, `77589.4`, `0.0001`: no exponent, no padding zeros (as Coinbase sends them)."""
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


class Scale:
    """Integer multiples of an increment (a price tick or a size step) as exact strings, fast.

    Coinbase increments are powers of ten (``0.01``, ``0.00000001``): those are formatted by inserting a decimal
    point into the integer's digits, ~10x faster than going through ``Decimal``. Any other increment (e.g.
    ``0.5``) takes the exact ``Decimal`` path.
    """

    def __init__(self, increment: Decimal) -> None:
        if increment <= 0:
            raise ValueError(f"an increment must be positive, got {increment}")
        self.increment = increment
        sign, digits, exponent = increment.normalize().as_tuple()
        self.decimals: int | None = -int(exponent) if digits == (1,) else None

    def text(self, units: int) -> str:
        exp = self.decimals
        if exp is None:
            return plain(units * self.increment)
        if exp <= 0:
            return str(units * 10**-exp)
        negative = units < 0
        digits = str(-units if negative else units)
        if len(digits) <= exp:
            digits = "0" * (exp - len(digits) + 1) + digits
        whole, fraction = digits[:-exp], digits[-exp:].rstrip("0")
        out = f"{whole}.{fraction}" if fraction else whole
        return "-" + out if negative else out

    def units(self, value: Decimal) -> int:
        """The whole number of increments in ``value`` (rounded to the nearest)."""
        return int((value / self.increment).to_integral_value())

    def value(self, units: int) -> Decimal:
        return units * self.increment

    def fixed(self, units: int, places: int = 8) -> str:
        """``63212.97000000``: padded to ``places`` decimals (trades pad prices and sizes to 8)."""
        exp = self.decimals
        if exp is None or exp < 0 or exp > places:
            return format(units * self.increment, f".{max(places, -self.increment.as_tuple().exponent)}f")
        negative = units < 0
        digits = str(-units if negative else units)
        if exp:
            digits = digits.rjust(exp + 1, "0")
            whole, fraction = digits[:-exp], digits[-exp:]
        else:
            whole, fraction = digits, ""
        out = f"{whole}.{fraction}{'0' * (places - exp)}" if places else whole
        return "-" + out if negative else out

    def parse(self, text: str) -> int:
        """The inverse of :meth:`text` (and :meth:`fixed`): a wire number as whole increments."""
        exp = self.decimals
        if exp is None or exp < 0:
            return self.units(Decimal(text))
        whole, _, fraction = text.partition(".")
        fraction = fraction.rstrip("0")
        if len(fraction) > exp:
            return self.units(Decimal(text))
        return int(whole + fraction.ljust(exp, "0")) if exp else int(whole)


def iso_time(epoch_ns: int, digits: int = 9) -> str:
    """``2026-06-19T16:43:31.844642586Z`` (books: 9 fractional digits) or 6 digits (tickers, trades)."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    fraction = f"{nanos:09d}"[:digits]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction}Z"


def row(price: str, size: str, num_orders: int) -> str:
    """One book level as Coinbase writes it: ``["77589.4","0.0001",3]``."""
    return f'["{price}","{size}",{num_orders}]'


def dumps(value: object) -> str:
    """Compact JSON, as Coinbase sends it (no spaces)."""
    return json.dumps(value, separators=(",", ":"))


def render(fragments: Fragments) -> bytes:
    parts = []
    for name, value in fragments.items():
        text = "[" + ",".join(value) + "]" if isinstance(value, list) else value
        parts.append(f"{json.dumps(name)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def fragments_of(body: bytes) -> Fragments:
    """The inverse of :func:`render` for any JSON object body; arrays of arrays become lists of rows."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    out: Fragments = {}
    for name, value in data.items():
        if isinstance(value, list) and all(isinstance(item, list) for item in value):
            out[name] = [dumps(item) for item in value]
        else:
            out[name] = dumps(value)
    return out


def message(text: str) -> bytes:
    """An error body: ``{"message":"..."}``."""
    return dumps({"message": text}).encode()
