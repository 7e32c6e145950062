"""dbt micro-batch (docs/architecture.md#performance-targets): the wall time of the transform of one new 30 s
window — exactly what `crypto_transform` runs after each landed window (`MICRO_BATCH_ARGS`), as it runs it: dbtRunner
in an interpreter that has imported dbt, with dbt's partial parse (Cosmos' DBT_RUNNER mode) — with no history, then
1, 7 and 30 days of history present. Targets: p50 <= 4 s, 7 d / 1 d <= 1.1, 30 d / 1 d <= 1.2. The warehouse's bytes
per layer are measured at each history point; the growth between the first and the last point, per coin and day,
is each layer's storage cost (the raw retention is raised past the longest history for the run).

History is made with SQL, not by replaying days: one real window (3 slots x 5 products from the offline exchange)
is landed and built by dbt, then every table that keeps time-keyed rows — raw and each incremental dbt table — gets
copies of that window's rows with every timestamp shifted back by k x 30 s (raw's daily partitions created first),
oldest hour first, as micro-batches would have appended them; copied whale-wall episodes are closed, as they would
be by then. That is the state a week of micro-batches leaves, at the same size. Each measurement then lands a new
window at the head and times the micro-batch (median of `repeat`, a new window each time).

The 7-day warehouse then serves bench_dashboard_queries. The heavy phases hold /tmp/crypto-insights-bench.lock, the
lock every heavy benchmark takes, and the result says how much CPU anything else used meanwhile.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from bench.harness import isolated_home, offline_exchange
from crypto_insights.config import API_URL_ENV, load_settings
from crypto_insights.landing.partitions import ensure_partitions
from crypto_insights.landing.window import WindowLander
from crypto_insights.paths import DBT_PROJECT_DIR, REPO_ROOT
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import EmbeddedPostgres
from crypto_insights.transform.dbt_runner import MICRO_BATCH_ARGS, MICRO_BATCH_SELECTOR, dbt_command, dbt_env, run_dbt

log = logging.getLogger(__name__)

TARGET = "p50 <= 4 s per micro-batch; 7 d / 1 d <= 1.1; 30 d / 1 d <= 1.2; warehouse <= 2x raw per day"
LOCK_FILE = Path("/tmp/crypto-insights-bench.lock")
PLOT = REPO_ROOT / "docs" / "images" / "bench_dbt_microbatch.png"
SCHEMAS = ("raw", "staging", "intermediate", "marts")
TIME_KEYS = {"slot_at", "window_start", "first_seen_at"}  # a table with one of these accumulates history
CHUNK_WINDOWS = 120  # one hour of windows per insert, oldest first
COINS = 5  # BTC, ETH, ADA, SOL, DOGE: the first five of the config (the original brief's coins)


# -- the machine --------------------------------------------------------------------------------------------------
def _lock_holders(path: Path) -> set[int]:
    """Pids holding a flock on `path` (from /proc/locks)."""
    inode = path.stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if (
            "->" not in fields
            and len(fields) >= 6
            and fields[1] == "FLOCK"
            and fields[5].rsplit(":", 1)[-1] == str(inode)
        ):
            holders.add(int(fields[4]))
    return holders


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return pids


@contextmanager
def machine_lock() -> Iterator[str]:
    """Exclusive use of the machine for measuring: the lock every heavy benchmark takes (blocking). A caller that
    already holds it for us (`flock /tmp/crypto-insights-bench.lock python -m bench ...`) is recognised."""
    LOCK_FILE.touch(exist_ok=True)
    with LOCK_FILE.open("a") as handle:
        if _lock_holders(LOCK_FILE) & _ancestors():
            yield "lock held by the calling process"
            return
        started = time.monotonic()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for %s (held by pid %s)", LOCK_FILE, sorted(_lock_holders(LOCK_FILE)))
            print(f"waiting for {LOCK_FILE} (another benchmark is measuring) ...", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield f"waited {time.monotonic() - started:.0f} s for the lock"
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cpu_ticks() -> dict[int, tuple[str, int, int]]:
    """pid -> (name, parent pid, CPU ticks of the process and of its children it reaped) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()
            found[int(entry.name)] = (head.split("(", 1)[1], int(fields[1]), sum(map(int, fields[11:15])))
    return found


