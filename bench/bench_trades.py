"""The trade tape's cost (docs/architecture.md#trades): prints landed per second, and what the tape adds to landing
and to the dbt micro-batch — the two parts of freshness it can move. Target: freshness and micro-batch regress by
at most 10 % with trades.

1. **Landing throughput** ("trades landing"): two hours of the offline exchange's tape for every configured product
   (its own clock moved on, no waiting) landed through the project's path (`CopyWriter.write_trades`: COPY into a
   temp table, insert the prints not landed yet) in pages of 1000 prints per product, as a backfill after an outage
   lands them; against `psql \\copy` of the same rows into a bare copy of the table.
2. **With and without trades** ("trades cost"), on the same warehouse, alternating so both meet the same machine:
   - landing: slots landed on their wall-clock boundaries by the window lander (books, tickers and the tape, the
     way the trigger lands them) or by books and tickers alone (the pipeline before trades); the books' landing lag
     (`landed_at - slot_at`) of each;
   - the micro-batch `crypto_transform` runs (`MICRO_BATCH_ARGS`) after a slot landed with its prints, against
     the same micro-batch with the trade models left out (selector `micro_batch_without_trades`) after a slot
     landed without; on the tape of the cost part alone (the throughput part's prints are dropped first).
   Freshness = wait for the window to close + landing + scheduling + micro-batch; the tape moves landing and the
   micro-batch only, so its share is (Δ landing lag of a window's last slot + Δ micro-batch) over the freshness
   measured live (the "freshness and footprint" section, when present).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from bench.bench_dbt import machine_lock, wait_until_quiet, warm_dbt
from bench.harness import isolated_home, offline_exchange
from crypto_insights.coinbase.trades import parse_trades
from crypto_insights.config import load_settings
from crypto_insights.exchange.server import ExchangeServer
from crypto_insights.landing.copy_writer import CopyWriter, copy_text
from crypto_insights.landing.lander import land_slot
from crypto_insights.landing.migrations import migrate
from crypto_insights.landing.slots import floor_slot
from crypto_insights.landing.trades import TRADE_COLUMNS, TradeBatch, page_rows
from crypto_insights.landing.window import WindowLander
from crypto_insights.paths import REPO_ROOT
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import EmbeddedPostgres
from crypto_insights.transform.dbt_runner import MICRO_BATCH_ARGS, MICRO_BATCH_SELECTOR, run_dbt

TARGET = "freshness and micro-batch regress by <= 10 % with trades"
PAGE = 1000  # prints per product per landing: a full page, as after an outage
TAPE_HOURS = 2
NS = 1_000_000_000


class _Clock:
    """The offline exchange's clock, moved on by the benchmark (epoch ns)."""

    def __init__(self, now_ns: int) -> None:
        self.now = now_ns

    def __call__(self) -> int:
        return self.now


def _tape(settings) -> dict[str, list[dict]]:
    """Every print the offline exchange makes in TAPE_HOURS, per product, oldest first."""
    clock = _Clock(time.time_ns() - TAPE_HOURS * 3600 * NS)
    exchange = ExchangeServer(settings, clock=clock, trade_retention_s=TAPE_HOURS * 3600 + 60)
    made: dict[str, list[dict]] = {pid: [] for pid in settings.product_ids}
    for _ in range(TAPE_HOURS * 60):
        clock.now += 60 * NS
        for pid in settings.product_ids:
            last = made[pid][-1]["trade_id"] if made[pid] else None
            made[pid] += exchange.trades(pid, after_id=last)
    return made


