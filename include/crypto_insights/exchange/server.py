"""The offline exchange's HTTP server: Coinbase's public paths, status codes, headers and JSON, plus faults.

Control endpoint (not rate limited, no User-Agent needed): `GET /_control/faults` lists the faults,
`POST /_control/faults` with `{"path": "/products/BTC-USD/book", "fault": "server_error", "count": 2, ...params}`
adds one, `DELETE /_control/faults` clears them.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
import time
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crypto_insights.config import Settings
from crypto_insights.exchange.faults import Fault, FaultError, FaultRegistry
from crypto_insights.exchange.market import ProductMarket, dumps
from crypto_insights.exchange.replay import ReplayStore
from crypto_insights.exchange.wire import message

log = logging.getLogger(__name__)
PRODUCT_PATH = re.compile(r"^/products/([^/]+)(?:/(book|ticker))?$")
CONTROL_PATH = "/_control/faults"


class RateLimiter:
    """Coinbase's public limit per client IP: a lazy-fill token bucket (rate/s, burst)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


class ExchangeServer:
    """A running offline exchange (`start()` serves in a background thread; a context manager too)."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 7,
        replay_dir: Path | None = None,
        rate_limit: float = 10.0,
        burst: int = 15,
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.replay = ReplayStore(replay_dir) if replay_dir else None
        self.markets = {s.product_id: ProductMarket(s, seed) for s in settings.symbols}
        self.faults = FaultRegistry()
        self.limiter = RateLimiter(rate_limit, burst)
        self.requests_served: Counter[str] = Counter()  # by path, every answered request (incl. errors)
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ExchangeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="offline-exchange", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ExchangeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _apply_payload_faults(payload: dict[str, Any], faults: list[Fault]) -> dict[str, Any]:
    for fault in faults:
        if fault.kind == "missing_field":
            payload.pop(fault.params.get("field", "bids"), None)
        elif fault.kind == "extra_field":
            payload.update(fault.params.get("fields") or {"new_field": {"introduced": "2026-11"}, "venue": "x"})
        elif fault.kind == "crossed_book" and payload.get("bids") and payload.get("asks"):
            best_ask = payload["asks"][0]
            payload["bids"] = [[best_ask[0], best_ask[1], 1], *payload["bids"]]
        elif fault.kind == "negative_size" and payload.get("bids"):
            for rows in (payload["bids"], payload["asks"]):
                for row in rows[1:10:3]:
                    row[1] = "-" + row[1]
    return payload


def _handler_for(exchange: ExchangeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "offline-coinbase-exchange"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.client_address[0], *args)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        # -- control --------------------------------------------------------------------------------------------
        def _control(self, method: str) -> None:
            if method == "GET":
                return self._send(200, dumps(exchange.faults.list()))
            if method == "DELETE":
                exchange.faults.clear()
                return self._send(200, dumps([]))
            try:
                spec = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                params = {k: v for k, v in spec.items() if k not in ("path", "fault", "count")}
                fault = exchange.faults.add(spec["path"], spec["fault"], spec.get("count"), **params)
            except (KeyError, ValueError, FaultError, TypeError) as exc:
                return self._send(400, message(f"bad fault: {exc}"))
            return self._send(201, dumps({"path": fault.path, "fault": fault.kind, "count": fault.count}))

        def do_POST(self) -> None:  # noqa: N802
            if urlsplit(self.path).path == CONTROL_PATH:
                return self._control("POST")
            self._send(404, message("NotFound"))

        def do_DELETE(self) -> None:  # noqa: N802
            if urlsplit(self.path).path == CONTROL_PATH:
                return self._control("DELETE")
            self._send(404, message("NotFound"))

        # -- the public API -------------------------------------------------------------------------------------
        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/") or "/"
            if path == CONTROL_PATH:
                return self._control("GET")
            exchange.requests_served[path] += 1
            if not self.headers.get("User-Agent"):
                return self._send(400, message("User-Agent header is required."))
            if not exchange.limiter.allow(self.client_address[0]):
                return self._send(429, message("Public rate limit exceeded"))
            faults = exchange.faults.take(path)
            for fault in faults:
                if fault.kind == "reset":
                    return self._reset()
                if fault.kind == "delay":
                    time.sleep(float(fault.params.get("seconds", 15)))
                if fault.kind == "rate_limit":
                    retry = fault.params.get("retry_after")
                    headers = {"Retry-After": str(retry)} if retry is not None else None
                    return self._send(429, message("Public rate limit exceeded"), headers)
                if fault.kind == "server_error":
                    status = int(fault.params.get("status", 503))
                    return self._send(status, message(HTTPStatus(status).phrase))
            status, body = self._answer(path, parse_qs(parts.query), faults)
            if status == 200 and any(f.kind == "malformed_json" for f in faults):
                body = body[: max(1, len(body) // 2)]
            self._send(status, body)

        def _answer(self, path: str, query: dict[str, list[str]], faults: list[Fault]) -> tuple[int, bytes]:
            if path == "/products":
                return 200, dumps([m.product() for m in exchange.markets.values()])
            match = PRODUCT_PATH.match(path)
            if not match:
                return 404, message("NotFound")
            product_id, endpoint = match.groups()
            if exchange.replay is not None and endpoint:
                body = exchange.replay.next_body(product_id, endpoint)
                if body is None:
                    return 404, message("NotFound")
                if not faults:
                    return 200, body
                return 200, dumps(_apply_payload_faults(json.loads(body), faults))
            market = exchange.markets.get(product_id)
            if market is None:
                return 404, message("NotFound")
            if endpoint is None:
                return 200, dumps(market.product())
            if endpoint == "ticker":
                return 200, dumps(_apply_payload_faults(market.ticker_payload(), faults))
            level = (query.get("level") or ["1"])[0]
            if level not in ("1", "2"):
                return 400, message("Invalid level; the public API serves level 1 and 2.")
            return 200, dumps(_apply_payload_faults(market.book_payload(int(level)), faults))

    return Handler
