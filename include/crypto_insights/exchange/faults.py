"""Faults switched on per request path: what the real exchange (or the network) does on a bad day.

A fault matches a request path without its query string, exactly or as a glob (``/products/*/book``), and
affects ``count`` matching requests (None: every one until cleared). With a ``probability`` it affects each
matching request with that probability only (``count`` then counts the affected ones). The draws come from the
table's seeded RNG, one uniform number per request shared by all probabilistic faults matching it: they never
stack on one request, and each affects its own share of requests as long as the shares on a path add up to at
most 1. That is what ``chaos_faults`` relies on to make a given share of all requests fail. Kinds and their
parameters:

==================  ========================================================================================
``rate_limit``      429 ``{"message":"Public rate limit exceeded"}``; ``retry_after`` (s) adds ``Retry-After``
``server_error``    ``status`` (default 503) with ``{"message": <reason phrase or message>}``
``delay``           wait ``seconds`` (default: the client's read timeout + 5 s), then answer normally
``reset``           close the TCP connection with a RST, no response
``malformed_json``  200 with an invalid body: ``mode`` ``truncate`` (default, the real body cut in half)
                    or ``html`` (a proxy's error page)
``missing_field``   drop the top-level ``field`` (default ``bids``); trades: that field of every print
``extra_field``     add the top-level ``fields`` (default ``{"new_field": {...}}``): schema drift; trades: to
                    every print
``crossed_book``    book: an ask ``by_ticks`` (default 1; 0 = locked) below the best bid; ticker: ask < bid
``negative_size``   book: the size of ``levels`` (default 3) of the best ten levels per side negated;
                    ticker: a negative ``size``; trades: the size of ``levels`` of the newest ten prints
==================  ========================================================================================

Every public path takes faults (``/products/*/trades``, ``/currencies``, ``/time`` ...); the body edits apply to
JSON objects and to trade pages, not to other arrays (``/products``, candles).
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from crypto_insights.exchange.payload import Payload
from crypto_insights.exchange.wire import dumps, row

RATE_LIMIT_MESSAGE = "Public rate limit exceeded"
PROXY_ERROR_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
DEFAULT_EXTRA_FIELDS = {"new_field": {"introduced": "2026-11", "note": "schema drift injected by a fault"}}

# kind -> {param: default}; a default of None means optional
PARAMS: dict[str, dict[str, Any]] = {
    "rate_limit": {"retry_after": None, "message": RATE_LIMIT_MESSAGE},
    "server_error": {"status": 503, "message": None},
    "delay": {"seconds": None},
    "reset": {},
    "malformed_json": {"mode": "truncate"},
    "missing_field": {"field": "bids"},
    "extra_field": {"fields": DEFAULT_EXTRA_FIELDS},
    "crossed_book": {"by_ticks": 1},
    "negative_size": {"levels": 3},
}
KINDS = tuple(PARAMS)
ANSWERING_KINDS = ("reset", "rate_limit", "server_error")  # these replace the response
BODY_KINDS = ("crossed_book", "negative_size", "missing_field", "extra_field")
DEFAULT_FAULT_SEED = 7
MARKET_DATA_PATHS = ("/products/*/book", "/products/*/ticker", "/products/*/trades")
SLOT_SECONDS = 10  # a Retry-After beyond this outlasts the slot the request was for

# The chaos mix: (share of the faulted requests, kind, params). What the real exchange and the network do on a
# bad day, each at least once in a few hundred requests. ``None`` retry_after is filled in from the slot length.
CHAOS_MIX: tuple[tuple[float, str, dict[str, Any]], ...] = (
    (0.12, "rate_limit", {"retry_after": 1}),  # short: the client waits and the slot still lands
    (0.05, "rate_limit", {"retry_after": None}),  # longer than a slot: the slot is given up
    (0.10, "server_error", {"status": 503}),
    (0.05, "server_error", {"status": 502}),
    (0.05, "server_error", {"status": 500, "message": "Internal server error"}),
    (0.08, "delay", {}),  # past the client's read timeout
    (0.10, "reset", {}),
    (0.07, "malformed_json", {"mode": "truncate"}),
    (0.05, "malformed_json", {"mode": "html"}),
    (0.11, "extra_field", {}),  # schema drift: lands, the unknown field rescued
    (0.10, "crossed_book", {"by_ticks": 1}),  # lands, flagged crossed
    (0.12, "negative_size", {"levels": 3}),  # lands, those levels excluded
)


class FaultError(ValueError):
    """A fault that cannot be set up: unknown kind, bad path, count or parameter."""


@dataclass
class Fault:
    id: int
    path: str
    kind: str
    count: int | None = None  # matching requests it still affects; None: until cleared
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0  # requests affected
    probability: float | None = None  # None: every matching request
    seen: int = 0  # matching requests, affected or not

    def matches(self, path: str) -> bool:
        return self.path == path or fnmatch.fnmatchcase(path, self.path)

    def as_dict(self) -> dict[str, Any]:
        described = {"id": self.id, "path": self.path, "fault": self.kind, "count": self.count, "hits": self.hits}
        if self.probability is not None:
            described.update(probability=self.probability, seen=self.seen)
        return {**described, **self.params}


def _number(kind: str, name: str, value: Any, *, integer: bool, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise FaultError(f"{kind}: {name} must be a {'whole ' if integer else ''}number, got {value!r}")
    if value < minimum:
        raise FaultError(f"{kind}: {name} must be >= {minimum}, got {value!r}")
    return value


def validate(kind: str, params: dict[str, Any], default_delay_s: float) -> dict[str, Any]:
    """The parameters of a fault with defaults filled in; FaultError names what is wrong and what is allowed."""
    if kind not in PARAMS:
        raise FaultError(f"unknown fault kind {kind!r}; use one of: {', '.join(KINDS)}")
    allowed = PARAMS[kind]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise FaultError(f"{kind} takes {', '.join(allowed) or 'no parameters'}; got {', '.join(unknown)}")
    out = {**allowed, **params}
    if kind == "rate_limit" and out["retry_after"] is not None:
        _number(kind, "retry_after", out["retry_after"], integer=False, minimum=0)
    elif kind == "server_error":
        _number(kind, "status", out["status"], integer=True, minimum=400)
        if out["status"] > 599:
            raise FaultError(f"server_error: status must be an HTTP error status (400-599), got {out['status']}")
        if out["message"] is None:
            try:
                out["message"] = HTTPStatus(out["status"]).phrase
            except ValueError:
                out["message"] = "Server error"
    elif kind == "delay":
        out["seconds"] = _number(
            kind, "seconds", out["seconds"] if out["seconds"] is not None else default_delay_s, integer=False, minimum=0
        )
    elif kind == "malformed_json" and out["mode"] not in ("truncate", "html"):
        raise FaultError(f"malformed_json: mode must be 'truncate' or 'html', got {out['mode']!r}")
    elif kind == "missing_field" and (not isinstance(out["field"], str) or not out["field"]):
        raise FaultError(f"missing_field: field must be a top-level field name, got {out['field']!r}")
    elif kind == "extra_field" and (not isinstance(out["fields"], dict) or not out["fields"]):
        raise FaultError(f"extra_field: fields must be a non-empty JSON object, got {out['fields']!r}")
    elif kind == "crossed_book":
        _number(kind, "by_ticks", out["by_ticks"], integer=True, minimum=0)
    elif kind == "negative_size":
        _number(kind, "levels", out["levels"], integer=True, minimum=1)
    return out


def _probability(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise FaultError(f"probability must be a number in (0, 1], or omitted for 'every request'; got {value!r}")
    return float(value)


class FaultTable:
    """Thread-safe: the HTTP handlers consume faults while tests and the control endpoint add them.

    ``seed`` seeds the RNG of probabilistic faults: the same seed and the same order of requests affect the same
    requests.
    """

    def __init__(self, default_delay_s: float = 15.0, seed: int = DEFAULT_FAULT_SEED) -> None:
        self.default_delay_s = default_delay_s
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)

    def add(
        self, path: str, kind: str, count: int | None = None, probability: float | None = None, **params: Any
    ) -> Fault:
        """Switch a fault on for ``path`` (no query string; globs allowed) for ``count`` requests (None: all),
        each matching request affected with ``probability`` (None: every one)."""
        if not isinstance(path, str) or not path.startswith("/") or "?" in path:
            raise FaultError(
                f"a fault path is a request path without query string, e.g. /products/BTC-USD/book; got {path!r}"
            )
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise FaultError(f"count must be a whole number >= 1, or omitted for 'until cleared'; got {count!r}")
        fault = Fault(
            0, path, kind, count, validate(kind, params, self.default_delay_s), probability=_probability(probability)
        )
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) < before

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._faults)
            self._faults.clear()
            return cleared

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, path: str) -> list[Fault]:
        """The faults that apply to a request for ``path``, each charged one use; spent ones are dropped.

        One uniform draw decides the probabilistic ones: the fault whose share of [0, 1) it falls into (in the
        order they were added) applies, the others do not.
        """
        taken = []
        with self._lock:
            draw: float | None = None
            floor = 0.0
            for fault in self._faults:
                if not fault.matches(path):
                    continue
                fault.seen += 1
                if fault.probability is not None:
                    draw = self._rng.random() if draw is None else draw
                    hit = floor <= draw < floor + fault.probability
                    floor += fault.probability
                    if not hit:
                        continue
                fault.hits += 1
                taken.append(fault)
            self._faults = [f for f in self._faults if f.count is None or f.hits < f.count]
        return taken


def chaos_faults(rate: float, slot_seconds: int = SLOT_SECONDS) -> list[tuple[str, str, float, dict[str, Any]]]:
    """(path, kind, probability, params) of the chaos mix on the market-data paths: ≈``rate`` of all book,
    ticker and trades requests meet one fault of ``CHAOS_MIX`` (a Retry-After longer than a slot is
    ``slot_seconds`` + 5; ``crossed_book`` leaves a trades page as it is)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
        raise FaultError(f"the chaos rate is the share of requests to fault, in (0, 1]; got {rate!r}")
    total = sum(share for share, _, _ in CHAOS_MIX)
    faults = []
    for path in MARKET_DATA_PATHS:
        for share, kind, params in CHAOS_MIX:
            filled = dict(params)
            if kind == "rate_limit" and filled["retry_after"] is None:
                filled["retry_after"] = slot_seconds + 5
            faults.append((path, kind, rate * share / total, filled))
    return faults


