"""`make bench [BENCH_ARGS="reduce landing trades history freshness scaling"]`: run them, write docs/benchmarks.md.

Results are kept per section in docs/benchmarks.json, so running one benchmark updates its sections and keeps the
others; the markdown is rendered from all of them. `history` (the dbt micro-batch and the storage by layer over
0, 1, 7 and 30 days of generated history, then the dashboard queries over the 30 days, ~40 min; `dbt` or
`dashboards` run one of the two)
and `freshness` (the live demo for 30 minutes) take the longest.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from crypto_insights.paths import REPO_ROOT

RESULTS = REPO_ROOT / "docs" / "benchmarks.json"
MARKDOWN = REPO_ROOT / "docs" / "benchmarks.md"
PLOTS = {"dbt micro-batch": "images/bench_dbt_microbatch.png", "scaling with coins": "images/bench_scaling.png"}


def _benchmarks() -> dict[str, tuple[str, Callable[[], dict]]]:
    from bench import bench_dbt, bench_freshness, bench_landing, bench_reduce, bench_scaling, bench_trades

    return {
        "reduce": ("edge reduction", bench_reduce.run),
        "landing": ("landing", bench_landing.run),
        "trades": ("", bench_trades.run),  # sections "trades landing" and "trades cost"
        "history": ("", bench_dbt.run),  # both below over one generated history; returns its sections
        "dbt": ("", partial(bench_dbt.run, dashboards=False)),  # the micro-batch at 0, 1, 7 and 30 days only
        "dashboards": ("", partial(bench_dbt.run, micro_batches=False)),  # 30 days, then the chart queries only
        "freshness": ("freshness and footprint", bench_freshness.run),
        "scaling": ("", bench_scaling.run),  # landing and the micro-batch at 5, 10, 20 and 40 coins
    }


def machine() -> str:
    """This machine, measured: architecture, CPython, cores and memory."""
    memory_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    return (
        f"{platform.machine()}, CPython {platform.python_version()}, {os.cpu_count()} cores, "
        f"{memory_kib / 1024**2:.0f} GB"
    )


def render(results: dict[str, dict]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`python -m bench [reduce|landing|trades|history|dbt|dashboards|freshness|"
        f"scaling]`) on this project's development machine ({machine()}). Each section says when it ran; timings "
        "are medians unless named p95; ratios are against a floor measured in the same run. Targets: "
        "[architecture.md](architecture.md#performance-targets).",
        "",
    ]
    for name, result in results.items():
        measured = result.get("measured_on", "")
        lines += [f"## {name}", "", f"_{measured}_" if measured else "", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in result.items() if k != "measured_on"]
        if name in PLOTS:
            lines += ["", f"![{name}]({PLOTS[name]})"]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    benchmarks = _benchmarks()
    chosen = argv or [name for name in benchmarks if name not in ("dbt", "dashboards")]  # `history` runs both
    unknown = [name for name in chosen if name not in benchmarks]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(benchmarks)}", file=sys.stderr)
        return 2
    for key in chosen:
        section, run = benchmarks[key]
        print(f"running {key} ...", flush=True)
        answer = run()
        sections = answer if not section else {section: answer}
        measured = {
            name: {"measured_on": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", **result}
            for name, result in sections.items()
        }
        print(json.dumps(measured, indent=2, default=str), flush=True)
        # read just before writing: a benchmark running meanwhile in another process may have added its sections
        results = (json.loads(RESULTS.read_text()) if RESULTS.exists() else {}) | measured
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
        MARKDOWN.write_text(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
