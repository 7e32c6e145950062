"""`make soak [SOAK_MINUTES=60]`: the demo stack under chaos for an hour, then proof that nothing was lost.

    python -m bench.soak [--minutes 60] [--chaos 0.05] [--plan full|short] [--out docs] [--no-dashboards]

Starts the whole demo (`crypto-insights demo up`) on a home and ports of its own with a 10-coin config and the
offline exchange faulting ``--chaos`` of the market-data requests, waits for the first landed slot, then for
``--minutes`` breaks things on a fixed schedule (bench/soak_plan.py) while it polls the marts' newest window every
few seconds and samples each program's memory every 30 s and the disk every 5 minutes. At the end it runs the gap
sweep up to one minute before the end and checks the ledger of every (product, slot, endpoint) of the run
(bench/soak_ledger.py), stops the stack and writes ``<out>/reliability.json``, ``<out>/reliability.md`` and plots
under ``<out>/images/``. Exits 1 when anything is unaccounted, duplicated or falsely recorded as an error.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import soak_ledger, soak_probe, soak_report
from bench.soak_plan import PLANS, PlannedFault
from bench.soak_stack import (
    ProgramControl,
    demo_down,
    demo_up,
    make_home,
    postgres,
    remove_home,
    soak_environment,
    write_config,
)
from crypto_insights.paths import REPO_ROOT

log = logging.getLogger("soak")

TICK_S = 5
MEMORY_EVERY_S = 30
DISK_EVERY_S = 300
STATS_EVERY_S = 60
SETTLE_S = 60  # the gap sweep and the ledger stop this long before the end: later slots may still be landing
FIRST_SLOT_TIMEOUT_S = 600
SPOOL_DRAIN_TIMEOUT_S = 180
MARKET_PATH_PARTS = ("/book", "/ticker")


@dataclass
class Soak:
    """One run's state: the stack's handles and everything sampled so far."""

    env: dict[str, str]
    home: Path
    control: ProgramControl
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    t0: float = field(default_factory=time.monotonic)
    polls: list[tuple[float, datetime | None]] = field(default_factory=list)
    memory: list[tuple[float, dict[str, dict[str, float]]]] = field(default_factory=list)
    disk: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    exchange_stats: dict[int, dict[str, Any]] = field(default_factory=dict)
    seen: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    def now_s(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    def note(self, event: str) -> None:
        self.timeline.append({"t_s": self.now_s(), "event": event})
        print(f"[{soak_report.clock(self.now_s())}] {event}", flush=True)

    # -- faults ------------------------------------------------------------------------------------------------

    def begin(self, planned: PlannedFault) -> dict[str, Any]:
        fault = {
            "label": planned.label,
            "kind": planned.kind,
            "program": planned.program,
            "start": datetime.now(UTC).isoformat(),
            "start_s": self.now_s(),
            "end_s": None,
            "ends_at_s": self.now_s() + planned.duration_s,
        }
        print(f"[{soak_report.clock(self.now_s())}] fault: {planned.label}", flush=True)
        if planned.kind == "postgres":
            postgres(self.env, "stop")
        elif planned.kind == "exchange":
            self.sample_exchange()  # its counters go with it
            self.control.stop("exchange")
        else:
            fault["killed_pid"] = self.control.kill(str(planned.program))
            fault["end_s"], fault["end"] = fault["start_s"], fault["start"]
        self.faults.append(fault)
        return fault

    def finish(self, fault: dict[str, Any]) -> None:
        if fault["kind"] == "postgres":
            postgres(self.env, "start")
        elif fault["kind"] == "exchange":
            self.control.start("exchange")
        fault["end_s"], fault["end"] = self.now_s(), datetime.now(UTC).isoformat()
        print(f"[{soak_report.clock(self.now_s())}] over: {fault['label']}", flush=True)

    def watch_programs(self, programs: list[str]) -> None:
        """Note restarts and states other than RUNNING; a killed program's fault learns when it came back."""
        for name in programs:
            state, pid = self.control.status(name)
            prev_state, prev_pid = self.seen.get(name, (state, pid))
            if pid and prev_pid and pid != prev_pid:
                self.note(f"{name} restarted by supervisord (pid {prev_pid} -> {pid})")
            if state != prev_state and state != "RUNNING":
                self.note(f"{name} {state}")
            self.seen[name] = (state, pid or prev_pid)
            if state != "RUNNING" or not pid:
                continue
            for fault in self.faults:
                if (
                    fault.get("program") == name
                    and fault["end_s"] is not None
                    and "back_after_s" not in fault
                    and pid != fault.get("killed_pid")
                ):
                    fault["back_after_s"] = round(self.now_s() - fault["end_s"], 1)

    # -- samples -----------------------------------------------------------------------------------------------

    def sample_memory(self, programs: list[str]) -> None:
        pids = {name: self.control.status(name)[1] for name in programs}
        self.memory.append((self.now_s(), soak_probe.memory_sample(pids, self.home)))

    def sample_disk(self) -> None:
        sizes = soak_probe.disk_by_layer()
        if sizes is not None:
            sizes["logs/ (program logs)"] = soak_probe.folder_bytes(self.home / "logs")
            sizes["airflow/logs/ (task logs)"] = soak_probe.folder_bytes(self.home / "airflow" / "logs")
            self.disk.append((self.now_s(), sizes))

    def sample_exchange(self) -> None:
        _, pid = self.control.status("exchange")
        if not pid:
            return
        try:
            url = f"http://127.0.0.1:{self.env['CRYPTO_INSIGHTS_EXCHANGE_PORT']}/_control/stats"
            self.exchange_stats[pid] = requests.get(url, timeout=5).json()
        except (requests.RequestException, ValueError):
            pass