def install_chaos(table: FaultTable, rate: float, slot_seconds: int = SLOT_SECONDS) -> list[Fault]:
    """Switch the chaos mix on (until cleared) in ``table``; see ``chaos_faults``."""
    return [
        table.add(path, kind, None, probability, **params)
        for path, kind, probability, params in chaos_faults(rate, slot_seconds)
    ]


def parse_cli_fault(spec: str) -> tuple[str, str, int | None, dict[str, Any]]:
    """``PATH=KIND[:COUNT][,NAME=VALUE...]`` → (path, kind, count, params); VALUE is JSON, else a string.

    e.g. ``/products/BTC-USD/book=server_error:3,status=502`` or ``/products/*/ticker=rate_limit,retry_after=2``;
    ``probability=0.1`` among the parameters affects each matching request with that probability only.
    """
    path, sep, rest = spec.partition("=")
    if not sep or not rest or not path:
        raise FaultError(
            f"a fault is PATH=KIND[:COUNT][,NAME=VALUE...], e.g. "
            f"/products/BTC-USD/book=server_error:2,status=502; got {spec!r}"
        )
    head, *pairs = rest.split(",")
    kind, _, count_text = head.partition(":")
    try:
        count = int(count_text) if count_text else None
    except ValueError:
        raise FaultError(f"the COUNT in {spec!r} must be a whole number, got {count_text!r}") from None
    params: dict[str, Any] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise FaultError(f"fault parameters are NAME=VALUE, got {pair!r} in {spec!r}")
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return path, kind, count, params


