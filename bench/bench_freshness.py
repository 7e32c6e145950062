"""Freshness and footprint of the running demo (docs/architecture.md#performance-targets): from each slot's time to
its data in the 30 s mart, slot completeness, where the time goes (landing, Airflow scheduling, dbt), and the stack's
memory and CPU — over `minutes` of the live stack. Targets: freshness p50 <= 8 s, p95 <= 15 s, completeness
>= 99.9 %, whole stack <= 4 GB.

A slot is visible once its window's row in `marts.fct_order_book_30s` counts it: the row of window w showing
`snapshot_count >= k` makes the first k landed slots of w visible. The mart is polled every second as the
dashboards' read-only role; what was landed is read afterwards from raw (as the transform role, which reads raw),
and the micro-batches from Airflow's metadata database and task logs.

Uses the running demo, or starts it (`crypto-insights demo up`) and stops it afterwards: the stack is left as found.
When it starts the demo on an empty warehouse, it first gives the warehouse `history_days` of history (bench_dbt's
generator: copies of one real window, as a week of micro-batches leaves it), so the pipeline is measured as it runs
after a week; the daily maintenance run the scheduler starts at once is waited for (and timed) before measuring.
The measurement holds the machine lock (/tmp/crypto-insights-bench.lock) so no other heavy benchmark runs meanwhile.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from bench.bench_dbt import machine_lock
from bench.stack_memory import CLOCK_TICKS, stack_sample, summarize
from crypto_insights.config import load_settings
from crypto_insights.postgres.connection import endpoint
from crypto_insights.stack.programs import DEMO_PROGRAMS

log = logging.getLogger(__name__)

CLI = str(Path(sys.executable).parent / "crypto-insights")
SETTLE_S = 90  # slots of the last 90 s are left out: their data may still be on the way
WARM_UP_S = 60  # after a cold start, from the first mart row to the start of the measurement
TARGET = "freshness p50 <= 8 s, p95 <= 15 s, completeness >= 99.9 %, whole stack <= 4 GB"
COMPONENTS = {"postgres", *DEMO_PROGRAMS}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(prefix: str, values: list[float], digits: int = 1) -> dict[str, float | None]:
    if not values:
        return {f"{prefix}_p50_s": None, f"{prefix}_p95_s": None}
    return {
        f"{prefix}_p50_s": round(statistics.median(values), digits),
        f"{prefix}_p95_s": round(_percentile(values, 0.95), digits),
    }


def _demo_running() -> bool:
    status = subprocess.run([CLI, "demo", "status"], capture_output=True, text=True).stdout
    running = {line.split()[0] for line in status.splitlines() if " running" in line}
    return COMPONENTS <= running


def _poll_marts(reader, since: datetime, seen: dict[tuple, datetime]) -> None:
    with reader.cursor() as cur:
        cur.execute(
            "select product_id, window_start, snapshot_count from marts.fct_order_book_30s where window_start >= %s",
            (since,),
        )
        now = datetime.now(UTC)
        for product_id, window_start, count in cur.fetchall():
            seen.setdefault((product_id, window_start, count), now)


def _query(role: str, sql: str, params: tuple = (), dbname: str | None = None) -> list[tuple]:
    conn = psycopg2.connect(**endpoint(role, dbname).connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def _visibility(landed: list[tuple], seen: dict[tuple, datetime], window_s: int) -> tuple[list[float], int]:
    """Seconds from slot time to visible for each landed slot, and how many never became visible."""
    lags, invisible = [], 0
    for visible, slot_at in _visible_at(landed, seen, window_s):
        if visible is None:
            invisible += 1
        else:
            lags.append((visible - slot_at).total_seconds())
    return lags, invisible


def _visible_at(landed: list[tuple], seen: dict[tuple, datetime], window_s: int) -> list[tuple]:
    """(first time visible or None, slot_at) per landed (product_id, slot_at, ...) row, in (product, slot) order."""
    first_visible: dict[tuple, dict[int, datetime]] = defaultdict(dict)
    for (product_id, window_start, count), at in seen.items():
        first_visible[(product_id, window_start)][count] = at
    found, rank = [], defaultdict(int)
    for product_id, slot_at, *_ in sorted(landed, key=lambda r: (r[0], r[1])):
        epoch = int(slot_at.timestamp())
        window_start = datetime.fromtimestamp(epoch - epoch % window_s, UTC)
        rank[(product_id, window_start)] += 1
        k = rank[(product_id, window_start)]
        times = [at for count, at in first_visible[(product_id, window_start)].items() if count >= k]
        found.append((min(times) if times else None, slot_at))
    return found


def _micro_batches(since: datetime) -> list[dict]:
    """crypto_transform runs since `since`: the asset event that triggered each, and its task's timings."""
    rows = _query(
        "airflow",
        """
        select dr.run_id, ti.start_date, ti.end_date, ti.state, ti.try_number,
               (select max(e.timestamp) from dagrun_asset_event dae join asset_event e on e.id = dae.event_id
                where dae.dag_run_id = dr.id) as event_at
        from dag_run dr join task_instance ti on ti.dag_id = dr.dag_id and ti.run_id = dr.run_id
        where dr.dag_id = 'crypto_transform' and ti.task_id = 'dbt_run' and ti.start_date >= %s
        order by ti.start_date""",
        (since,),
        dbname="airflow",
    )
    return [{"run_id": r[0], "start": r[1], "end": r[2], "state": r[3], "try": r[4], "event_at": r[5]} for r in rows]