def _descendants(roots: set[int], processes: dict[int, tuple[str, int, int]]) -> set[int]:
    family, grew = set(roots), True
    while grew:
        children = {pid for pid, (_, parent, _) in processes.items() if parent in family} - family
        family |= children
        grew = bool(children)
    return family


@dataclass
class OtherLoad:
    """CPU used by processes that are neither this benchmark's nor its PostgreSQL's, since the object was made."""

    started: float = field(default_factory=time.monotonic)
    before: dict[int, tuple[str, int, int]] = field(default_factory=_cpu_ticks)

    def used(self) -> tuple[float, float, dict[str, float]]:
        """(CPU seconds used by others, seconds elapsed, CPU seconds per process name)."""
        after, seconds = _cpu_ticks(), time.monotonic() - self.started
        roots = {os.getpid()}
        state = EmbeddedPostgres().load_state()
        if state is not None and (state.data_dir / "postmaster.pid").exists():
            roots.add(int((state.data_dir / "postmaster.pid").read_text().split()[0]))
        ours = _descendants(roots, after)
        per_name: dict[str, float] = {}
        for pid, (name, _, ticks) in after.items():
            if pid not in ours:
                spent = (ticks - self.before.get(pid, (name, 0, 0))[2]) / os.sysconf("SC_CLK_TCK")
                per_name[name] = per_name.get(name, 0.0) + max(spent, 0.0)
        return sum(per_name.values()), seconds, per_name

    def cores(self) -> float:
        total, seconds, _ = self.used()
        return total / seconds

    def report(self) -> str:
        total, seconds, per_name = self.used()
        busy = sorted(((s, n) for n, s in per_name.items() if s >= 1), reverse=True)
        top = ", ".join(f"{name} {s:.0f} s" for s, name in busy[:4])
        return f"{total:.0f} CPU-s by other processes in {seconds:.0f} s ({total / seconds:.2f} cores)" + (
            f": {top}" if top else ""
        )