# -- applying them ---------------------------------------------------------------------------------------------


def _minus_ticks(price: str, ticks: int, tick: Decimal | None) -> str:
    number = Decimal(price)
    step = tick if tick is not None else Decimal(1).scaleb(number.as_tuple().exponent)  # type: ignore[arg-type]
    out = number - ticks * step
    return format(out.normalize(), "f") if out else "0"


def _negated(row_text: str) -> str:
    price, size, orders = json.loads(row_text)
    return row(price, size if size.startswith("-") else "-" + size, orders)


def _edit_trades(payload: Payload, edits: list[Fault]) -> None:
    """Body faults on a trades page: per print (a page is a JSON array of prints)."""
    if payload.rows is None:
        try:
            decoded = json.loads(payload.raw or b"[]")
        except ValueError:
            return
        if not isinstance(decoded, list):
            return
        payload.rows = [dumps(item) for item in decoded]
    prints = [json.loads(text) for text in payload.rows]
    for fault in edits:
        params = fault.params
        for i, item in enumerate(prints):
            if not isinstance(item, dict):
                continue
            if fault.kind == "missing_field":
                item.pop(params["field"], None)
            elif fault.kind == "extra_field":
                item.update(params["fields"])
            elif fault.kind == "negative_size" and i < min(10, 3 * params["levels"]) and i % 3 == 0:
                size = item.get("size")
                if isinstance(size, str) and not size.startswith("-"):
                    item["size"] = "-" + size
    payload.rows = [dumps(item) for item in prints]


