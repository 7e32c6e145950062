"""Scaling with the number of coins (docs/architecture.md#scale-out): landing and the dbt micro-batch at 5, 10, 20
and 40 coins, each on a warehouse of its own.

Coins beyond the config's are real Coinbase products (MATIC-USD, ATOM-USD, ...) with the settings of a configured
coin of similar size (`_TEMPLATES`), served by the offline exchange like any configured product. Per coin count:

- **one IP's budget**: slots landed on their wall-clock boundaries through the client's own token bucket
  (Coinbase's 10 req/s, burst 15): the books' landing lag and the share of books that landed by the slot's
  deadline. Past ~31 coins a slot needs more requests than one IP gets in 10 s (docs/architecture.md#cadence-and-
  freshness): what does not fit is recorded as `deadline_exceeded`, never waited for;
- **one machine**: the same with the bucket lifted (the exchange's own limit lifted too): what the landing costs in
  CPU, request fan-out and COPY alone;
- **the micro-batch** `crypto_transform` runs (`MICRO_BATCH_ARGS`) after each landed slot, as the DAG runs it
  (dbtRunner in a dbt-warm interpreter): median wall time and dbt's own elapsed time of `repeat` runs after a
  warm-up, and per coin.

Freshness at a coin count follows from these: landing + scheduling (~1 s) + the micro-batch; the live freshness
benchmark measures it at the configured coins.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import yaml

from bench.bench_dbt import machine_lock, warm_dbt
from bench.harness import isolated_home, offline_exchange
from crypto_insights.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, load_settings
from crypto_insights.landing.slots import floor_slot
from crypto_insights.landing.spool import Spool
from crypto_insights.landing.window import WindowLander
from crypto_insights.paths import REPO_ROOT
from crypto_insights.postgres.connection import endpoint

COIN_COUNTS = (5, 10, 20, 40)
PLOT = REPO_ROOT / "docs" / "images" / "bench_scaling.png"
# More real Coinbase products, each with the settings of a configured coin of about its size and price.
_MORE = {
    "MATIC-USD": "ADA-USD",
    "ATOM-USD": "DOT-USD",
    "UNI-USD": "LINK-USD",
    "AAVE-USD": "SOL-USD",
    "XLM-USD": "ADA-USD",
    "ALGO-USD": "ADA-USD",
    "FIL-USD": "DOT-USD",
    "NEAR-USD": "DOT-USD",
    "ETC-USD": "LINK-USD",
    "BCH-USD": "LTC-USD",
    "APT-USD": "AVAX-USD",
    "ARB-USD": "ADA-USD",
    "OP-USD": "XRP-USD",
    "ICP-USD": "DOT-USD",
    "HBAR-USD": "DOGE-USD",
    "VET-USD": "DOGE-USD",
    "MKR-USD": "ETH-USD",
    "GRT-USD": "DOGE-USD",
    "SAND-USD": "ADA-USD",
    "MANA-USD": "ADA-USD",
    "AXS-USD": "DOT-USD",
    "CRV-USD": "ADA-USD",
    "COMP-USD": "SOL-USD",
    "SNX-USD": "XRP-USD",
    "LRC-USD": "DOGE-USD",
    "BAT-USD": "DOGE-USD",
    "ZEC-USD": "LTC-USD",
    "EOS-USD": "ADA-USD",
    "XTZ-USD": "ADA-USD",
    "SHIB-USD": "DOGE-USD",
}


def config_with(coins: int, folder: Path) -> Path:
    """The project's config with its first `coins` symbols, extended from `_MORE` when it has fewer."""
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    symbols = dict(config["symbols"])
    for product_id, template in _MORE.items():
        symbols.setdefault(product_id, dict(config["symbols"][template]))
    if coins > len(symbols):
        raise ValueError(f"at most {len(symbols)} coins here")
    config["symbols"] = dict(list(symbols.items())[:coins])
    path = folder / f"coins_{coins}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _lander(settings) -> WindowLander:
    kwargs = endpoint("loader").connect_kwargs()
    return WindowLander(
        settings, lambda: psycopg2.connect(**kwargs), Spool(Path(tempfile.mkdtemp(prefix="bench-scaling-spool-")))
    )