def wait_until_quiet(threshold: float = 0.15, patience_s: float = 60.0) -> float:
    """Wait for a second in which other processes use less than `threshold` cores (e.g. between two of the demo's
    micro-batches), at most `patience_s`; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < patience_s:
        probe = OtherLoad()
        time.sleep(1.0)
        if probe.cores() < threshold:
            break
    return time.monotonic() - started


# -- the warehouse and its history --------------------------------------------------------------------------------
def _admin():
    conn = psycopg2.connect(**endpoint("admin", "crypto").connect_kwargs())
    conn.autocommit = True
    return conn


def _incremental_models(target: Path, tag: str | None = None) -> set[str]:
    """schema.table of every incremental model (dbt's manifest): the dbt tables that keep history (with `tag`)."""
    manifest = json.loads((target / "manifest.json").read_text())
    return {
        f"{n['schema']}.{n['alias']}"
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["config"]["materialized"] == "incremental"
        and (tag is None or tag in n["tags"])
    }


def _history_tables(cur, incremental: set[str]) -> dict[str, list[tuple[str, str]]]:
    """schema.table -> [(column, data type)] of each table keeping time-keyed rows: raw's and the incremental
    models'."""
    cur.execute(
        """
        select c.table_schema, c.table_name, c.column_name, c.data_type
        from information_schema.columns c
        join pg_namespace n on n.nspname = c.table_schema
        join pg_class k on k.relnamespace = n.oid and k.relname = c.table_name
        where c.table_schema = any(%s) and k.relkind in ('r', 'p') and not k.relispartition
            and c.table_name not like '%%__dbt_tmp%%' and c.table_name <> 'schema_migrations'
        order by c.table_schema, c.table_name, c.ordinal_position""",
        (list(SCHEMAS),),
    )
    tables: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in cur.fetchall():
        tables.setdefault(f"{schema}.{table}", []).append((column, data_type))
    keyed = {t for t, cols in tables.items() if any(c in TIME_KEYS for c, _ in cols)}
    # raw's tables without a time key hold state, not history (watermarks, open trade gaps, alerts)
    history = {t: cols for t, cols in tables.items() if (t.startswith("raw.") and t in keyed) or t in incremental}
    unkeyed = [t for t in history if t not in keyed]
    if unkeyed:
        raise RuntimeError(f"tables keeping history without a time key this benchmark knows: {unkeyed}")
    return history


TRADE_ID_STEP = 1000  # ids a product's prints may use in one window: older copies get smaller ids, none repeats


def _shifted(column: str, data_type: str) -> str:
    """The column of the k-th copy (`g`): times 30 s x k earlier, trade ids 1000 x k lower (as a real tape)."""
    if data_type == "timestamp with time zone":
        return f"{column} - g * interval '30 seconds'"
    if data_type == "bigint" and column.endswith("trade_id"):
        return f"{column} - g * {TRADE_ID_STEP}"
    return column


def _template_name(table: str) -> str:
    return "bench.tmpl_" + table.replace(".", "__")


class History:
    """The warehouse's history, grown by copying the template window back in time."""

    def __init__(self, cur, target: Path) -> None:
        cur.execute("create schema if not exists bench")
        self.tables = _history_tables(cur, _incremental_models(target))  # those built: not the daily mart
        # the exploded detail keeps `detail_retention_hours`: a week of micro-batches leaves only that much of it
        self.detail = _incremental_models(target, "detail")
        self.detail_windows = load_settings().ingest.detail_retention_hours * 3600 // 30
        self.rows_per_window: dict[str, int] = {}
        for table in self.tables:
            cur.execute(f"create unlogged table {_template_name(table)} as select * from {table}")
            if table == "marts.fct_whale_walls":  # episodes in the past are over
                cur.execute(f"update {_template_name(table)} set is_active = false")
            cur.execute(f"select count(*) from {_template_name(table)}")
            self.rows_per_window[table] = cur.fetchone()[0]
        self.windows = 0

    def grow_to(self, windows: int) -> None:
        """Copies of the template shifted back 30 s x k for k up to `windows`, in hour chunks, oldest first; each
        table on one of two connections (two cores), biggest first; then VACUUM ANALYZE."""
        if windows <= self.windows:
            return
        by_size = sorted(self.tables, key=lambda t: -self.rows_per_window[t])

        def fill(table: str) -> None:
            have, want = self.windows, windows
            if table in self.detail:
                have, want = min(have, self.detail_windows), min(want, self.detail_windows)
            chunks = [(max(have + 1, hi - CHUNK_WINDOWS + 1), hi) for hi in range(want, have, -CHUNK_WINDOWS)]
            columns = self.tables[table]
            shifted = ", ".join(_shifted(c, d) for c, d in columns)
            names = ", ".join(c for c, _ in columns)
            conn = _admin()  # autocommit: each chunk commits, VACUUM runs outside a transaction
            try:
                with conn.cursor() as cur:
                    for lo, hi in chunks:
                        cur.execute(
                            f"insert into {table} ({names}) select {shifted} from {_template_name(table)} "
                            "cross join generate_series(%s, %s) g",
                            (lo, hi),
                        )
                    cur.execute(f"vacuum (analyze) {table}")  # as autovacuum would have, not during the timing
            finally:
                conn.close()

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(fill, by_size))
        self.windows = windows


def _count(cur, sql: str) -> int:
    cur.execute(sql)
    return cur.fetchone()[0]


