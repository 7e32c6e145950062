"""The one configuration file: symbols and every setting that follows from them.

`load_settings()` reads `include/crypto_insights.yaml` (or the file named by ``CRYPTO_INSIGHTS_CONFIG``),
validates every key and raises :class:`ConfigError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crypto_insights.paths import DEFAULT_CONFIG_PATH

CONFIG_ENV = "CRYPTO_INSIGHTS_CONFIG"
API_URL_ENV = "COINBASE_API_URL"
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,10}-[A-Z]{3,5}$")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds a value that is not allowed."""


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

    @property
    def slots_per_window(self) -> int:
        return self.window_seconds // self.slot_seconds


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


@dataclass(frozen=True)
class SymbolSettings:
    product_id: str
    price_min: Decimal
    price_max: Decimal
    whale_floor_usd: Decimal
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


class _Reader:
    """Reads typed values out of one mapping, with errors that name the file and the dotted key."""

    def __init__(self, path: Path, data: Any, prefix: str) -> None:
        self.path, self.prefix = path, prefix
        if not isinstance(data, dict):
            raise self.error("", f"must be a mapping, got {type(data).__name__}")
        self.data = data

    def error(self, key: str, what: str) -> ConfigError:
        dotted = ".".join(str(p) for p in (self.prefix, key) if p != "") or "<top level>"
        return ConfigError(f"{self.path}: `{dotted}` {what}")

    def child(self, key: str) -> _Reader:
        if key not in self.data:
            raise self.error(key, "is missing")
        return _Reader(self.path, self.data[key], ".".join(p for p in (self.prefix, key) if p))

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.error(key, "is missing")
            return default
        return self.data[key]

    def decimal(self, key: str, *, positive: bool = True, default: Any = ...) -> Decimal:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise self.error(key, f"must be a number, got {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.error(key, f"must be a number, got {value!r}") from None
        if not number.is_finite() or (positive and number <= 0):
            raise self.error(key, f"must be a positive number, got {value!r}")
        return number

    def integer(self, key: str, *, minimum: int = 1, default: Any = ...) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be a whole number >= {minimum}, got {value!r}")
        return value

    def number(self, key: str, default: Any = ...) -> float:
        return float(self.decimal(key, default=default))

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {value!r}")
        return value

    def decimals(self, key: str) -> tuple[Decimal, ...]:
        values = self.raw(key)
        if not isinstance(values, list) or not values:
            raise self.error(key, f"must be a non-empty list of positive numbers, got {values!r}")
        items = _Reader(self.path, dict(enumerate(values)), f"{self.prefix}.{key}")
        return tuple(items.decimal(i) for i in range(len(values)))


def _exchange(r: _Reader) -> ExchangeSettings:
    url = os.environ.get(API_URL_ENV) or r.text("api_url")
    if not re.match(r"^https?://[^\s/]+", url):
        raise r.error("api_url", f"must be an http(s) URL, got {url!r} (from ${API_URL_ENV} or the file)")
    return ExchangeSettings(
        api_url=url.rstrip("/"),
        user_agent=r.text("user_agent"),
        requests_per_second=r.number("requests_per_second"),
        burst=r.integer("burst"),
        connect_timeout_s=r.number("connect_timeout_s"),
        read_timeout_s=r.number("read_timeout_s"),
        max_attempts=r.integer("max_attempts"),
        backoff_base_s=r.number("backoff_base_s"),
        backoff_max_s=r.number("backoff_max_s"),
    )


def _ingest(r: _Reader) -> IngestSettings:
    ingest = IngestSettings(
        slot_seconds=r.integer("slot_seconds"),
        window_seconds=r.integer("window_seconds"),
        top_levels=r.integer("top_levels"),
        profile_band_pct=r.decimal("profile_band_pct"),
        profile_bucket_bps=r.integer("profile_bucket_bps"),
        retention_days=r.integer("retention_days"),
    )
    if ingest.window_seconds % ingest.slot_seconds:
        raise r.error("window_seconds", f"must be a multiple of slot_seconds ({ingest.slot_seconds})")
    if 86400 % ingest.slot_seconds:
        raise r.error("slot_seconds", "must divide a day evenly (slots sit on wall-clock boundaries)")
    return ingest


def _kpis(r: _Reader) -> KpiSettings:
    kpis = KpiSettings(
        bands_pct=r.decimals("bands_pct"),
        intent_threshold=r.decimal("intent_threshold"),
        whale_k=r.decimal("whale_k"),
        whale_median_band_pct=r.decimal("whale_median_band_pct"),
        wall_persist_slots=r.integer("wall_persist_slots"),
        slippage_usd=r.decimals("slippage_usd"),
        support_resistance_bucket_pct=r.decimal("support_resistance_bucket_pct"),
        support_resistance_lookback_minutes=r.integer("support_resistance_lookback_minutes"),
        support_resistance_levels=r.integer("support_resistance_levels"),
    )
    if kpis.intent_threshold >= 1:
        raise r.error("intent_threshold", "must be below 1 (imbalance lies in [-1, 1])")
    return kpis


def _symbol(r: _Reader, product_id: str) -> SymbolSettings:
    if not SYMBOL_PATTERN.match(product_id):
        raise r.error("", f"is not a valid product id: it must match {SYMBOL_PATTERN.pattern} (e.g. BTC-USD)")
    sim = r.child("simulated") if "simulated" in r.data else None
    symbol = SymbolSettings(
        product_id=product_id,
        price_min=r.decimal("price_min"),
        price_max=r.decimal("price_max"),
        whale_floor_usd=r.decimal("whale_floor_usd"),
        quote_increment=r.decimal("quote_increment"),
        base_increment=r.decimal("base_increment"),
        simulated_start_price=Decimal(0),
        simulated_levels_per_side=2000,
    )
    if symbol.price_min >= symbol.price_max:
        raise r.error("price_max", f"must be above price_min ({symbol.price_min})")
    start = (symbol.price_min * symbol.price_max).sqrt().quantize(symbol.quote_increment)
    if sim is not None:
        start = sim.decimal("start_price", default=str(start))
        levels = sim.integer("levels_per_side", minimum=10, default=2000)
        if start % symbol.quote_increment:
            raise sim.error("start_price", f"must lie on quote_increment {symbol.quote_increment}")
        symbol = replace(symbol, simulated_start_price=start, simulated_levels_per_side=levels)
    else:
        symbol = replace(symbol, simulated_start_price=start)
    return symbol


def parse_settings(data: Any, path: Path) -> Settings:
    """Validate an already-parsed YAML document."""
    top = _Reader(path, data, "")
    symbols_reader = top.child("symbols")
    if not symbols_reader.data:
        raise symbols_reader.error("", "must list at least one product (e.g. BTC-USD)")
    symbols = tuple(
        _symbol(symbols_reader.child(str(pid)), str(pid)) for pid in symbols_reader.data
    )
    return Settings(
        path=path,
        exchange=_exchange(top.child("exchange")),
        ingest=_ingest(top.child("ingest")),
        kpis=_kpis(top.child("kpis")),
        symbols=symbols,
    )


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH).expanduser().resolve()


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration (``path``, else ``$CRYPTO_INSIGHTS_CONFIG``, else the default)."""
    resolved = Path(path).expanduser().resolve() if path else config_path()
    return _load(resolved, os.environ.get(API_URL_ENV))


@cache
def _load(path: Path, _api_url_env: str | None) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (set ${CONFIG_ENV} or create it)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_settings(data, path)