def _land_live(lander: WindowLander, slots: int) -> tuple[list[float], float, float]:
    """`slots` slots on their boundaries: the books' landing lags, the share of books landed, seconds per slot."""
    step = lander.settings.ingest.slot_seconds
    landed, spent = [], []
    for _ in range(slots):
        slot = floor_slot(datetime.now(UTC), step) + timedelta(seconds=step)
        time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()))
        started = time.perf_counter()
        lander.land(slot)
        spent.append(time.perf_counter() - started)
        landed.append(slot)
    conn = psycopg2.connect(**endpoint("transform").connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select extract(epoch from landed_at - slot_at)::float8 from raw.coinbase_book_snapshots "
                "where slot_at = any(%s)",
                (landed,),
            )
            lags = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    share = len(lags) / (slots * len(lander.settings.product_ids))
    return lags, share, statistics.median(spent)


def _one(coins: int, folder: Path, slots: int, repeat: int) -> dict:
    path = config_with(coins, folder)
    os.environ[CONFIG_ENV] = str(path)
    settings = load_settings(path)
    out: dict[str, object] = {}
    with offline_exchange() as url, isolated_home():
        exchange = dataclasses.replace(settings.exchange, api_url=url)
        limited = _lander(dataclasses.replace(settings, exchange=exchange))
        limited.migrate()
        lags, share, _ = _land_live(limited, slots)
        limited.close()
        out["one_ip_books_landed_pct"] = round(100 * share, 1)
        out["one_ip_landing_lag_p50_s"] = round(statistics.median(lags), 2) if lags else None
        out["one_ip_landing_lag_p95_s"] = round(_percentile(lags, 0.95), 2) if lags else None
        lifted = _lander(
            dataclasses.replace(settings, exchange=dataclasses.replace(exchange, requests_per_second=1000, burst=1000))
        )
        lags, share, per_slot = _land_live(lifted, slots)
        out["no_rate_limit_books_landed_pct"] = round(100 * share, 1)
        out["no_rate_limit_landing_lag_p50_s"] = round(statistics.median(lags), 2) if lags else None
        out["no_rate_limit_slot_s"] = round(per_slot, 2)
        target = Path(tempfile.mkdtemp(prefix="bench-scaling-dbt-"))
        head = floor_slot(datetime.now(UTC), settings.ingest.slot_seconds)
        walls, elapsed = [], []
        # as the DAG runs it: one landed slot per micro-batch, dbtRunner in a dbt-warm interpreter
        with warm_dbt(target) as one_micro_batch:
            for i in range(repeat + 2):  # a first full build, a warm-up micro-batch, then the timed ones
                head += timedelta(seconds=settings.ingest.slot_seconds)
                lifted.land(head, now=head)
                wall = one_micro_batch()
                if i >= 2:
                    walls.append(wall)
                    elapsed.append(json.loads((target / "run_results.json").read_text())["elapsed_time"])
        lifted.close()
    out["micro_batch_wall_s"] = round(statistics.median(walls), 2)
    out["micro_batch_dbt_elapsed_s"] = round(statistics.median(elapsed), 2)
    out["micro_batch_dbt_elapsed_ms_per_coin"] = round(1000 * statistics.median(elapsed) / coins)
    return out


def run(counts: tuple[int, ...] = COIN_COUNTS, slots: int = 6, repeat: int = 3) -> dict[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    previous = os.environ.get(CONFIG_ENV)
    results: dict[int, dict] = {}
    try:
        with machine_lock() as lock_note:
            for coins in counts:
                results[coins] = _one(coins, folder, slots, repeat)
    finally:
        if previous is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = previous
    _plot(results)
    section: dict[str, object] = {}
    for coins, measured in results.items():
        for key, value in measured.items():
            section[f"{coins}_coins_{key}"] = value
    first, last = counts[0], counts[-1]
    growth = results[last]["micro_batch_dbt_elapsed_s"] / results[first]["micro_batch_dbt_elapsed_s"]
    section[f"dbt_elapsed_{last}_vs_{first}_coins"] = f"{growth:.2f}x for {last / first:.0f}x the coins"
    section["lock"] = lock_note
    return {"scaling with coins": section}


def _plot(results: dict[int, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    coins = list(results)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(coins, [r["micro_batch_wall_s"] for r in results.values()], marker="o", label="micro-batch wall")
    ax.plot(coins, [r["micro_batch_dbt_elapsed_s"] for r in results.values()], marker="s", label="dbt elapsed")
    ax.plot(
        coins,
        [r["one_ip_landing_lag_p95_s"] or 0 for r in results.values()],
        marker="^",
        label="landing lag p95, one IP (10 req/s)",
    )
    ax.set_xlabel("coins")
    ax.set_ylabel("seconds")
    ax.set_xticks(coins)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Cost per 10 s slot / 30 s window as coins grow")
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, default=str))
