"""The one configuration file: symbols and every setting that follows from them.

`load_settings()` reads `include/crypto_insights.yaml` (or the file named by ``CRYPTO_INSIGHTS_CONFIG``) and checks
all of it before anything starts. Every mistake is a :class:`ConfigError` of one line,
``<file>: `<dotted.key>` <what is wrong>; <what is allowed, or did you mean>``: unknown keys (with the closest
known one), keys written twice, values out of their range and settings that do not fit together (a KPI band wider
than the stored profile). `crypto-insights config check` prints the result (see docs/architecture.md#configuration).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crypto_insights.paths import DEFAULT_CONFIG_PATH

CONFIG_ENV = "CRYPTO_INSIGHTS_CONFIG"
API_URL_ENV = "COINBASE_API_URL"
ALERT_WEBHOOK_ENV = "CRYPTO_INSIGHTS_ALERT_WEBHOOK"
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,10}-[A-Z]{3,5}$")
URL_PATTERN = re.compile(r"^https?://[^\s/]+")
DEFAULT_LEVELS_PER_SIDE = 2000
MAX_PRICE = 1_000_000_000  # prices and increments are bounded so that exact Decimal tick arithmetic never overflows
MIN_INCREMENT = "0.000000000001"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds a value that is not allowed (one line)."""


@dataclass(frozen=True)
class ExchangeSettings:
    api_url: str
    user_agent: str
    requests_per_second: float
    burst: int
    connect_timeout_s: float
    read_timeout_s: float
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float


@dataclass(frozen=True)
class IngestSettings:
    slot_seconds: int
    window_seconds: int
    top_levels: int
    profile_band_pct: Decimal
    profile_bucket_bps: int
    retention_days: int
    detail_retention_hours: int  # the exploded levels, profile buckets and tails dbt keeps behind the newest slot
    slot_deadline_s: float
    trades_backfill_pages_per_slot: int  # pages of older prints a slot may fetch to close gaps (all products)
    trades_backfill_hours: int  # a trade gap older than this is recorded as lost, not paged back

    @property
    def slots_per_window(self) -> int:
        return self.window_seconds // self.slot_seconds

    def buckets_in(self, pct: Decimal) -> int:
        """Profile buckets in a band of `pct` % around mid (a whole number: the config checks every band)."""
        return int(pct * 100 / self.profile_bucket_bps)


@dataclass(frozen=True)
class KpiSettings:
    bands_pct: tuple[Decimal, ...]
    intent_threshold: Decimal
    whale_k: Decimal
    whale_median_band_pct: Decimal
    wall_persist_slots: int
    slippage_usd: tuple[Decimal, ...]
    support_resistance_bucket_pct: Decimal
    support_resistance_lookback_minutes: int
    support_resistance_levels: int
    whale_trade_k: Decimal  # a print >= k x the median print notional of the lookback is a whale trade
    whale_trade_lookback_minutes: int
    trade_mid_warn_pct: Decimal  # a print further than this from its slot's book mid is flagged (kept)
    depth_weighted_band_pct: Decimal = Decimal(1)  # a side's depth-weighted price: its levels within this % of mid


@dataclass(frozen=True)
class AlertSettings:
    """When the pipeline tells someone, and where (Airflow notifiers; see docs/architecture.md#alerts)."""

    stale_after_s: int  # no landed slot for this long: the ingest is stalled
    max_drop_rate: Decimal  # share of the last 15 minutes' rows dropped by data-quality rules above which to alert
    webhook_url: str | None  # POSTed a JSON message per alert and per recovery; $CRYPTO_INSIGHTS_ALERT_WEBHOOK
    email_to: tuple[str, ...]  # sent through Airflow's SMTP connection `smtp_default` when non-empty


@dataclass(frozen=True)
class SymbolSettings:
    product_id: str
    price_min: Decimal
    price_max: Decimal
    whale_floor_usd: Decimal
    whale_trade_floor_usd: Decimal
    quote_increment: Decimal
    base_increment: Decimal
    simulated_start_price: Decimal
    simulated_levels_per_side: int

    @property
    def base_currency(self) -> str:
        return self.product_id.split("-")[0]

    @property
    def quote_currency(self) -> str:
        return self.product_id.split("-")[1]


@dataclass(frozen=True)
class Settings:
    path: Path
    exchange: ExchangeSettings
    ingest: IngestSettings
    kpis: KpiSettings
    symbols: tuple[SymbolSettings, ...]
    alerts: AlertSettings

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(s.product_id for s in self.symbols)

    def symbol(self, product_id: str) -> SymbolSettings:
        for s in self.symbols:
            if s.product_id == product_id:
                return s
        raise ConfigError(
            f"{self.path}: product {product_id!r} is not configured; configured: {', '.join(self.product_ids)}"
        )