# -- the micro-batch ----------------------------------------------------------------------------------------------
@dataclass
class MicroBatch:
    wall_s: float
    dbt_elapsed_s: float  # dbt's own elapsed_time (run_results.json): the nodes, after start-up and parsing
    nodes: dict[str, float]  # unique_id -> execution_time
    phases: dict[str, float]  # start-up, project + manifest, nodes, exit (from dbt's log)
    other_cores: float  # CPU other processes used meanwhile, in cores


def land_window(lander: WindowLander, window_start: datetime) -> None:
    for i in range(3):
        slot = window_start + timedelta(seconds=10 * i)
        lander.land(slot, now=slot)


def micro_batch(target: Path, threads: int | None = None, args: tuple[str, ...] = MICRO_BATCH_ARGS) -> MicroBatch:
    """One timed dbt run of `args` (default: what `crypto_transform` runs after each window)."""
    wait_until_quiet()
    others = OtherLoad()
    started_at, started = time.time(), time.perf_counter()
    result = run_dbt(list(args), dbname="crypto", target_path=target, threads=threads)
    wall = time.perf_counter() - started
    other_cores = others.cores()
    if result.returncode != 0:
        raise RuntimeError(f"dbt micro-batch failed:\n{result.stdout[-3000:]}")
    results = json.loads((target / "run_results.json").read_text())
    nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]}
    phases = _phases(target / "logs" / "dbt.log", started_at, wall)
    return MicroBatch(wall, results["elapsed_time"], nodes, phases, other_cores)


def _phases(log_file: Path, started_at: float, wall: float) -> dict[str, float]:
    """Where the wall time went, from the times of dbt's own log lines of this run: interpreter start and imports
    (until dbt's first line), project + manifest + graph (until the nodes start), the nodes, and the end (artifacts,
    exit)."""
    marks = {"Running with dbt=": "start", "Concurrency: ": "nodes", "Finished running ": "end"}
    seen: dict[str, float] = {}
    day = datetime.fromtimestamp(started_at).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    for line in log_file.read_text(errors="replace").splitlines()[-20000:]:
        for text, mark in marks.items():
            if text in line and (mark == "start" or "start" in seen):
                if mark == "start":
                    seen.clear()
                clock = re.search(r"(\d\d):(\d\d):(\d\d\.\d+)", line)  # 09:02:06.314850, local time
                if clock:
                    hours, minutes, seconds = clock.groups()
                    seen[mark] = day + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if set(seen) != set(marks.values()):
        return {}
    return {
        "start-up": seen["start"] - started_at,
        "project + manifest": seen["nodes"] - seen["start"],
        "nodes": seen["end"] - seen["nodes"],
        "artifacts + exit": started_at + wall - seen["end"],
    }


# One interpreter that imports dbt once, then runs a micro-batch with dbtRunner (what Cosmos' DBT_RUNNER mode calls)
# each time it reads a line: the cost of a micro-batch without the interpreter start and dbt's imports.
WARM_RUNNER = """
import os, sys, time
from dbt.cli.main import dbtRunner
answers = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # dbt's console log goes nowhere; the timings go to `answers`
args = sys.argv[1:]
for _ in sys.stdin:
    started = time.perf_counter()
    result = dbtRunner().invoke(args)
    print(time.perf_counter() - started if result.success else -1.0, file=answers, flush=True)
"""