def _exchange_totals(stats: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Fault share as the exchange served it, summed over each exchange process of the run."""
    market = sum(
        n
        for s in stats.values()
        for path, n in s.get("requests_served", {}).items()
        if path.endswith(MARKET_PATH_PARTS)
    )
    faulted = sum(f["hits"] for s in stats.values() for f in s.get("faults", []) if f.get("probability"))
    return {
        "market_requests": market,
        "faulted": faulted,
        "faulted_pct": round(100 * faulted / market, 2) if market else None,
        "responses": [s.get("responses") for s in stats.values()],
    }


def _wait_first_slot(since: datetime) -> datetime:
    deadline = time.monotonic() + FIRST_SLOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if (first := soak_probe.first_raw_slot(since)) is not None:
            return first
        time.sleep(2)
    raise RuntimeError(f"nothing landed in raw within {FIRST_SLOT_TIMEOUT_S} s of the stack coming up")


def _measure(soak: Soak, plan: list[PlannedFault], minutes: float, programs: list[str]) -> None:
    pending = sorted(plan, key=lambda f: f.at_s)
    open_faults: list[dict[str, Any]] = []
    next_memory = next_disk = next_stats = 0.0
    deadline = minutes * 60
    while soak.now_s() < deadline or open_faults:
        now = soak.now_s()
        while pending and pending[0].at_s <= now:
            fault = soak.begin(pending.pop(0))
            if fault["end_s"] is None:
                open_faults.append(fault)
        for fault in [f for f in open_faults if f["ends_at_s"] <= soak.now_s()]:
            soak.finish(fault)
            open_faults.remove(fault)
        soak.polls.append((soak.now_s(), soak_probe.marts_newest_window()))
        soak.watch_programs(programs)
        if now >= next_memory:
            soak.sample_memory(programs)
            next_memory = now + MEMORY_EVERY_S
        if now >= next_disk:
            soak.sample_disk()
            next_disk = now + (DISK_EVERY_S if soak.disk else TICK_S)
        if now >= next_stats:
            soak.sample_exchange()
            next_stats = now + STATS_EVERY_S
        time.sleep(max(0.0, TICK_S - (soak.now_s() - now)))


def _ledger(soak: Soak, settings: Any, first_slot: datetime, settle_s: float) -> dict[str, Any]:
    from crypto_insights.landing.slots import floor_slot

    through = datetime.now(UTC) - timedelta(seconds=settle_s)
    deadline = time.monotonic() + SPOOL_DRAIN_TIMEOUT_S
    while soak_probe.spool_files(soak.home) and time.monotonic() < deadline:
        time.sleep(2)
    if waiting := soak_probe.spool_files(soak.home):
        soak.note(f"{waiting} slot batch(es) still in the spool {SPOOL_DRAIN_TIMEOUT_S} s after the end")
    swept = soak_ledger.sweep_gaps(settings, through)
    last = floor_slot(through, settings.ingest.slot_seconds)
    ledger = soak_ledger.count(settings, first_slot, last)
    ledger.update(
        first_slot=first_slot.isoformat(),
        last_slot=last.isoformat(),
        swept_at_end=swept,
        slots=int((last - first_slot).total_seconds() // settings.ingest.slot_seconds) + 1,
    )
    return ledger


def run(
    minutes: float,
    chaos: float,
    plan_name: str,
    out: Path,
    *,
    dashboards: bool = True,
    keep_home: bool = False,
    settle_s: float = SETTLE_S,
) -> dict[str, Any]:
    home = make_home()
    env = soak_environment(home, chaos, write_config(home))
    os.environ.clear()  # this process is the soak's: its own queries go to the soak's PostgreSQL
    os.environ.update(env)
    print(f"soak: home {home}, {minutes:g} min, chaos {chaos:g}, plan {plan_name}", flush=True)
    from crypto_insights.config import load_settings

    up_began, up_at = time.monotonic(), datetime.now(UTC)
    try:
        demo_up(env, dashboards=dashboards)
        up_s = round(time.monotonic() - up_began, 1)
        os.environ["COINBASE_API_URL"] = f"http://127.0.0.1:{env['CRYPTO_INSIGHTS_EXCHANGE_PORT']}"
        settings = load_settings()
        control = ProgramControl(home)
        programs = control.programs()
        print(f"soak: stack up in {up_s} s ({', '.join(programs)}); waiting for the first landed slot", flush=True)
        first_slot = _wait_first_slot(up_at)
        soak = Soak(env, home, control)
        soak.note(f"first slot landed: {first_slot.isoformat()}; faults start")
        _measure(soak, PLANS[plan_name](minutes), minutes, programs)
        measured_s = soak.now_s()
        ledger = _ledger(soak, settings, first_slot, settle_s)
        soak.sample_disk()
        soak.sample_exchange()
    finally:
        print(demo_down(env).strip(), flush=True)
        if not keep_home:
            remove_home(home)
    lag = soak_report.mart_lag(soak.polls, soak.start)
    for fault in soak.faults:
        fault["caught_up_s"] = soak_report.catch_up_s(datetime.fromisoformat(fault["end"]), fault["end_s"], soak.polls)
    quiet = soak_report.quiet_lag_median_s(lag, soak.faults)
    result: dict[str, Any] = {
        "run": {
            "started": soak.start.strftime("%Y-%m-%d %H:%M"),
            "minutes": round(measured_s / 60, 1),
            "coins": len(settings.product_ids),
            "products": list(settings.product_ids),
            "chaos": chaos,
            "plan": plan_name,
            "demo_up_s": up_s,
            "memory_every_s": MEMORY_EVERY_S,
            "retention_days": settings.ingest.retention_days,
            "stack": "the whole demo under supervisord" if dashboards else "the demo without Superset",
        },
        "violations": soak_ledger.verdict(ledger),
        "ledger": ledger,
        "faults": soak.faults,
        "timeline": soak.timeline,
        "marts": {"polls": len(soak.polls), "quiet_lag_median_s": quiet},
        "memory": soak_report.memory_figures(soak.memory) if soak.memory else {},
        "disk": soak_report.growth_per_day(soak.disk[0], soak.disk[-1]) if len(soak.disk) > 1 else {},
        "exchange": _exchange_totals(soak.exchange_stats),
    }
    out.mkdir(parents=True, exist_ok=True)
    images = soak_report.plot(result, lag, soak.memory, out / "images")
    soak_report.write_json(
        {**result, "samples": {"mart_lag": lag, "memory": soak.memory, "disk": soak.disk}}, out / "reliability.json"
    )
    (out / "reliability.md").write_text(soak_report.render_markdown(result, images))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or 60))
    parser.add_argument("--chaos", type=float, default=0.05, help="share of market-data requests faulted")
    parser.add_argument("--plan", choices=sorted(PLANS), default="full")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs", help="where reliability.* go")
    parser.add_argument("--no-dashboards", action="store_true", help="start the stack without Superset")
    parser.add_argument("--no-lock", action="store_true", help="do not take the benchmarks' machine lock")
    parser.add_argument("--keep-home", action="store_true", help="keep the soak's home (logs, database)")
    parser.add_argument("--settle-s", type=float, default=SETTLE_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # a SIGTERM (a timeout, a CI cancel) still takes the soak's stack down and frees its ports
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("soak: terminated (SIGTERM); the stack was stopped"))
    options = {"dashboards": not args.no_dashboards, "keep_home": args.keep_home, "settle_s": args.settle_s}
    if args.no_lock:
        result = run(args.minutes, args.chaos, args.plan, args.out, **options)
    else:
        from bench.bench_dbt import machine_lock

        with machine_lock():
            result = run(args.minutes, args.chaos, args.plan, args.out, **options)
    ledger = result["ledger"]
    print(
        f"soak: expected {ledger['expected']}, landed {ledger['landed']} ({ledger['landed_pct']} %), "
        f"errors {ledger['errors']} {ledger['errors_by_kind']}, unaccounted {ledger['unaccounted']}, "
        f"duplicates {ledger['duplicates']}, false errors {ledger['false_errors']}; "
        f"report {args.out / 'reliability.md'}",
        flush=True,
    )
    if result["violations"]:
        print(f"soak: FAILED: {', '.join(result['violations'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
