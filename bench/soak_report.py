"""Figures derived from the soak's samples, and the report: docs/reliability.json, docs/reliability.md, plots.

- catch-up: after each fault, the seconds from its end until the marts show the first 30 s window that started
  after it ended (in steady state that takes one window plus the landing and dbt: ~45-75 s);
- memory: each program's PSS and RSS (median, peak) and the slope of its PSS per hour, fitted by least squares over
  the longest stretch one process lived (a restart resets memory, and would hide or fake a leak);
- disk: growth per day of each schema and database, and of the log folders, extrapolated linearly from the run.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WINDOW_S = 30
MIB = 1024 * 1024


def _floor_window(ts: datetime) -> datetime:
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % WINDOW_S, UTC)


def catch_up_s(end: datetime, end_s: float, polls: list[tuple[float, datetime | None]]) -> float | None:
    """Seconds after `end` (at `end_s` into the run) until the newest mart window started after the fault ended."""
    wanted = _floor_window(end) + timedelta(seconds=WINDOW_S)
    for t_s, newest in polls:
        if t_s >= end_s and newest is not None and newest >= wanted:
            return round(t_s - end_s, 1)
    return None


def mart_lag(polls: list[tuple[float, datetime | None]], start: datetime) -> list[tuple[float, float | None]]:
    """(seconds into the run, seconds from the newest mart window's start to the poll) per poll."""
    return [
        (t_s, (start + timedelta(seconds=t_s) - newest).total_seconds() if newest else None) for t_s, newest in polls
    ]


def quiet_lag_median_s(lag: list[tuple[float, float | None]], faults: list[dict[str, Any]]) -> float | None:
    """The marts' median lag away from faults (none started in the last 3 minutes, none in progress)."""
    quiet = [
        v
        for t, v in lag
        if v is not None and all(not f["start_s"] - 10 <= t <= (f["end_s"] or f["start_s"]) + 180 for f in faults)
    ]
    return round(statistics.median(quiet), 1) if quiet else None


MIN_SLOPE_SPAN_S = 600  # over less, the coming and going of task processes outweighs any trend


def _slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3 or points[-1][0] - points[0][0] < MIN_SLOPE_SPAN_S:
        return None
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    denominator = sum((t - mean_t) ** 2 for t, _ in points)
    slope_per_s = sum((t - mean_t) * (v - mean_v) for t, v in points) / denominator
    return round(slope_per_s * 3600, 1)


def memory_figures(samples: list[tuple[float, dict[str, dict[str, float]]]]) -> dict[str, dict[str, Any]]:
    names = sorted({name for _, sample in samples for name in sample})
    figures = {}
    for name in names:
        series = [(t, s[name]) for t, s in samples if name in s]
        stretches: dict[int, list[tuple[float, float]]] = {}
        for t, entry in series:
            stretches.setdefault(int(entry["pid"]), []).append((t, entry["pss_mib"]))
        longest = max(stretches.values(), key=lambda points: points[-1][0] - points[0][0])
        figures[name] = {
            "pss_median_mib": round(statistics.median(e["pss_mib"] for _, e in series)),
            "pss_peak_mib": round(max(e["pss_mib"] for _, e in series)),
            "rss_median_mib": round(statistics.median(e["rss_mib"] for _, e in series)),
            "rss_peak_mib": round(max(e["rss_mib"] for _, e in series)),
            "pss_slope_mib_per_h": _slope_per_hour(longest),
            "slope_over_min": round((longest[-1][0] - longest[0][0]) / 60, 1),
            "processes_seen": len(stretches),
        }
    return figures


def growth_per_day(first: tuple[float, dict[str, int]], last: tuple[float, dict[str, int]]) -> dict[str, Any]:
    """MiB per day of each key, from two (seconds into the run, {key: bytes}) samples."""
    span = last[0] - first[0]
    if span <= 0:
        return {}
    return {
        key: {
            "start_mib": round(first[1].get(key, 0) / MIB, 1),
            "end_mib": round(size / MIB, 1),
            "mib_per_day": round((size - first[1].get(key, 0)) / MIB / span * 86400, 1),
        }
        for key, size in sorted(last[1].items())
    }


# -- output ---------------------------------------------------------------------------------------------------


def write_json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _quiet(result: dict[str, Any]) -> str:
    lag = result["marts"]["quiet_lag_median_s"]
    if lag is None:
        return "(No stretch of the run was far enough from a fault to measure the marts' usual lag.)"
    return (
        f"Away from faults the marts lag {lag} s (median, from a window's start to seeing it), so a catch-up "
        "of about that is no delay at all."
    )


def render_markdown(result: dict[str, Any], images: dict[str, str]) -> str:
    ledger, run = result["ledger"], result["run"]
    ok = "**held**" if not result["violations"] else f"**broken**: {', '.join(result['violations'])}"
    lines = [
        "# Reliability: the soak",
        "",
        f"_{run['started']} UTC, {run['minutes']} min, {run['coins']} coins, exchange chaos "
        f"{100 * run['chaos']:g} %, plan `{run['plan']}`, {run['stack']}; `make soak` (bench/soak.py)._",
        "",
        "The whole demo stack on its own home and ports, with the offline exchange faulting a share of the book "
        "and ticker requests (429 with short and longer-than-a-slot Retry-After, 5xx, delays past the read "
        "timeout, TCP resets, truncated and HTML bodies, schema drift, crossed books, negative sizes) while "
        "PostgreSQL, Airflow's programs and the exchange are stopped or killed on a schedule, nobody touching "
        "anything. Then the gap sweep runs up to one minute before the end, and every (product, slot, endpoint) "
        "of the run's slots must be landed or recorded with its reason: nothing lost, nothing twice, no error "
        f"for what landed. Promise {ok}.",
        "",
        "## Ledger",
        "",
        "| figure | value |",
        "|---|---|",
        f"| slot range | {ledger['first_slot']} .. {ledger['last_slot']} ({ledger['slots']} slots) |",
        f"| expected (product, slot, endpoint) = products × slots × 2 | {ledger['expected']} |",
        f"| landed | {ledger['landed']} ({ledger['landed_pct']} %): {ledger['books']} books, "
        f"{ledger['tickers']} tickers |",
        f"| recorded errors | {ledger['errors']} |",
        f"| **unaccounted** (must be 0) | **{ledger['unaccounted']}** |",
        f"| duplicates (must be 0) | {ledger['duplicates']} |",
        f"| false error rows: an error where the row landed (must be 0) | {ledger['false_errors']} |",
        f"| stray rows (off the slot grid or an unknown product) | {ledger['stray']} |",
        f"| spooled and landed later (landed_at − received_at > 30 s) | {ledger['spooled_then_landed']} |",
        f"| missed slots recorded by the final gap sweep | {ledger['swept_at_end']} |",
        f"| trade tape: prints landed | {ledger.get('prints_landed', '—')} |",
        f"| trade tape: ids given up as recorded ranges (too old for the backfill budget) | "
        f"{ledger.get('trade_ids_given_up', '—')} in {ledger.get('trade_ranges_given_up', '—')} range(s) |",
        f"| **trade ids unaccounted**: neither landed nor in a recorded range (must be 0) | "
        f"**{ledger.get('trade_ids_unaccounted', '—')}** |",
        f"| prints landed inside a range recorded as given up (must be 0) | "
        f"{ledger.get('prints_inside_given_up_ranges', '—')} |",
        f"| exchange: requests faulted / market-data requests | {result['exchange'].get('faulted', '?')} / "
        f"{result['exchange'].get('market_requests', '?')} ({result['exchange'].get('faulted_pct', '?')} %) |",
        "",
        "Recorded errors by kind (book / ticker):",
        "",
        "| error kind | book | ticker |",
        "|---|---|---|",
    ]
    for kind, by_endpoint in sorted(ledger["errors_by_kind"].items()):
        lines.append(f"| {kind} | {by_endpoint.get('book', 0)} | {by_endpoint.get('ticker', 0)} |")
    if ledger.get("other_endpoints_errors_by_kind"):
        lines += [
            "",
            "Error rows of endpoints the ledger does not judge: "
            + ", ".join(
                f"{endpoint} {kind} {n}"
                for kind, by_endpoint in sorted(ledger["other_endpoints_errors_by_kind"].items())
                for endpoint, n in sorted(by_endpoint.items())
            )
            + ".",
        ]
    lines += [
        "",
        "## Fault timeline",
        "",
        "Times are minutes:seconds from the start of the measured run. Catch-up: from the end of the fault "
        "until the marts show the first 30 s window that began after it. " + _quiet(result),
        "",
        "| at | fault | ended | supervisord had it RUNNING again after | marts caught up after |",
        "|---|---|---|---|---|",
    ]
    for fault in result["faults"]:
        back = f"{fault['back_after_s']} s" if fault.get("back_after_s") is not None else "—"
        caught = f"{fault['caught_up_s']} s" if fault["caught_up_s"] is not None else "not within the run"
        lines.append(f"| {clock(fault['start_s'])} | {fault['label']} | {clock(fault['end_s'])} | {back} | {caught} |")
    lines += ["", "Everything else that happened (supervisord restarts, states other than RUNNING):", ""]
    lines += [f"- {clock(e['t_s'])} {e['event']}" for e in result["timeline"]] or ["- nothing"]
    lines += [
        "",
        "## Memory",
        "",
        f"Sampled every {run['memory_every_s']} s over each program's process tree (PSS: shared pages "
        "split between the processes sharing them). Slope: least squares over the longest stretch one "
        "process lived, if that was at least 10 minutes.",
        "",
        "| program | PSS median MiB | PSS peak | RSS median | RSS peak | PSS slope MiB/h (over min) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in result["memory"].items():
        slope = "—" if m["pss_slope_mib_per_h"] is None else f"{m['pss_slope_mib_per_h']:+}"
        lines.append(
            f"| {name} | {m['pss_median_mib']} | {m['pss_peak_mib']} | {m['rss_median_mib']} | "
            f"{m['rss_peak_mib']} | {slope} ({m['slope_over_min']}) |"
        )
    lines += [
        "",
        "## Disk",
        "",
        "Growth extrapolated to a day from the run (raw keeps "
        f"{run['retention_days']} days of partitions, so raw levels off after that).",
        "",
        "| schema / database / folder | at start MiB | at end MiB | growth MiB/day |",
        "|---|---|---|---|",
    ]
    for key, d in result["disk"].items():
        lines.append(f"| {key} | {d['start_mib']} | {d['end_mib']} | {d['mib_per_day']} |")
    if images:
        lines += ["", "## Plots", ""] + [f"![{name}]({path})" for name, path in images.items()]
    return "\n".join(lines) + "\n"


def plot(
    result: dict[str, Any],
    lag: list[tuple[float, float | None]],
    memory: list[tuple[float, dict[str, dict[str, float]]]],
    folder: Path,
) -> dict[str, str]:
    """The marts' lag with the faults shaded, and each program's PSS; {title: path relative to the report}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot([t / 60 for t, v in lag if v is not None], [v for _, v in lag if v is not None], lw=1)
    for fault in result["faults"]:
        end = max(fault["end_s"], fault["start_s"] + 5)
        ax.axvspan(fault["start_s"] / 60, end / 60, color="tab:red", alpha=0.25)
        ax.annotate(
            fault["label"],
            (fault["start_s"] / 60, ax.get_ylim()[1] * 0.95 if ax.get_ylim()[1] else 1),
            rotation=90,
            fontsize=7,
            va="top",
        )
    ax.set(xlabel="minutes", ylabel="s since the newest mart window began", title="Marts lag under faults")
    fig.tight_layout()
    fig.savefig(folder / "reliability_marts_lag.png", dpi=110)
    plt.close(fig)
    written["marts lag"] = f"images/{(folder / 'reliability_marts_lag.png').name}"
    fig, ax = plt.subplots(figsize=(11, 4))
    for name in sorted({n for _, s in memory for n in s}):
        points = [(t / 60, s[name]["pss_mib"]) for t, s in memory if name in s]
        ax.plot([p[0] for p in points], [p[1] for p in points], lw=1, label=name)
    ax.set(xlabel="minutes", ylabel="PSS MiB", title="Memory per program")
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(folder / "reliability_memory.png", dpi=110)
    plt.close(fig)
    written["memory"] = "images/reliability_memory.png"
    return written
