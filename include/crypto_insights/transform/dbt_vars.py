"""The dbt `--vars` of the project, rendered from the one config (`include/crypto_insights.yaml`).

dbt never retypes a symbol or a KPI setting: every model reads them from `var('crypto_insights')`, which this
module renders. Numbers travel as strings so that prices and thresholds stay exact in SQL (`'0.2'::numeric`).
Band and slippage columns get stable labels (`10bps`, `100k`) that name the mart columns.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from crypto_insights.config import ConfigError, Settings, load_settings
from crypto_insights.number_syntax import DECIMAL_SYNTAX

VAR_NAME = "crypto_insights"
REBUILD_HISTORY_VAR = "rebuild_history"
DEFAULT_LOOKBACK_MINUTES = 2


def _text(number: Decimal) -> str:
    """`Decimal('1.0')` -> `'1'`, `Decimal('0.10')` -> `'0.1'`; never scientific notation."""
    return format(number.normalize(), "f")


def band_label(pct: Decimal) -> str:
    """A band in percent as a column-name label in basis points: 0.1 -> `10bps`, 0.25 -> `25bps`."""
    return _text(pct * 100).replace(".", "_") + "bps"


def usd_label(usd: Decimal) -> str:
    """An order size in USD as a column-name label: 10000 -> `10k`, 1000000 -> `1m`, 2500 -> `2_5k`."""
    for unit, suffix in ((Decimal(1_000_000), "m"), (Decimal(1000), "k")):
        if usd >= unit:
            return _text(usd / unit).replace(".", "_") + suffix
    return _text(usd).replace(".", "_")


def _whole_windows(settings: Settings, minutes: int, what: str) -> int:
    """A lookback in minutes that is a whole number of windows (dbt counts its prints by 30 s window)."""
    window_seconds = settings.ingest.window_seconds
    if minutes * 60 % window_seconds:
        raise ConfigError(
            f"{settings.path}: {what} ({minutes} min) must be a whole number of ingest.window_seconds "
            f"({window_seconds} s) windows: change one of them"
        )
    return minutes


def dbt_vars(settings: Settings | None = None, *, lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES) -> dict[str, Any]:
    """The value of the `crypto_insights` dbt var (JSON-able)."""
    settings = settings or load_settings()
    ingest, kpis = settings.ingest, settings.kpis
    if lookback_minutes < 1:
        raise ValueError(f"lookback_minutes must be at least 1, got {lookback_minutes}")
    return {
        "products": [
            {
                "product_id": s.product_id,
                "base_currency": s.base_currency,
                "quote_currency": s.quote_currency,
                "price_min": _text(s.price_min),
                "price_max": _text(s.price_max),
                "whale_floor_usd": _text(s.whale_floor_usd),
                "whale_trade_floor_usd": _text(s.whale_trade_floor_usd),
                "quote_increment": _text(s.quote_increment),
                "base_increment": _text(s.base_increment),
            }
            for s in settings.symbols
        ],
        "slot_seconds": ingest.slot_seconds,
        "window_seconds": ingest.window_seconds,
        "top_levels": ingest.top_levels,
        "profile_band_pct": _text(ingest.profile_band_pct),
        "profile_bucket_bps": ingest.profile_bucket_bps,
        "bands": [{"pct": _text(b), "label": band_label(b), "buckets": ingest.buckets_in(b)} for b in kpis.bands_pct],
        "depth_weighted_band": {
            "pct": _text(kpis.depth_weighted_band_pct),
            "buckets": ingest.buckets_in(kpis.depth_weighted_band_pct),
        },
        "decimal_syntax": DECIMAL_SYNTAX,
        "intent_threshold": _text(kpis.intent_threshold),
        "whale_k": _text(kpis.whale_k),
        "whale_median_band_pct": _text(kpis.whale_median_band_pct),
        "wall_persist_slots": kpis.wall_persist_slots,
        "slippage": [{"usd": _text(u), "label": usd_label(u)} for u in kpis.slippage_usd],
        "support_resistance_bucket_pct": _text(kpis.support_resistance_bucket_pct),
        "support_resistance_lookback_minutes": kpis.support_resistance_lookback_minutes,
        "support_resistance_levels": kpis.support_resistance_levels,
        "retention_days": ingest.retention_days,
        "detail_retention_hours": ingest.detail_retention_hours,
        "lookback_minutes": lookback_minutes,
        # the trade tape (docs/architecture.md#trades)
        "whale_trade_k": _text(kpis.whale_trade_k),
        "whale_trade_lookback_minutes": _whole_windows(
            settings, kpis.whale_trade_lookback_minutes, "kpis.whale_trade_lookback_minutes"
        ),
        "trade_mid_warn_pct": _text(kpis.trade_mid_warn_pct),
        "trades_backfill_hours": ingest.trades_backfill_hours,
    }


def dbt_vars_json(
    settings: Settings | None = None, *, lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES, rebuild_history: bool = False
) -> str:
    """The `--vars` argument of every dbt invocation: `{"crypto_insights": {...}}` as compact JSON.

    `rebuild_history` lets `--full-refresh` rebuild the marts that keep history (they outlive raw's retention, so
    they are protected from a full refresh otherwise; see `full_refresh` in their config).
    """
    value: dict[str, Any] = {VAR_NAME: dbt_vars(settings, lookback_minutes=lookback_minutes)}
    if rebuild_history:
        value[REBUILD_HISTORY_VAR] = True
    return json.dumps(value, separators=(",", ":"))


if __name__ == "__main__":  # `python -m crypto_insights.transform.dbt_vars`: the --vars for a bare `dbt` call
    print(dbt_vars_json())