TOP_KEYS = ("exchange", "ingest", "kpis", "alerts", "symbols")
SYMBOL_KEYS = (
    "price_min",
    "price_max",
    "whale_floor_usd",
    "whale_trade_floor_usd",
    "quote_increment",
    "base_increment",
    "simulated",
)
SIMULATED_KEYS = ("start_price", "levels_per_side")


def _keys(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _fmt(number: Decimal | int | float) -> str:
    """A bound as people write it: `Decimal('1E+9')` -> `1000000000`, `Decimal('5.0')` -> `5`."""
    return format(Decimal(str(number)).normalize(), "f")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class _Bound:
    """One end of an allowed range; `name` when it is another setting (`price_min (300)`)."""

    value: Decimal
    open: bool = False
    name: str | None = None

    def text(self) -> str:
        return f"{self.name} ({_fmt(self.value)})" if self.name else _fmt(self.value)


def _range_text(low: _Bound, high: _Bound | None) -> str:
    """`a number from 0.1 to 100`, `a positive number`, `a number above price_min (300)`, ..."""
    if high is None:
        if low.value == 0 and low.open and low.name is None:
            return "a positive number"
        return f"a number {'above' if low.open else 'of at least'} {low.text()}"
    if not low.open and not high.open:
        return f"a number from {low.text()} to {high.text()}"
    lower = f"above {low.text()}" if low.open else f"at least {low.text()}"
    upper = f"below {high.text()}" if high.open else f"at most {high.text()}"
    return f"a number {lower} and {upper}"


class _Reader:
    """Reads typed values out of one mapping; every error names the file and the dotted key, on one line."""

    def __init__(
        self, path: Path, data: Any, prefix: str, known: tuple[str, ...] | None = None, shape: str = "a mapping"
    ) -> None:
        self.path, self.prefix = path, prefix
        if not isinstance(data, dict):
            shape = f"a mapping of {', '.join(known)}" if known else shape
            got = "empty" if data is None else f"a {type(data).__name__} ({_show(data)})"
            raise self.error("", f"is {got}", f"it must be {shape}")
        self.data = data
        for key in data if known is not None else ():
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"
                raise self.error(str(key), "is not a known key", hint)

    def dotted(self, key: object = "") -> str:
        return ".".join(str(p) for p in (self.prefix, key) if p != "") or "<top level>"

    def error(self, key: object, what: str, allowed: str) -> ConfigError:
        return ConfigError(f"{self.path}: `{self.dotted(key)}` {what}; {allowed}")

    def bad(self, key: object, value: Any, allowed: str) -> ConfigError:
        return self.error(key, f"is {_show(value)}", f"it must be {allowed}")

    def child(self, key: str, known: tuple[str, ...] | None = None, shape: str = "a mapping") -> _Reader:
        shape = f"a mapping of {', '.join(known)}" if known else shape
        return _Reader(self.path, self.raw(key, ..., shape), self.dotted(key), known, shape)

    def raw(self, key: Any, default: Any, allowed: str) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.error(key, "is missing", f"it must be {allowed}")
            return default
        return self.data[key]

    def decimal(
        self, key: Any, low: _Bound = _Bound(Decimal(0), open=True), high: _Bound | None = None, default: Any = ...
    ) -> Decimal:
        allowed = _range_text(low, high)
        value = self.raw(key, default, allowed)
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise self.bad(key, value, allowed)
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.bad(key, value, allowed) from None
        if not number.is_finite():  # NaN or infinity; comparing NaN would raise
            raise self.bad(key, value, allowed)
        too_low = number <= low.value if low.open else number < low.value
        too_high = high is not None and (number >= high.value if high.open else number > high.value)
        if too_low or too_high:
            raise self.bad(key, value, allowed)
        return number

    def number(self, key: str, low: _Bound, high: _Bound | None = None) -> float:
        return float(self.decimal(key, low, high))

    def integer(self, key: str, low: int, high: int, default: Any = ...) -> int:
        allowed = f"a whole number from {low} to {high}"
        value = self.raw(key, default, allowed)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.bad(key, value, allowed)
        return value

    def text(self, key: str) -> str:
        value = self.raw(key, ..., "a non-empty string")
        if not isinstance(value, str) or not value.strip():
            raise self.bad(key, value, "a non-empty string")
        return value

    def decimals(self, key: str, low: _Bound, high: _Bound | None = None) -> tuple[Decimal, ...]:
        """A non-empty list of numbers in a range, none listed twice (each one names mart columns)."""
        allowed = f"a non-empty list, each {_range_text(low, high)}"
        values = self.raw(key, ..., allowed)
        if not isinstance(values, list) or not values:
            raise self.bad(key, values, allowed)
        items = _Reader(self.path, dict(enumerate(values)), self.dotted(key))
        numbers = tuple(items.decimal(i, low, high) for i in range(len(values)))
        for i, number in enumerate(numbers):
            if number in numbers[:i]:
                raise items.error(i, f"repeats {_fmt(number)}", "list each value once (each one names columns)")
        return numbers


def _at_least(value: float | int | str) -> _Bound:
    return _Bound(Decimal(str(value)))


def _above(value: float | int | str) -> _Bound:
    return _Bound(Decimal(str(value)), open=True)


def _url(r: _Reader, key: str, value: Any, env: str) -> str:
    if not isinstance(value, str) or not URL_PATTERN.match(value):
        raise r.bad(key, value, f"an http(s) URL (from ${env} when set, else the file)")
    return value


def _exchange(r: _Reader) -> ExchangeSettings:
    url = _url(r, "api_url", os.environ.get(API_URL_ENV) or r.raw("api_url", ..., "an http(s) URL"), API_URL_ENV)
    backoff_base = r.decimal("backoff_base_s", _at_least("0.01"), _at_least(60))
    return ExchangeSettings(
        api_url=url.rstrip("/"),
        user_agent=r.text("user_agent"),
        requests_per_second=r.number("requests_per_second", _at_least("0.1"), _at_least(100)),
        burst=r.integer("burst", 1, 100),
        connect_timeout_s=r.number("connect_timeout_s", _at_least("0.1"), _at_least(60)),
        read_timeout_s=r.number("read_timeout_s", _at_least("0.1"), _at_least(120)),
        max_attempts=r.integer("max_attempts", 1, 10),
        backoff_base_s=float(backoff_base),
        backoff_max_s=r.number("backoff_max_s", _Bound(backoff_base, name="backoff_base_s"), _at_least(600)),
    )


def _whole_buckets(r: _Reader, key: str, pct: Decimal, bucket_bps: int) -> None:
    """Each band KPI is an exact sum of whole profile buckets (see docs/architecture.md#edge-reduction)."""
    if (pct * 100) % bucket_bps:
        raise r.error(
            key,
            f"is {_fmt(pct)} %, not a whole number of {bucket_bps} bps profile buckets",
            f"it must be a multiple of {_fmt(Decimal(bucket_bps) / 100)} (ingest.profile_bucket_bps / 100)",
        )


def _ingest(r: _Reader) -> IngestSettings:
    slot_seconds = r.integer("slot_seconds", 1, 3600)
    if 86400 % slot_seconds:
        raise r.bad("slot_seconds", slot_seconds, "a divisor of 86400: slots sit on wall-clock boundaries")
    window_seconds = r.integer("window_seconds", slot_seconds, 3600)
    if window_seconds % slot_seconds:
        raise r.bad("window_seconds", window_seconds, f"a multiple of slot_seconds ({slot_seconds})")
    bucket_bps = r.integer("profile_bucket_bps", 1, 100)
    band_pct = r.decimal("profile_band_pct", _Bound(Decimal(bucket_bps) / 100, name="one bucket"), _at_least(20))
    _whole_buckets(r, "profile_band_pct", band_pct, bucket_bps)
    deadline = r.decimal("slot_deadline_s", _above(0), _Bound(Decimal(slot_seconds), name="slot_seconds"))
    return IngestSettings(
        slot_seconds=slot_seconds,
        window_seconds=window_seconds,
        top_levels=r.integer("top_levels", 10, 5000),
        profile_band_pct=band_pct,
        profile_bucket_bps=bucket_bps,
        retention_days=r.integer("retention_days", 1, 365),
        detail_retention_hours=r.integer("detail_retention_hours", 1, 168, default=2),
        slot_deadline_s=float(deadline),
        # keys added after the first release are optional, so an existing config keeps working after an upgrade
        trades_backfill_pages_per_slot=r.integer("trades_backfill_pages_per_slot", 0, 50, default=5),
        trades_backfill_hours=r.integer("trades_backfill_hours", 1, 720, default=24),
    )


def _kpis(r: _Reader, ingest: IngestSettings) -> KpiSettings:
    profile = _Bound(ingest.profile_band_pct, name="ingest.profile_band_pct")
    bands = r.decimals("bands_pct", _above(0), profile)
    for i, band in enumerate(bands):
        _whole_buckets(r, f"bands_pct.{i}", band, ingest.profile_bucket_bps)
    return KpiSettings(
        bands_pct=bands,
        intent_threshold=r.decimal("intent_threshold", _above(0), _Bound(Decimal(1), open=True)),
        whale_k=r.decimal("whale_k", _at_least(1), _at_least(1000)),
        whale_median_band_pct=r.decimal("whale_median_band_pct", _above(0), _at_least(50)),
        wall_persist_slots=r.integer("wall_persist_slots", 1, 360),
        slippage_usd=r.decimals("slippage_usd", _at_least(1), _at_least(1_000_000_000)),
        support_resistance_bucket_pct=r.decimal("support_resistance_bucket_pct", _above(0), profile),
        support_resistance_lookback_minutes=r.integer("support_resistance_lookback_minutes", 1, 1440),
        support_resistance_levels=r.integer("support_resistance_levels", 1, 20),
        whale_trade_k=r.decimal("whale_trade_k", _at_least(1), _at_least(1000), default="10"),
        whale_trade_lookback_minutes=r.integer("whale_trade_lookback_minutes", 1, 1440, default=60),
        trade_mid_warn_pct=r.decimal("trade_mid_warn_pct", _above(0), _at_least(50), default="1"),
        depth_weighted_band_pct=_band(r, "depth_weighted_band_pct", profile, ingest, default="1"),
    )


def _band(r: _Reader, key: str, profile: _Bound, ingest: IngestSettings, default: str) -> Decimal:
    band = r.decimal(key, _above(0), profile, default=default)
    _whole_buckets(r, key, band, ingest.profile_bucket_bps)
    return band


def _alerts(r: _Reader) -> AlertSettings:
    webhook = os.environ.get(ALERT_WEBHOOK_ENV) or r.raw("webhook_url", None, "")
    if webhook is not None:
        webhook = _url(r, "webhook_url", webhook, ALERT_WEBHOOK_ENV)
    emails = r.raw("email_to", [], "") or []
    if isinstance(emails, str):
        emails = [emails]
    if not isinstance(emails, list) or not all(isinstance(e, str) and "@" in e for e in emails):
        raise r.bad("email_to", emails, "a list of e-mail addresses (or [])")
    return AlertSettings(
        stale_after_s=r.integer("stale_after_s", 10, 86400),
        max_drop_rate=r.decimal("max_drop_rate", _above(0), _Bound(Decimal(1), open=True)),
        webhook_url=webhook,
        email_to=tuple(emails),
    )


def _symbol(r: _Reader, product_id: str) -> SymbolSettings:
    price_min = r.decimal("price_min", _above(0), _Bound(Decimal(MAX_PRICE), open=True))
    price_max = r.decimal("price_max", _Bound(price_min, open=True, name="price_min"), _at_least(MAX_PRICE))
    tick = r.decimal("quote_increment", _at_least(MIN_INCREMENT), _Bound(price_min, name="price_min"))
    wall_floor = r.decimal("whale_floor_usd", _at_least(1000), _at_least(10_000_000_000))
    symbol = SymbolSettings(
        product_id=product_id,
        price_min=price_min,
        price_max=price_max,
        whale_floor_usd=wall_floor,
        # optional: a quarter of the wall floor (a print that large is rare on every listed coin)
        whale_trade_floor_usd=r.decimal(
            "whale_trade_floor_usd", _at_least(100), _at_least(10_000_000_000), default=str(wall_floor / 4)
        ),
        quote_increment=tick,
        base_increment=r.decimal("base_increment", _at_least(MIN_INCREMENT), _at_least(1000)),
        simulated_start_price=(price_min * price_max).sqrt().quantize(tick),
        simulated_levels_per_side=DEFAULT_LEVELS_PER_SIDE,
    )
    if "simulated" not in r.data:
        return symbol
    sim = r.child("simulated", SIMULATED_KEYS)
    start = sim.decimal(
        "start_price",
        _Bound(price_min, name="price_min"),
        _Bound(price_max, name="price_max"),
        default=str(symbol.simulated_start_price),
    )
    if start % tick:
        raise sim.bad("start_price", sim.data["start_price"], f"a multiple of quote_increment ({_fmt(tick)})")
    levels = sim.integer("levels_per_side", 10, 100_000, default=DEFAULT_LEVELS_PER_SIDE)
    return replace(symbol, simulated_start_price=start, simulated_levels_per_side=levels)


def _symbols(r: _Reader) -> tuple[SymbolSettings, ...]:
    if not r.data:
        raise r.error("", "is empty", "it must list at least one product (e.g. BTC-USD)")
    symbols = []
    for key in r.data:
        if not isinstance(key, str) or not SYMBOL_PATTERN.match(key):
            example = key.upper() if isinstance(key, str) and SYMBOL_PATTERN.match(key.upper()) else "BTC-USD"
            raise r.error(key, "is not a valid product id", f"it must look like `{example}` ({SYMBOL_PATTERN.pattern})")
        symbols.append(_symbol(r.child(key, SYMBOL_KEYS), key))
    return tuple(symbols)


def parse_settings(data: Any, path: Path) -> Settings:
    """Validate an already-parsed YAML document."""
    top = _Reader(path, data, "", TOP_KEYS)
    symbols = _symbols(top.child("symbols", shape="a mapping of product ids (e.g. BTC-USD) to their settings"))
    ingest = _ingest(top.child("ingest", _keys(IngestSettings)))
    return Settings(
        path=path,
        exchange=_exchange(top.child("exchange", _keys(ExchangeSettings))),
        ingest=ingest,
        kpis=_kpis(top.child("kpis", _keys(KpiSettings)), ingest),
        symbols=symbols,
        alerts=_alerts(top.child("alerts", _keys(AlertSettings))),
    )


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice (PyYAML would silently keep the last one)."""

    def __init__(self, dotted: str, first_line: int, second_line: int) -> None:
        super().__init__(f"`{dotted}` is written twice (lines {first_line} and {second_line})")
        self.dotted, self.first_line, self.second_line = dotted, first_line, second_line


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses duplicate mapping keys, naming the dotted key and both lines."""

    def construct_document(self, node: yaml.Node) -> Any:
        _refuse_duplicate_keys(node, "", set())
        return super().construct_document(node)


def _refuse_duplicate_keys(node: yaml.Node, prefix: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias of a node already checked
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicate_keys(item, f"{prefix}.{i}" if prefix else str(i), seen)
    elif isinstance(node, yaml.MappingNode):
        lines: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            dotted = f"{prefix}.{name}" if prefix else name
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if key in lines:
                    raise DuplicateKeyError(dotted, lines[key], line)
                lines[key] = line
            _refuse_duplicate_keys(value_node, dotted, seen)


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH).expanduser().resolve()


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration (``path``, else ``$CRYPTO_INSIGHTS_CONFIG``, else the default)."""
    resolved = Path(path).expanduser().resolve() if path else config_path()
    return _load(resolved, os.environ.get(API_URL_ENV), os.environ.get(ALERT_WEBHOOK_ENV))


def _one_line(text: str | None) -> str:
    return " ".join(str(text or "").split())


@cache
def _load(path: Path, _api_url_env: str | None, _webhook_env: str | None) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found; set ${CONFIG_ENV} or create it") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(f"{path}: cannot read the configuration file ({why}); name a readable file") from None
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except DuplicateKeyError as exc:
        raise ConfigError(f"{path}: {exc}; keep one of them") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = _one_line(exc.problem) or _one_line(exc.context)
        raise ConfigError(f"{path}: not valid YAML{where}: {what}; fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_one_line(str(exc))}; fix the syntax") from None
    return parse_settings(data, path)


def _redact(url: str | None) -> str | None:
    """A webhook URL without its secret path: `https://hooks.slack.com/...`."""
    if url is None:
        return None
    match = URL_PATTERN.match(url)
    return f"{match.group(0)}/..." if match and len(url) > match.end() + 1 else url


def settings_document(settings: Settings, *, redact: bool = True) -> dict[str, Any]:
    """The effective configuration in the file's own shape (defaults filled in, environment overrides applied).

    Loading it back gives the same settings (apart from a redacted webhook URL). Numbers stay `Decimal`.
    """

    def section(obj: Any) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(obj, f.name), tuple) else v for f in fields(obj)}

    alerts = section(settings.alerts)
    if redact:
        alerts["webhook_url"] = _redact(settings.alerts.webhook_url)
    return {
        "exchange": section(settings.exchange),
        "ingest": section(settings.ingest),
        "kpis": section(settings.kpis),
        "alerts": alerts,
        "symbols": {
            s.product_id: {
                "price_min": s.price_min,
                "price_max": s.price_max,
                "whale_floor_usd": s.whale_floor_usd,
                "whale_trade_floor_usd": s.whale_trade_floor_usd,
                "quote_increment": s.quote_increment,
                "base_increment": s.base_increment,
                "simulated": {"start_price": s.simulated_start_price, "levels_per_side": s.simulated_levels_per_side},
            }
            for s in settings.symbols
        },
    }