@contextmanager
def warm_dbt(
    target: Path, threads: int | None = None, args: tuple[str, ...] = MICRO_BATCH_ARGS
) -> Iterator[Callable[[], float]]:
    """A function running one micro-batch (`args`) in a dbt-warm interpreter, returning its wall seconds."""
    env = {
        **os.environ,
        **dbt_env("crypto", threads=threads),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    argv = [sys.executable, "-c", WARM_RUNNER, *dbt_command(list(args))[1:]]
    proc = subprocess.Popen(
        argv,
        cwd=DBT_PROJECT_DIR,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )

    def one() -> float:
        wait_until_quiet()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        answer = float(proc.stdout.readline() or -1)
        if answer < 0:
            raise RuntimeError(f"dbtRunner micro-batch failed: see {target / 'logs' / 'dbt.log'}")
        return answer

    try:
        yield one
    finally:
        proc.stdin.close()
        proc.wait(60)


def _per_node(batches: list[MicroBatch]) -> dict[str, float]:
    """Median execution time per model over `batches`, slowest first; data tests and hooks summed by kind."""

    def median_of(ids: list[str]) -> float:
        return round(statistics.median(sum(b.nodes.get(i, 0.0) for i in ids) for b in batches), 2)

    ids = list(batches[0].nodes)
    models = {i.split(".", 2)[-1]: median_of([i]) for i in ids if i.startswith("model.")}
    tests = [i for i in ids if i.startswith("test.")]
    others = [i for i in ids if not i.startswith(("model.", "test."))]
    return dict(sorted(models.items(), key=lambda item: -item[1])) | {
        f"{len(tests)} data tests (sum; dbt runs 2 threads)": median_of(tests),
        f"{len(others)} hooks/operations (sum)": median_of(others),
    }


# -- the benchmark ------------------------------------------------------------------------------------------------
def _measure(
    lander: WindowLander, head: datetime, target: Path, repeat: int, threads: int | None = None
) -> tuple[datetime, MicroBatch, list[MicroBatch]]:
    """A warm-up micro-batch (a full parse), then `repeat` timed ones, each after landing the next window at the
    head; each as the DAG runs it (`warm_dbt`)."""
    batches = []
    with warm_dbt(target, threads) as one:
        for _ in range(repeat + 1):
            head += timedelta(seconds=30)
            land_window(lander, head)
            others = OtherLoad()
            wall = one()
            other_cores = others.cores()
            results = json.loads((target / "run_results.json").read_text())
            nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]}
            batches.append(MicroBatch(wall, results["elapsed_time"], nodes, {}, other_cores))
    return head, batches[0], batches[1:]


LAYERS = {"raw": "raw", "staging": "staging", "intermediate": "intermediate", "marts": "marts"}


def _layer_bytes(cur) -> dict[str, int]:
    """Bytes on disk per layer (tables, their partitions, indexes and TOAST), the benchmark's templates left out."""
    cur.execute(
        """
        select n.nspname, sum(pg_total_relation_size(c.oid))
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'm') and n.nspname = any(%s)
        group by n.nspname""",
        (list(LAYERS),),
    )
    found = dict(cur.fetchall())
    return {layer: int(found.get(schema, 0)) for layer, schema in LAYERS.items()}


@contextmanager
def _bench_config(days: int) -> Iterator[None]:
    """The project's config with its first `COINS` symbols, raw (and the tables that follow it) kept `days` days: the
    history stays whole, and 30 days of it fit the disk."""
    import yaml

    from crypto_insights.config import CONFIG_ENV, DEFAULT_CONFIG_PATH

    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["ingest"]["retention_days"] = days
    config["symbols"] = dict(list(config["symbols"].items())[:COINS])
    path = Path(tempfile.mkdtemp(prefix="bench-dbt-config-")) / "crypto_insights.yaml"
    path.write_text(yaml.safe_dump(config))
    previous = os.environ.get(CONFIG_ENV)
    os.environ[CONFIG_ENV] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = previous


def _median(batches: list[MicroBatch], what: str) -> float:
    return round(statistics.median(getattr(b, what) for b in batches), 2)


def run(
    days: tuple[int, ...] = (1, 7, 30), repeat: int = 5, micro_batches: bool = True, dashboards: bool = True
) -> dict[str, dict]:
    """Sections "dbt micro-batch" (+ its per-model timings), "storage by layer" and, over the largest history,
    "dashboard queries"."""
    with _bench_config(max(days) + 1):
        return _run(days, repeat, micro_batches, dashboards)