def _landing_throughput(settings) -> dict:
    made = _tape(settings)
    slot = floor_slot(datetime.now(UTC), settings.ingest.slot_seconds).isoformat()
    batches = []  # one landing per list: a page of each product
    for i in range(0, max(len(p) for p in made.values()), PAGE):
        landing = []
        for pid, prints in made.items():
            page = parse_trades(pid, list(reversed(prints[i : i + PAGE])))
            if page.trades:
                landing.append(TradeBatch(pid, trades=page_rows(page, slot, "simulated", None)))
        batches.append(landing)
    loader = endpoint("loader")
    conn = psycopg2.connect(**loader.connect_kwargs())
    migrate(conn)
    conn.close()
    writer = CopyWriter(lambda: psycopg2.connect(**loader.connect_kwargs()))
    writer.write_trades(batches[0])  # connection, partitions and temp table warm
    wait_until_quiet()
    began = time.perf_counter()
    landed = sum(writer.write_trades(landing) for landing in batches[1:])
    ours = time.perf_counter() - began
    writer.close()
    rows = [r for landing in batches[1:] for b in landing for r in b.trades]
    psql = f"{EmbeddedPostgres().load_state().bindir}/psql"
    subprocess.run(
        [psql, loader.url(), "-qc", "create table raw.trades_copy_floor (like raw.coinbase_trades including all)"],
        check=True,
    )
    text = copy_text(rows, TRADE_COLUMNS).read()
    began = time.perf_counter()
    subprocess.run(
        [psql, loader.url(), "-qc", f"\\copy raw.trades_copy_floor ({', '.join(TRADE_COLUMNS)}) from stdin"],
        input=text.encode(),
        check=True,
    )
    floor = time.perf_counter() - began
    per_product = {pid: len(p) for pid, p in made.items()}
    return {
        "tape": f"{sum(per_product.values()):,} prints in {TAPE_HOURS} h of the offline exchange "
        f"(busiest {max(per_product, key=per_product.get)} {max(per_product.values()):,}, quietest "
        f"{min(per_product, key=per_product.get)} {min(per_product.values()):,})",
        "landings": f"{len(batches) - 1} of up to {PAGE} prints per product",
        "prints_landed": landed,
        "copy_path_prints_per_s": round(landed / ours),
        "psql_copy_prints_per_s": round(len(rows) / floor),
        "ratio_to_psql_copy": round(ours / floor, 2),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _landing_lag(lander: WindowLander, slots: int) -> dict:
    """Slots on their wall-clock boundaries, alternately with and without the tape; the books' landing lag."""
    settings, step = lander.settings, lander.settings.ingest.slot_seconds
    modes: dict[str, list[datetime]] = {"with": [], "without": []}
    for i in range(slots):
        slot = floor_slot(datetime.now(UTC), step) + timedelta(seconds=step)
        time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()))
        if i % 2 == 0:
            lander.land(slot)
            modes["with"].append(slot)
        else:
            deadline = time.monotonic() + settings.ingest.slot_deadline_s
            land_slot(slot, settings=settings, client=lander.client, lander=lander.lander, deadline=deadline)
            modes["without"].append(slot)
    out: dict[str, object] = {}
    conn = psycopg2.connect(**endpoint("transform").connect_kwargs())
    try:
        with conn.cursor() as cur:
            for mode, landed in modes.items():
                cur.execute(
                    "select extract(epoch from landed_at - slot_at)::float8 from raw.coinbase_book_snapshots "
                    "where slot_at = any(%s)",
                    (landed,),
                )
                lags = [r[0] for r in cur.fetchall()]
                out[f"landing_lag_{mode}_trades_p50_s"] = round(statistics.median(lags), 2)
                out[f"landing_lag_{mode}_trades_p95_s"] = round(_percentile(lags, 0.95), 2)
    finally:
        conn.close()
    return out


def _micro_batches(lander: WindowLander, target: Path, repeat: int) -> dict:
    """The micro-batch with the trade models after a slot landed with its prints, and without them after a slot
    landed without; alternating, `repeat` of each after a warm-up of each. Each runs as the DAG runs it: dbtRunner
    in an interpreter that has imported dbt, with dbt's partial parse (`warm_dbt`). The prints of a "with" slot are
    those made since the last "with" slot (two slots' worth): the tape's cost is not understated."""
    settings, step = lander.settings, lander.settings.ingest.slot_seconds
    head = floor_slot(datetime.now(UTC), step * settings.ingest.slots_per_window)
    without_trades = ("run", "--selector", "micro_batch_without_trades")  # the micro-batch less the trade models
    targets = {mode: target / mode for mode in ("with", "without")}
    walls: dict[str, list[float]] = {"with": [], "without": []}
    elapsed: dict[str, list[float]] = {"with": [], "without": []}
    nodes: dict[str, dict[str, list[float]]] = {"with": {}, "without": {}}
    with (
        warm_dbt(targets["with"], args=MICRO_BATCH_ARGS) as with_trades,
        warm_dbt(targets["without"], args=without_trades) as without,
    ):
        runners = {"with": with_trades, "without": without}
        for i in range(2 * (repeat + 1)):
            mode = ("with", "without")[i % 2]
            head += timedelta(seconds=step)  # one slot per micro-batch: crypto_transform runs on each landed slot
            if mode == "with":
                lander.land(head, now=head)
            else:
                deadline = time.monotonic() + settings.ingest.slot_deadline_s
                land_slot(head, settings=settings, client=lander.client, lander=lander.lander, deadline=deadline)
            wall = runners[mode]()
            if i < 2:  # the first of each is the warm-up (a full parse)
                continue
            results = json.loads((targets[mode] / "run_results.json").read_text())
            walls[mode].append(wall)
            elapsed[mode].append(results["elapsed_time"])
            for r in results["results"]:
                nodes[mode].setdefault(r["unique_id"].rsplit(".", 1)[-1], []).append(r["execution_time"])
    out: dict[str, object] = {}
    for mode in ("with", "without"):
        out[f"micro_batch_{mode}_trades_wall_s"] = round(statistics.median(walls[mode]), 2)
        out[f"micro_batch_{mode}_trades_dbt_elapsed_s"] = round(statistics.median(elapsed[mode]), 2)
        out[f"micro_batch_{mode}_trades_runs_wall_s"] = " ".join(f"{w:.2f}" for w in walls[mode])
    # where the difference goes: each trade model's own time, and the models both runs share, slower or not
    medians = {mode: {n: statistics.median(t) for n, t in by_node.items()} for mode, by_node in nodes.items()}
    added = {n: t for n, t in medians["with"].items() if n not in medians["without"]}
    out["trade_models_s"] = {n: round(t, 2) for n, t in sorted(added.items(), key=lambda kv: -kv[1])}
    out["trade_models_sum_s"] = round(sum(added.values()), 2)
    shared = {n: medians["with"][n] - medians["without"][n] for n in medians["with"] if n in medians["without"]}
    out["shared_models_slower_s"] = {n: round(d, 2) for n, d in sorted(shared.items(), key=lambda kv: -kv[1])[:4]}
    return out


