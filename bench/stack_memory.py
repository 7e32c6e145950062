"""The memory and CPU of the running demo stack, read from /proc: every process the demo started, with its children.

PSS (proportional set size, /proc/<pid>/smaps_rollup) is summed rather than RSS: PostgreSQL's backends and
gunicorn's forked workers share pages, and RSS would count those once per process (RSS is reported too).
CPU is user + system time of each component's living processes plus what they reaped (cutime, cstime), so the
short-lived Airflow task processes and dbt runs are counted in the scheduler that forked them.
"""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from pathlib import Path

from crypto_insights.paths import local_dir

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks: utime + stime + cutime + cstime) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return found


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in KiB; (0, 0) for a process that is gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def _marked_programs(home: Path) -> dict[int, str]:
    """pid -> program of every process carrying this home's marker (crypto_insights.stack.process_marks)."""
    from crypto_insights.stack.process_marks import MARKER_ENV, PROC

    prefix, suffix = f"{MARKER_ENV}=".encode(), f"@{home.resolve()}".encode()
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            items = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in items:
            if item.startswith(prefix) and item.endswith(suffix):
                found[int(entry.name)] = item[len(prefix) : -len(suffix)].decode(errors="replace")
                break
    return found


def demo_roots(home: Path | None = None) -> dict[str, int]:
    """Component name -> root pid: each supervised program's main process (a marked process whose parent is not
    of the same program; supervisord starts them), and the PostgreSQL postmaster."""
    home = home or local_dir()
    programs, processes = _marked_programs(home), _processes()
    roots: dict[str, int] = {}
    for pid, program in sorted(programs.items()):
        parent = processes.get(pid, (0, 0))[0]
        if programs.get(parent) != program and program not in roots:
            roots[program] = pid
    for postmaster in (home / "postgres").glob("**/postmaster.pid"):
        try:
            pid = int(postmaster.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if Path(f"/proc/{pid}").exists():
            roots["postgres"] = pid
    return roots


def stack_sample(home: Path | None = None) -> dict[str, dict[str, float]]:
    """Component -> {pss_mib, rss_mib, cpu_s (cumulative), processes}, and "total" over all components."""
    processes = _processes()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in processes.items():
        children[ppid].append(pid)
    result: dict[str, dict[str, float]] = {}
    for name, root in demo_roots(home).items():
        pids = _tree(root, children)
        kib = [_kib(pid) for pid in pids]
        result[name] = {
            "pss_mib": sum(p for p, _ in kib) / 1024,
            "rss_mib": sum(r for _, r in kib) / 1024,
            "cpu_s": sum(processes.get(pid, (0, 0))[1] for pid in pids) / CLOCK_TICKS,
            "processes": len(pids),
        }
    keys = ("pss_mib", "rss_mib", "cpu_s", "processes")
    result["total"] = {key: sum(c[key] for c in result.values()) for key in keys}
    return result


def stack_memory_mib() -> dict[str, float]:
    """PSS and RSS in MiB per component and in total (the flat form of `stack_sample`)."""
    sample = stack_sample()
    flat = {f"{name}_pss_mib": round(s["pss_mib"], 1) for name, s in sample.items() if name != "total"}
    flat["total_pss_mib"] = round(sample["total"]["pss_mib"], 1)
    flat["total_rss_mib"] = round(sample["total"]["rss_mib"], 1)
    return flat


def summarize(samples: list[tuple[float, dict[str, dict[str, float]]]], steady_s: float = 300) -> dict[str, object]:
    """Steady state (medians over the last `steady_s` seconds) and peaks of (monotonic time, stack_sample) pairs.

    CPU is the mean over the steady span, in cores (1.0 = one core busy), from the first to the last sample of the
    span, per component only while its root lived through the whole span.
    """
    if not samples:
        return {}
    end = samples[-1][0]
    steady = [(t, s) for t, s in samples if t >= end - steady_s] or samples[-1:]
    names = sorted({name for _, s in steady for name in s if name != "total"})
    out: dict[str, object] = {
        "samples": len(samples),
        "steady_span_s": round(steady[-1][0] - steady[0][0]),
        "total_pss_steady_mib": round(statistics.median(s["total"]["pss_mib"] for _, s in steady)),
        "total_rss_steady_mib": round(statistics.median(s["total"]["rss_mib"] for _, s in steady)),
        "total_pss_peak_mib": round(max(s["total"]["pss_mib"] for _, s in samples)),
        "total_rss_peak_mib": round(max(s["total"]["rss_mib"] for _, s in samples)),
    }
    span = steady[-1][0] - steady[0][0]
    per_component = {}
    for name in names:
        present = [s[name] for _, s in steady if name in s]
        entry = {
            "pss_mib": round(statistics.median(p["pss_mib"] for p in present)),
            "rss_mib": round(statistics.median(p["rss_mib"] for p in present)),
        }
        if span > 0 and name in steady[0][1] and name in steady[-1][1]:
            entry["cpu_cores"] = round((steady[-1][1][name]["cpu_s"] - steady[0][1][name]["cpu_s"]) / span, 3)
        per_component[name] = entry
    out["per_component"] = per_component
    if span > 0:
        out["total_cpu_steady_cores"] = round(sum(c.get("cpu_cores", 0.0) for c in per_component.values()), 2)
    return out
