"""`make bench`: run the benchmarks and write their results to docs/benchmarks.md."""

from __future__ import annotations

import json
import logging
import platform
import sys
from datetime import UTC, datetime

from bench import bench_landing, bench_reduce
from crypto_insights.paths import REPO_ROOT

BENCHMARKS = {"edge reduction": bench_reduce.run, "landing": bench_landing.run}


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    results = {}
    for name, run in BENCHMARKS.items():
        print(f"running {name} ...", flush=True)
        results[name] = run()
        print(json.dumps(results[name], indent=2), flush=True)
    lines = [
        "# Benchmarks", "",
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, 2 cores). Each row is a median; "
        "each ratio is against a floor measured in the same run.", "",
    ]  # fmt: skip
    for name, result in results.items():
        lines += [f"## {name}", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in result.items()]
        lines.append("")
    (REPO_ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
