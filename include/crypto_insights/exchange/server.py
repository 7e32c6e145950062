"""The offline exchange's HTTP server: Coinbase's public paths, status codes and JSON, plus switchable faults.

Public API (as on ``api.exchange.coinbase.com``): ``GET /products``, ``/products/{id}``,
``/products/{id}/book?level=1|2`` (level 2: the whole aggregated book), ``/products/{id}/ticker``,
``/products/{id}/trades?limit=&after=&before=`` (newest first, paged by trade id, ``CB-BEFORE``/``CB-AFTER``
headers), ``/products/{id}/stats``, ``/products/{id}/candles?granularity=&start=&end=``, ``/currencies``,
``/currencies/{id}`` and ``/time``. Every public request takes a token from its client IP's bucket (429 past the
limit), then needs a ``User-Agent`` (400), then meets the faults set for its path (query string ignored).

Control endpoint, only when asked for (``control=True``; the CLI's ``--control`` or
``CRYPTO_INSIGHTS_EXCHANGE_CONTROL=1``), otherwise a 404 like any unknown path: anyone who can reach the port
could otherwise switch faults on. No rate limit, no User-Agent needed, not counted:
``GET /_control/faults`` lists the faults; ``POST /_control/faults`` with
``{"path": "/products/BTC-USD/book", "fault": "server_error", "count": 2, "status": 502}`` (or a list of such;
``"probability": 0.1`` affects each matching request with that probability) adds them;
``DELETE /_control/faults`` clears all, ``DELETE /_control/faults/{id}`` one;
``GET /_control/stats`` shows the mode, seed, chaos rate, book steps, prints made and requests served;
``GET /_control/trades/{product_id}[?after_id=N]`` every print made and kept (``ExchangeServer.trades``).

Chaos (``chaos=RATE``): the mix of ``faults.CHAOS_MIX`` on the book, ticker and trades paths, so that about RATE of
those requests fault, drawn from an RNG seeded with ``seed`` (a run can be reproduced).
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from crypto_insights.config import Settings, load_settings
from crypto_insights.exchange.faults import (
    RATE_LIMIT_MESSAGE,
    Fault,
    FaultError,
    FaultTable,
    edit_body,
    install_chaos,
    malformed,
)
from crypto_insights.exchange.market import GeneratedMarket
from crypto_insights.exchange.payload import BadRequest, Payload
from crypto_insights.exchange.replay import ReplayMarket
from crypto_insights.exchange.tape import DEFAULT_RETENTION_S, MAX_LIMIT
from crypto_insights.exchange.throttle import PUBLIC_BURST, PUBLIC_RATE_LIMIT, ClientThrottle
from crypto_insights.exchange.wire import dumps, iso_time, message

log = logging.getLogger(__name__)

DEFAULT_SEED = 7
CONTROL_PREFIX = "/_control"
NOT_FOUND = message("NotFound")
USER_AGENT_REQUIRED = message("User-Agent header is required.")
INVALID_LEVEL = message("Invalid level")


def _last(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def trades_query(query: str) -> tuple[int, int | None, int | None]:
    """``limit`` (1..1000, default 1000), ``after`` and ``before`` (trade ids) of a trades request."""
    params = parse_qs(query)
    text = _last(params, "limit")
    try:
        limit = MAX_LIMIT if text is None else int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest("Invalid limit")
    cursors: list[int | None] = []
    for name in ("after", "before"):
        text = _last(params, name)
        try:
            cursors.append(None if text is None else int(text))
        except ValueError:
            raise BadRequest(f"Invalid {name}") from None
    return limit, cursors[0], cursors[1]


def time_body(epoch_ns: int) -> bytes:
    """``{"iso":"2026-06-19T16:43:31.844Z","epoch":1781887411.844}`` (milliseconds, as Coinbase)."""
    millis = epoch_ns // 1_000_000
    return f'{{"iso":"{iso_time(epoch_ns, 3)}","epoch":{millis // 1000}.{millis % 1000:03d}}}'.encode()


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections, so ``stop()`` can end keep-alive ones and a fault can abort one with a RST."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], exchange: ExchangeServer) -> None:
        self.exchange = exchange
        self._connections: set[socket.socket] = set()
        self._aborted: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:  # HTTPServer's would resolve the host name (slow without DNS)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
            aborted = request in self._aborted
            self._aborted.discard(request)
        if aborted:  # no FIN first: close() with SO_LINGER 0 sends the RST
            request.close()
        else:
            super().shutdown_request(request)

    def abort(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._connections_lock:
            self._aborted.add(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    server_version = "crypto-insights-offline-exchange"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms per response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, public: bool = True) -> None:
        if public:
            self.server.exchange._record_status(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
            if self.server.exchange.control and (path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")):
                self._control(method, path, body, query)
            else:
                self._public(method, path, query)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("%s %s: the client went away", method, self.path)
            self.close_connection = True
        except Exception:
            log.exception("%s %s failed", method, self.path)
            try:
                self._send(500, message("Internal server error"))
            except OSError:
                self.close_connection = True

    # -- the public API ------------------------------------------------------------------------------------------

    def _public(self, method: str, path: str, query: str) -> None:
        exchange = self.server.exchange
        exchange._record_request(path)
        if not exchange.throttle.allow(self.client_address[0]):
            return self._send(429, message(RATE_LIMIT_MESSAGE))
        if not (self.headers.get("User-Agent") or "").strip():
            return self._send(400, USER_AGENT_REQUIRED)
        faults = exchange.faults.take(path)
        if faults and not self._answering_faults(faults):
            return
        try:
            status, answer = self._route(method, path, query)
        except BadRequest as exc:
            status, answer = 400, message(str(exc))
        if isinstance(answer, bytes):
            return self._send(status, answer)
        edit_body(answer, faults)
        body = answer.body()
        for fault in faults:
            if fault.kind == "malformed_json":
                body = malformed(body, fault)
        self._send(status, body, answer.headers)

    def _answering_faults(self, faults: list[Fault]) -> bool:
        """Apply delay, reset, rate_limit and server_error; False when the request is answered (or dropped)."""
        exchange = self.server.exchange
        for fault in faults:
            if fault.kind == "delay" and exchange._stopping.wait(fault.params["seconds"]):
                self.close_connection = True
                return False
        for fault in faults:
            if fault.kind == "reset":
                self.server.abort(self.connection)
                self.close_connection = True
                exchange._record_status(0)
                return False
            if fault.kind == "rate_limit":
                retry_after = fault.params["retry_after"]
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
                self._send(429, message(fault.params["message"]), headers)
                return False
            if fault.kind == "server_error":
                self._send(fault.params["status"], message(fault.params["message"]))
                return False
        return True

    def _route(self, method: str, path: str, query: str) -> tuple[int, Payload | bytes]:
        exchange = self.server.exchange
        market = exchange.market
        parts = path.split("/")
        if method != "GET" or len(parts) < 2 or parts[0]:
            return 404, NOT_FOUND
        if parts[1] == "time" and len(parts) == 2:
            return 200, Payload("time", raw=time_body(exchange.clock()))
        if parts[1] == "currencies" and len(parts) <= 3:
            currencies = market.currencies_payload(parts[2] if len(parts) == 3 else None)
            return (200, currencies) if currencies is not None else (404, NOT_FOUND)
        if parts[1] != "products":
            return 404, NOT_FOUND
        if len(parts) == 2:
            return 200, market.products_payload()
        product_id = parts[2]
        if product_id not in market.product_ids or len(parts) > 4:
            return 404, NOT_FOUND
        payload: Payload | None = None
        if len(parts) == 3:
            payload = market.product_payload(product_id)
        elif parts[3] == "book":
            level = (parse_qs(query).get("level") or ["1"])[-1]
            if level not in ("1", "2"):
                return 400, INVALID_LEVEL
            payload = market.book_payload(product_id, int(level))
        elif parts[3] == "ticker":
            payload = market.ticker_payload(product_id)
        elif parts[3] == "trades":
            payload = market.trades_payload(product_id, *trades_query(query))
        elif parts[3] == "stats":
            payload = market.stats_payload(product_id)
        elif parts[3] == "candles":
            params = parse_qs(query)
            payload = market.candles_payload(
                product_id, _last(params, "granularity"), _last(params, "start"), _last(params, "end")
            )
        return (200, payload) if payload is not None else (404, NOT_FOUND)

    # -- control ---------------------------------------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes, query: str = "") -> None:
        exchange = self.server.exchange
        faults = exchange.faults
        if path == "/_control/faults":
            if method == "GET":
                return self._send(200, dumps(faults.list()).encode(), public=False)
            if method == "DELETE":
                return self._send(200, dumps({"cleared": faults.clear()}).encode(), public=False)
            if method == "POST":
                try:
                    added = exchange.add_faults_from_json(body)
                except FaultError as exc:
                    return self._send(400, message(str(exc)), public=False)
                return self._send(201, dumps(added).encode(), public=False)
        elif path.startswith("/_control/faults/") and method == "DELETE":
            fault_id = path.rsplit("/", 1)[-1]
            if fault_id.isdigit() and faults.remove(int(fault_id)):
                return self._send(200, dumps({"removed": int(fault_id)}).encode(), public=False)
        elif path == "/_control/stats" and method == "GET":
            return self._send(200, dumps(exchange.stats()).encode(), public=False)
        elif path.startswith("/_control/trades/") and method == "GET":
            product_id = path.rsplit("/", 1)[-1]
            after_id = _last(parse_qs(query), "after_id")
            if product_id in exchange.market.product_ids and (after_id is None or after_id.isdigit()):
                made = exchange.trades(product_id, None if after_id is None else int(after_id))
                return self._send(200, dumps(made).encode(), public=False)
        self._send(404, NOT_FOUND, public=False)


class ExchangeServer:
    """The offline exchange on ``host:port`` (0: a free port), generated from ``seed`` or replaying a folder.

    ``start()`` serves from a background thread (or use it as a context manager); ``url`` is the base URL to
    give the client; ``faults.add(path, kind, count=None, **params)`` switches a fault on.
    ``rate_limit``/``burst`` are per client IP (Coinbase: 10/s, burst 15); ``rate_limit=None`` lifts the limit.
    ``control`` serves the fault-control endpoint (off: 404); ``chaos`` (a share in (0, 1]) switches the chaos mix
    on; probabilistic faults draw from an RNG seeded with ``seed``. ``clock`` (epoch ns; default the wall clock)
    drives the trade tape, ``/time`` and book times; ``trade_retention_s`` is how long prints stay served;
    ``trade_history_s`` starts the tape that long before the server (it has traded before anyone asked).
    ``trades(product_id)`` is every print the exchange made and keeps (oldest first), to compare with a landing.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = DEFAULT_SEED,
        replay_dir: str | Path | None = None,
        rate_limit: float | None = PUBLIC_RATE_LIMIT,
        burst: int | None = PUBLIC_BURST,
        control: bool = False,
        chaos: float | None = None,
        clock: Callable[[], int] = time.time_ns,
        trade_retention_s: float = DEFAULT_RETENTION_S,
        trade_history_s: float = 0.0,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.seed = seed
        self.control = control
        self.chaos = chaos
        self.clock = clock
        self.market: GeneratedMarket | ReplayMarket = (
            ReplayMarket(Path(replay_dir), self.settings)
            if replay_dir
            else GeneratedMarket(self.settings, seed, clock, trade_retention_s, trade_history_s)
        )
        self.faults = FaultTable(default_delay_s=self.settings.exchange.read_timeout_s + 5, seed=seed)
        if chaos:
            install_chaos(self.faults, chaos, self.settings.ingest.slot_seconds)
        self.throttle = ClientThrottle(rate_limit, burst)
        self.requests_served: Counter[str] = Counter()  # public requests received, by path
        self.responses: Counter[int] = Counter()  # by status; 0 = connection reset by a fault
        self._stats_lock = threading.Lock()
        self._stopping = threading.Event()
        try:
            self._httpd = _HTTPServer((host, port), self)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another port (--port) or stop what uses it",
            ) from None
        self._thread: threading.Thread | None = None

    # -- where -----------------------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        host = str(self._httpd.server_address[0])
        return "127.0.0.1" if host in ("", "0.0.0.0") else host

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> ExchangeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="offline-exchange",
                daemon=True,
            )
            self._thread.start()
            log.info(
                "offline Coinbase exchange (%s) serving %s on %s",
                self.mode,
                ", ".join(self.market.product_ids),
                self.url,
            )
        return self

    def stop(self) -> None:
        """Stop accepting, end open connections (and any delay fault's wait), free the port."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> ExchangeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.market.mode

    def book_steps(self) -> dict[str, int]:
        """Book responses served per product; in generated mode, the next one shows the book after this many
        steps (``SimulatedBook.at_step(symbol, seed, n)``)."""
        return self.market.steps()

    def trades(self, product_id: str, after_id: int | None = None) -> list[dict[str, Any]]:
        """Every print of ``product_id`` the exchange made up to now and still serves (newer than ``after_id``),
        oldest first, each as its wire row decodes: ``{"trade_id": int, "side", "size", "price", "time"}``
        (``side`` the maker's). In replay mode: every captured print. KeyError for an unknown product."""
        if product_id not in self.market.product_ids:
            raise KeyError(f"{product_id} is not served here; products: {', '.join(self.market.product_ids)}")
        return self.market.trades(product_id, after_id)

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            return {
                "mode": self.mode,
                "seed": self.seed if self.mode == "generated" else None,
                "chaos": self.chaos,
                "products": list(self.market.product_ids),
                "book_steps": self.book_steps(),
                "trades_made": self.market.trades_made(),
                "requests_served": dict(self.requests_served),
                "responses": {str(k): v for k, v in sorted(self.responses.items())},
                "faults": self.faults.list(),
            }

    def add_faults_from_json(self, body: bytes) -> dict[str, Any] | list[dict[str, Any]]:
        """``{"path", "fault", "count"?, ...params}`` or a list of them (the control endpoint's POST)."""
        try:
            spec = json.loads(body or b"null")
        except ValueError as exc:
            raise FaultError(f"the body must be JSON: {exc}") from None
        specs = spec if isinstance(spec, list) else [spec]
        added = []
        for item in specs:
            if not isinstance(item, dict) or "path" not in item or not ("fault" in item or "kind" in item):
                raise FaultError(
                    'each fault is {"path": "/products/BTC-USD/book", "fault": "server_error", '
                    f'"count": 2, ...params}}; got {item!r}'
                )
            params = {k: v for k, v in item.items() if k not in ("path", "fault", "kind", "count")}
            kind = item.get("fault", item.get("kind"))
            added.append(self.faults.add(item["path"], kind, item.get("count"), **params).as_dict())
        return added if isinstance(spec, list) else added[0]

    def _record_request(self, path: str) -> None:
        with self._stats_lock:
            self.requests_served[path] += 1

    def _record_status(self, status: int) -> None:
        with self._stats_lock:
            self.responses[status] += 1
