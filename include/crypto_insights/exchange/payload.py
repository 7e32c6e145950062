"""What a market hands the HTTP layer: a successful response body (verbatim bytes, editable fragments or rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from crypto_insights.exchange.wire import Fragments, fragments_of, render

Kind = Literal["products", "product", "book", "ticker", "trades", "stats", "candles", "currencies", "currency", "time"]


class BadRequest(ValueError):
    """A request the exchange answers 400 ``{"message": str(exc)}``, as Coinbase does (bad limit, granularity)."""


@dataclass
class Payload:
    kind: Kind
    product_id: str | None = None
    raw: bytes | None = None  # served verbatim unless a fault edits it
    fragments: Fragments | None = None
    tick: Decimal | None = None  # the product's quote_increment, for faults that move prices
    level: int | None = None  # books: 1 (best bid and ask only) or 2
    rows: list[str] | None = None  # a JSON array of serialised items (trades: one object per print)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. the trades' CB-BEFORE / CB-AFTER

    def body(self) -> bytes:
        if self.rows is not None:
            return ("[" + ",".join(self.rows) + "]").encode()
        if self.fragments is not None:
            return render(self.fragments)
        assert self.raw is not None
        return self.raw

    def editable(self) -> Fragments | None:
        """The body as fragments (decoding a verbatim body on first use); None when it is not a JSON object."""
        if self.rows is not None:
            return None
        if self.fragments is None and self.raw is not None:
            try:
                self.fragments = fragments_of(self.raw)
            except ValueError:
                return None
        return self.fragments