def _log_marks(run_id: str, attempt: int) -> dict[str, datetime]:
    """When the task's dbt run started and when it committed fct_order_book_30s, from the Airflow task log."""
    from crypto_insights.stack.airflow_env import airflow_home

    path = (
        airflow_home()
        / "logs"
        / "dag_id=crypto_transform"
        / f"run_id={run_id}"
        / "task_id=dbt_run"
        / f"attempt={attempt}.log"
    )
    marks: dict[str, datetime] = {}
    needles = {
        "dbt_invoked": "Trying to run dbtRunner",
        "dbt_parsed": "Found ",
        "mart_built": "OK created sql incremental model marts.fct_order_book_30s",
    }
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return marks
    for line in lines:
        try:
            entry = json.loads(line)
            at = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            continue
        for key, needle in needles.items():
            if key not in marks and needle in (entry.get("event") or ""):
                marks[key] = at
    return marks


def _breakdown(batches: list[dict], landed: list[tuple]) -> dict[str, float | None]:
    """Where the time goes on the way to the mart: the slot that closed each ingest window landing, the window's
    asset event, the transform task starting, dbt starting and parsing, the mart model committed."""
    landed_at = sorted(r[2] for r in landed)
    parts: dict[str, list[float]] = defaultdict(list)
    for b in batches:
        if b["event_at"] is None or b["start"] is None:
            continue
        closing = [at for at in landed_at if at <= b["event_at"]]
        if closing and (b["event_at"] - closing[-1]).total_seconds() < 30:
            parts["last_landed_to_asset_event"].append((b["event_at"] - closing[-1]).total_seconds())
        parts["asset_event_to_task_start"].append((b["start"] - b["event_at"]).total_seconds())
        if b["end"] is not None and b["state"] == "success":
            parts["task_duration"].append((b["end"] - b["start"]).total_seconds())
        marks = _log_marks(b["run_id"], b["try"])
        if "dbt_invoked" in marks:
            parts["task_start_to_dbt_invoked"].append((marks["dbt_invoked"] - b["start"]).total_seconds())
        if "dbt_invoked" in marks and "dbt_parsed" in marks:
            parts["dbt_start_and_parse"].append((marks["dbt_parsed"] - marks["dbt_invoked"]).total_seconds())
        if "dbt_parsed" in marks and "mart_built" in marks:
            parts["dbt_nodes_to_mart"].append((marks["mart_built"] - marks["dbt_parsed"]).total_seconds())
        if "mart_built" in marks:
            parts["asset_event_to_mart"].append((marks["mart_built"] - b["event_at"]).total_seconds())
    out: dict[str, float | None] = {
        "micro_batches": len(batches),
        "micro_batches_failed": sum(b["state"] != "success" for b in batches),
    }
    for name in (
        "task_duration",
        "last_landed_to_asset_event",
        "asset_event_to_task_start",
        "task_start_to_dbt_invoked",
        "dbt_start_and_parse",
        "dbt_nodes_to_mart",
        "asset_event_to_mart",
    ):
        out.update(_stats(name, parts[name], 2))
    return out


