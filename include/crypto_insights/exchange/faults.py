"""Faults switched on per request path: what the real exchange (or the network) does on a bad day."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = (
    "rate_limit",      # 429 {"message":"Public rate limit exceeded"}, optional Retry-After (param retry_after)
    "server_error",    # 5xx (param status, default 503)
    "delay",           # answer after `seconds` (longer than the client's read timeout)
    "reset",           # close the TCP connection without an answer (RST)
    "malformed_json",  # 200 with a truncated body
    "missing_field",   # drop top-level `field` (e.g. bids, sequence)
    "extra_field",     # add unknown top-level fields (schema drift)
    "crossed_book",    # best bid >= best ask
    "negative_size",   # some sizes negative
)  # fmt: skip


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    path: str
    kind: str
    count: int | None = None  # matching requests it still affects; None: until cleared
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0


class FaultRegistry:
    """Thread-safe: the HTTP handlers consume faults while tests and the control endpoint add them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, path: str, kind: str, count: int | None = None, **params: Any) -> Fault:
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if not path.startswith("/"):
            raise FaultError(f"fault path must start with '/', got {path!r}")
        if count is not None and count < 1:
            raise FaultError("count must be >= 1 (or omitted for 'until cleared')")
        fault = Fault(path.split("?")[0].rstrip("/") or "/", kind, count, params)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, path: str) -> list[Fault]:
        """The faults that apply to this request, each charged one use."""
        taken = []
        with self._lock:
            for fault in self._faults:
                if fault.path == path and (fault.count is None or fault.hits < fault.count):
                    fault.hits += 1
                    taken.append(fault)
            self._faults = [f for f in self._faults if f.count is None or f.hits < f.count]
        return taken


def parse_cli_fault(spec: str) -> tuple[str, str, int | None]:
    """`/products/BTC-USD/book=server_error:3` -> (path, kind, count)."""
    path, sep, rest = spec.partition("=")
    if not sep or not rest:
        raise FaultError(f"--fault takes PATH=KIND[:COUNT], got {spec!r}")
    kind, _, count = rest.partition(":")
    return path, kind, int(count) if count else None