def _live_freshness() -> tuple[float | None, str]:
    """The freshness p50 last measured live (docs/benchmarks.json), and when."""
    try:
        section = json.loads((REPO_ROOT / "docs" / "benchmarks.json").read_text())["freshness and footprint"]
        return float(section["freshness_p50_s"]), str(section.get("measured_on", "?"))
    except (OSError, KeyError, TypeError, ValueError):
        return None, ""


def _forget_throughput_tape(kwargs: dict) -> None:
    """Drop the throughput part's two hours of prints: the exchange started for the cost part numbers its prints
    from the same seeded first id, and a micro-batch over a 150k-print backfill is not the steady state measured."""
    conn = psycopg2.connect(**kwargs)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("truncate raw.coinbase_trades")
            cur.execute("drop table if exists raw.trades_copy_floor")
    finally:
        conn.close()


def _cost(settings, slots: int, repeat: int) -> dict:
    with offline_exchange() as url:
        settings = dataclasses.replace(settings, exchange=dataclasses.replace(settings.exchange, api_url=url))
        spool = Path(tempfile.mkdtemp(prefix="bench-trades-spool-"))
        from crypto_insights.landing.spool import Spool

        kwargs = endpoint("loader").connect_kwargs()
        lander = WindowLander(settings, lambda: psycopg2.connect(**kwargs), Spool(spool))
        lander.migrate()
        _forget_throughput_tape(kwargs)
        target = Path(tempfile.mkdtemp(prefix="bench-trades-dbt-"))
        first = floor_slot(datetime.now(UTC), 30) - timedelta(seconds=30)
        for k in range(3):
            lander.land(first + timedelta(seconds=10 * k), now=first + timedelta(seconds=10 * k))
        built = run_dbt(["build", "--selector", MICRO_BATCH_SELECTOR], dbname="crypto", target_path=target)
        if built.returncode != 0:
            raise RuntimeError(f"initial dbt build failed:\n{built.stdout[-3000:]}")
        result = {"coins": len(settings.product_ids), **_landing_lag(lander, slots)}
        result.update(_micro_batches(lander, target, repeat))
        lander.close()
    batch_delta = result["micro_batch_with_trades_wall_s"] - result["micro_batch_without_trades_wall_s"]
    lag_delta = result["landing_lag_with_trades_p50_s"] - result["landing_lag_without_trades_p50_s"]
    result["micro_batch_regression_pct"] = round(100 * batch_delta / result["micro_batch_without_trades_wall_s"], 1)
    freshness, measured_on = _live_freshness()
    if freshness is not None:
        result["freshness_p50_live_s"] = f"{freshness} (measured {measured_on}, with trades)"
        result["freshness_regression_pct"] = round(
            100 * (batch_delta + lag_delta) / (freshness - batch_delta - lag_delta), 1
        )
    result["target"] = TARGET
    return result


def run(slots: int = 12, repeat: int = 6) -> dict[str, dict]:
    settings = load_settings()
    with machine_lock() as lock_note, isolated_home():
        landing = _landing_throughput(settings)
        cost = _cost(settings, slots, repeat)
    return {"trades landing": {**landing, "lock": lock_note}, "trades cost": {**cost, "lock": lock_note}}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