def _wait_for_marts(since: datetime, timeout_s: float = 600) -> float:
    """Seconds until the mart has a row of a window from `since` on (the demo was just started)."""
    sql = "select count(*) from marts.fct_order_book_30s where window_start >= %s"
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if _query("reader", sql, (since,))[0][0]:
                return time.monotonic() - started
        except psycopg2.Error:
            pass
        time.sleep(1)
    raise RuntimeError(f"no row in marts.fct_order_book_30s {timeout_s:.0f} s after `demo up`")


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def run(minutes: float = 30.0, history_days: int = 7) -> dict:
    with machine_lock() as lock_note:
        result = _measure(minutes, history_days)
    result["lock"] = lock_note
    return result


def _prefill_history(days: int) -> str:
    """`days` of history in the (empty) demo warehouse, before the demo starts."""
    from bench.bench_dbt import History, _admin, _api_url, land_window
    from bench.harness import offline_exchange
    from crypto_insights.landing.migrations import migrate
    from crypto_insights.landing.partitions import ensure_partitions
    from crypto_insights.landing.window import WindowLander
    from crypto_insights.postgres.cli import start_and_bootstrap
    from crypto_insights.transform.dbt_runner import MICRO_BATCH_SELECTOR, run_dbt

    started = time.monotonic()
    start_and_bootstrap()
    loader = psycopg2.connect(**endpoint("loader", "crypto").connect_kwargs())
    try:
        migrate(loader)
    finally:
        loader.close()
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute("select count(*) from raw.coinbase_book_snapshots")
            if cur.fetchone()[0]:
                raise RuntimeError("history can only be generated in an empty warehouse: `make clean` first")
            head = datetime.fromtimestamp(time.time() // 30 * 30 - 300, UTC)  # ends 5 minutes before the demo
            ensure_partitions(conn, (head - timedelta(days=days + 1)).date(), days=days + 4)
            with offline_exchange() as url, _api_url(url):  # the lander's client takes the URL when made
                lander = WindowLander.from_connect_kwargs(endpoint("loader", "crypto").connect_kwargs())
                try:
                    land_window(lander, head)
                finally:
                    lander.close()
            cur.execute("select count(*) from raw.coinbase_book_snapshots")
            if not cur.fetchone()[0]:
                raise RuntimeError("the template window landed no book: is the offline exchange answering?")
            target = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
            built = run_dbt(["build", "--selector", MICRO_BATCH_SELECTOR], target_path=target)
            if built.returncode != 0:
                raise RuntimeError(f"dbt build of the template window failed:\n{built.stdout[-3000:]}")
            history = History(cur, target)
            history.grow_to(days * 86400 // 30)
            cur.execute("select count(*) from raw.coinbase_book_snapshots")
            books = cur.fetchone()[0]
    finally:
        conn.close()
    return f"{days} days generated before the demo started ({books:,} books in raw, {time.monotonic() - started:.0f} s)"


def _wait_for_maintenance(timeout_s: float = 3600) -> float | None:
    """Seconds until the crypto_maintenance run the scheduler started with the demo has ended (None: none ran)."""
    started = time.monotonic()
    sql = "select count(*) filter (where state in ('queued', 'running')), count(*) from dag_run where dag_id = %s"
    while time.monotonic() - started < timeout_s:
        active, total = _query("airflow", sql, ("crypto_maintenance",))[0]
        if total and not active:
            return round(time.monotonic() - started, 1)
        if not total and time.monotonic() - started > 120:
            return None
        time.sleep(5)
    raise RuntimeError(f"crypto_maintenance still running {timeout_s:.0f} s after the demo started")


def _measure(minutes: float, history_days: int) -> dict:
    settings = load_settings()
    slot_s, window_s = settings.ingest.slot_seconds, settings.ingest.slot_seconds * settings.ingest.slots_per_window
    started_here = not _demo_running()
    cold: dict[str, object] = {}
    if started_here:
        if history_days:
            cold["history"] = _prefill_history(history_days)
        began, now = time.monotonic(), int(time.time())
        subprocess.run([CLI, "demo", "up"], check=True, stdout=subprocess.DEVNULL)
        cold["demo_up_s"] = round(time.monotonic() - began, 1)
        window_of_start = datetime.fromtimestamp(now - now % window_s, UTC)  # earlier rows are an earlier run's
        cold["demo_up_to_first_new_mart_row_s"] = round(cold["demo_up_s"] + _wait_for_marts(window_of_start), 1)
        # the daily run (dbt over the last day) the scheduler starts with the demo: not part of the steady state
        cold["first_maintenance_run_waited_s"] = _wait_for_maintenance()
        time.sleep(WARM_UP_S)
    else:
        cold["history"] = "whatever the running demo holds"
    try:
        result = _sample(minutes, settings, slot_s, window_s)
    finally:
        if started_here:
            subprocess.run([CLI, "demo", "down"], check=False, stdout=subprocess.DEVNULL)
    return {
        **result,
        **cold,
        "stack": "started for the benchmark" if started_here else "already running",
        "target": TARGET,
    }


def _sample(minutes: float, settings, slot_s: int, window_s: int) -> dict:
    begin = datetime.now(UTC)
    seen: dict[tuple, datetime] = {}
    samples: list[tuple[float, dict]] = []
    machine: list[tuple[float, float]] = []
    reader = psycopg2.connect(**endpoint("reader").connect_kwargs())
    reader.autocommit = True
    try:
        deadline = time.monotonic() + minutes * 60
        next_sample = 0.0
        while time.monotonic() < deadline:
            _poll_marts(reader, begin - timedelta(seconds=window_s), seen)
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic(), stack_sample()))
                machine.append((time.monotonic(), _machine_busy_s()))
                next_sample = time.monotonic() + 10
            time.sleep(max(0.0, 1 - (time.monotonic() % 1)))  # about once a second, on the second
    finally:
        reader.close()
    end = datetime.now(UTC)
    first_slot = datetime.fromtimestamp(int(begin.timestamp()) // slot_s * slot_s + slot_s, UTC)
    settled = int((end - timedelta(seconds=SETTLE_S)).timestamp())
    last_slot = datetime.fromtimestamp(settled - settled % slot_s, UTC)  # slots in [first_slot, last_slot)
    landed = _query(
        "transform",
        "select product_id, slot_at, landed_at from raw.coinbase_book_snapshots where slot_at >= %s and slot_at < %s",
        (first_slot, last_slot),
    )
    missed = _query(
        "transform",
        "select count(distinct (product_id, slot_at)) from raw.coinbase_ingest_errors "
        "where endpoint = 'book' and error_kind = 'missed_slot' "
        "and slot_at >= %s and slot_at < %s",
        (first_slot, last_slot),
    )[0][0]
    errors = _query(
        "transform",
        "select count(*) from raw.coinbase_ingest_errors where slot_at >= %s and slot_at < %s",
        (first_slot, last_slot),
    )[0][0]
    lags, invisible = _visibility(landed, seen, window_s)
    expected = len(settings.product_ids) * int((last_slot - first_slot).total_seconds() // slot_s)
    landing_lag = [(r[2] - r[1]).total_seconds() for r in landed]
    batches = _micro_batches(begin)
    footprint = summarize(samples)
    span = machine[-1][0] - machine[0][0] if len(machine) > 1 else 0.0
    stack_cpu = samples[-1][1]["total"]["cpu_s"] - samples[0][1]["total"]["cpu_s"] if span else 0.0
    result: dict[str, object] = {
        "measured_minutes": round((end - begin).total_seconds() / 60, 1),
        "slots_expected": expected,
        "slots_landed": len(landed),
        "completeness_pct": round(100 * len(landed) / expected, 3) if expected else None,
        "missed_slots": missed,
        "ingest_errors_recorded": errors,
        "freshness_p50_s": round(statistics.median(lags), 1) if lags else None,
        "freshness_p95_s": round(_percentile(lags, 0.95), 1) if lags else None,
        "freshness_max_s": round(max(lags), 1) if lags else None,
        "freshness_within_30s_pct": round(100 * sum(lag <= 30 for lag in lags) / len(lags), 1) if lags else None,
        "slots_never_visible": invisible,
        **_stats("landing_lag", landing_lag, 2),
        **_breakdown(batches, landed),
        "stack_pss_steady_mib": footprint.get("total_pss_steady_mib"),
        "stack_rss_steady_mib": footprint.get("total_rss_steady_mib"),
        "stack_pss_peak_mib": footprint.get("total_pss_peak_mib"),
        "stack_rss_peak_mib": footprint.get("total_rss_peak_mib"),
        "stack_cpu_steady_cores": footprint.get("total_cpu_steady_cores"),
        # what else kept the machine busy while measuring (~0 when the benchmark had it to itself)
        "other_processes_cpu_cores": round((machine[-1][1] - machine[0][1] - stack_cpu) / span, 2) if span else None,
    }
    for name, component in sorted(footprint.get("per_component", {}).items()):
        result[f"{name}_pss_rss_mib_cpu_cores"] = (
            f"{component['pss_mib']} / {component['rss_mib']} / {component.get('cpu_cores', '?')}"
        )
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0), indent=2, default=str))