def _run(days: tuple[int, ...], repeat: int, micro_batches: bool, dashboards: bool) -> dict[str, dict]:
    settings = load_settings()
    windows_per_day = 86400 // settings.ingest.window_seconds
    coins = len(settings.product_ids)
    result: dict = {"coins": coins}
    curve: list[tuple[int, float, float, float]] = []  # days, level rows, wall, dbt elapsed
    per_node: dict[int, dict[str, float]] = {}
    storage: dict[int, dict[str, int]] = {}
    charts: dict[str, dict] = {}
    with offline_exchange() as url, isolated_home(), _api_url(url):
        lander = WindowLander.from_connect_kwargs(endpoint("loader", "crypto").connect_kwargs())
        lander.migrate()
        target = Path(tempfile.mkdtemp(prefix="bench-dbt-"))
        head = datetime.fromtimestamp(time.time() // 30 * 30, UTC)
        conn = _admin()
        cur = conn.cursor()
        ensure_partitions(conn, (head - timedelta(days=max(days) + 1)).date(), days=max(days) + 4)
        land_window(lander, head)
        built = run_dbt(["build", "--selector", MICRO_BATCH_SELECTOR], dbname="crypto", target_path=target)
        if built.returncode != 0:
            raise RuntimeError(f"initial dbt build failed:\n{built.stdout[-3000:]}")
        history = History(cur, target)
        result["rows_per_window"] = ", ".join(f"{t} {n}" for t, n in history.rows_per_window.items() if n)
        with machine_lock() as lock_note:
            others = OtherLoad()
            for history_days in (0, *days) if micro_batches else (max(days),):
                started = time.perf_counter()
                history.grow_to(int(history_days * windows_per_day))
                # the kept levels landed (what dbt's staging explodes), counted in raw
                level_rows = _count(
                    cur, "select sum(bid_levels_kept + ask_levels_kept) from raw.coinbase_book_snapshots"
                )
                storage[history_days] = _layer_bytes(cur)
                generated = f"; generated (copies, VACUUM ANALYZE) in {time.perf_counter() - started:.0f} s"
                result[f"{history_days}d_history"] = f"{level_rows:,} kept level rows in raw" + (
                    generated if history_days else ""
                )
                if not micro_batches:
                    break
                head, warm_up, batches = _measure(lander, head, target, repeat)
                wall, elapsed = _median(batches, "wall_s"), _median(batches, "dbt_elapsed_s")
                result[f"{history_days}d_wall_s"] = wall
                result[f"{history_days}d_dbt_elapsed_s"] = elapsed
                result[f"{history_days}d_runs_wall_s"] = (
                    f"{' '.join(f'{b.wall_s:.2f}' for b in batches)} (warm-up {warm_up.wall_s:.2f}); "
                    f"other processes meanwhile {' '.join(f'{b.other_cores:.2f}' for b in batches)} cores"
                )
                curve.append((history_days, level_rows, wall, elapsed))
                per_node[history_days] = _per_node(batches)
            if micro_batches:
                # a new interpreter per run (`crypto-insights dbt`, or Cosmos' subprocess mode): the start-up cost
                head, _, cli = _measure_cli(lander, head, target, repeat)
                result[f"{max(days)}d_wall_s_dbt_cli"] = _median(cli, "wall_s")
            result["other_load"] = others.report()
            result["lock"] = lock_note
            if dashboards:
                from bench import bench_dashboard_queries

                others = OtherLoad()
                try:
                    charts = bench_dashboard_queries.run()
                except Exception as exc:  # keep the micro-batch results; the error is the dashboards' result
                    log.exception("dashboard queries failed")
                    charts = {"dashboard queries": {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}}
                summary = charts["dashboard queries"]
                charts["dashboard queries"] = {
                    "history": f"{level_rows:,} kept level rows in raw ({max(days)} days)",
                    **summary,
                    "other_load": others.report(),
                    "lock": lock_note,
                }
        lander.close()
        cur.close()
        conn.close()
    sections: dict[str, dict] = {}
    if micro_batches:
        first = days[0]
        for later in days[1:]:
            result[f"ratio_{later}d_to_{first}d_wall"] = round(
                result[f"{later}d_wall_s"] / result[f"{first}d_wall_s"], 2
            )
            result[f"ratio_{later}d_to_{first}d_dbt_elapsed"] = round(
                result[f"{later}d_dbt_elapsed_s"] / result[f"{first}d_dbt_elapsed_s"], 2
            )
        grown = {n: s - per_node[first].get(n, 0.0) for n, s in per_node[days[-1]].items()}
        result[f"grew_most_{first}d_to_{days[-1]}d_s"] = ", ".join(
            f"{n} {d:+.2f}" for n, d in sorted(grown.items(), key=lambda item: -item[1])[:5]
        )
        result["target"] = TARGET
        sections["dbt micro-batch"] = result
        sections[f"dbt micro-batch: per node at {days[-1]} days (median s)"] = per_node[days[-1]]
        _plot(curve)
    sections["storage by layer"] = _storage_section(storage, coins)
    return sections | charts


def _storage_section(storage: dict[int, dict[str, int]], coins: int) -> dict:
    """Each layer's bytes at each history point, and its growth per coin per day between the first and last."""
    points = sorted(storage)
    first, last = points[1] if len(points) > 2 else points[0], points[-1]
    section: dict = {}
    for days, layers in storage.items():
        section[f"{days}d_mib"] = ", ".join(f"{layer} {size / 2**20:,.0f}" for layer, size in layers.items())
    growth = (
        {layer: (storage[last][layer] - storage[first][layer]) / (last - first) / coins for layer in LAYERS}
        if last > first
        else {}
    )
    for layer, per_day in growth.items():
        section[f"{layer}_mib_per_coin_day"] = round(per_day / 2**20, 1)
    if growth and growth["raw"] > 0:
        section["warehouse_to_raw_per_day"] = round(sum(growth.values()) / growth["raw"], 2)
    section["measured_between"] = f"{first} and {last} days of history"
    section["target"] = "the whole warehouse <= 2x raw per day"
    return section


def _measure_cli(
    lander: WindowLander, head: datetime, target: Path, repeat: int
) -> tuple[datetime, MicroBatch, list[MicroBatch]]:
    """As `_measure`, each micro-batch a `dbt` process of its own."""
    batches = []
    for _ in range(repeat + 1):
        head += timedelta(seconds=30)
        land_window(lander, head)
        batches.append(micro_batch(target))
    return head, batches[0], batches[1:]


@contextmanager
def _api_url(url: str) -> Iterator[None]:
    os.environ[API_URL_ENV] = url
    try:
        yield
    finally:
        os.environ.pop(API_URL_ENV, None)


def _plot(curve: list[tuple[int, float, float, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    rows = [level_rows / 1e6 for _, level_rows, _, _ in curve]
    ax.plot(rows, [wall for *_, wall, _ in curve], marker="o", label="wall time (dbt process)")
    ax.plot(rows, [elapsed for *_, elapsed in curve], marker="s", label="dbt elapsed (nodes only)")
    for history_days, level_rows, wall, _ in curve:
        ax.annotate(
            f"{history_days} d",
            (level_rows / 1e6, wall),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.axhline(4, color="red", linestyle="--", linewidth=1, label="target 4 s")
    ax.set_xlabel("history: kept level rows in raw (millions)")
    ax.set_ylabel("seconds per micro-batch (median)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("dbt micro-batch of one 30 s window vs history size")
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    chosen = tuple(int(d) for d in sys.argv[1:]) or (1, 7, 30)
    print(json.dumps(run(chosen, dashboards=False), indent=2))