def edit_body(payload: Payload, faults: list[Fault]) -> None:
    """Apply the faults that edit a successful JSON-object body or trades page (others are left to the caller)."""
    edits = [f for f in faults if f.kind in BODY_KINDS]
    if not edits:
        return
    if payload.kind == "trades":
        return _edit_trades(payload, edits)
    fragments = payload.editable()
    if fragments is None:  # e.g. /products is an array: these faults do not apply
        return
    for fault in edits:
        params = fault.params
        if fault.kind == "crossed_book":
            bids, asks = fragments.get("bids"), fragments.get("asks")
            if payload.kind == "book" and isinstance(bids, list) and isinstance(asks, list) and bids:
                price, _, _ = json.loads(bids[0])
                size = json.loads(asks[0])[1] if asks else "1"
                crossed = row(_minus_ticks(price, params["by_ticks"], payload.tick), size, 1)
                fragments["asks"] = [crossed] if payload.level == 1 else [crossed, *asks]
            elif payload.kind == "ticker" and isinstance(fragments.get("bid"), str):
                bid = json.loads(fragments["bid"])  # type: ignore[arg-type]
                fragments["ask"] = dumps(_minus_ticks(bid, params["by_ticks"], payload.tick))
        elif fault.kind == "negative_size":
            if payload.kind == "book":
                for side in ("bids", "asks"):
                    rows = fragments.get(side)
                    if isinstance(rows, list):
                        edited = list(rows)
                        for i in range(0, min(len(rows), 10, 3 * params["levels"]), 3):
                            edited[i] = _negated(rows[i])
                        fragments[side] = edited
            elif payload.kind == "ticker" and isinstance(fragments.get("size"), str):
                size = json.loads(fragments["size"])  # type: ignore[arg-type]
                fragments["size"] = dumps(size if size.startswith("-") else "-" + size)
        elif fault.kind == "missing_field":
            fragments.pop(params["field"], None)
        elif fault.kind == "extra_field":
            for name, value in params["fields"].items():
                fragments[name] = dumps(value)


def malformed(body: bytes, fault: Fault) -> bytes:
    if fault.params["mode"] == "html":
        return PROXY_ERROR_PAGE
    return body[: max(1, len(body) // 2)]
