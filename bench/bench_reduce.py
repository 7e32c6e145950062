"""Edge reduction (docs/architecture.md#performance-targets): `json.loads` + `reduce_book` of full BTC-size books,
against a bare `json.loads` of the same bodies in the same run. Target: >= 500k levels/s, and parse + reduce within
3x the bare parse.

Two kinds of body: a synthetic BTC-like book made here (~22k levels per side around 77,500, 0.01 tick, sparse
levels, heavy-tailed sizes), and the offline exchange's BTC-USD book (`crypto_insights.exchange`, in process).

`python bench/bench_reduce.py` prints the numbers; `make bench` calls `run()` and writes them to docs/.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal

from crypto_insights.config import load_settings
from crypto_insights.landing.reduce import reduce_book

TARGET = ">= 500k levels/s and <= 3x json.loads"
BOT_SIZES = (2_000_000, 10_000_000, 50_000_000, 100_000_000, 10_000)  # 0.02, 0.1, 0.5, 1, 0.0001 BTC


def _plain(units: int, decimals: int) -> str:
    """`units` x 10^-decimals written as Coinbase does: no exponent, no padding zeros (`77580`, `0.0001`)."""
    whole, fraction = divmod(units, 10**decimals)
    fraction_text = f"{fraction:0{decimals}d}".rstrip("0")
    return f"{whole}.{fraction_text}" if fraction_text else str(whole)


def _size(rng: random.Random) -> int:
    """Heavy-tailed sizes in satoshis: lognormal bulk, repeated bot-ladder sizes, dust and a Pareto tail."""
    draw = rng.random()
    if draw < 0.15:
        return rng.choice(BOT_SIZES)
    if draw < 0.30:
        return rng.randint(1, 1_000)
    if draw < 0.40:
        return int(50_000_000 * rng.paretovariate(1.1))
    return max(1, int(rng.lognormvariate(15.4, 1.6)))  # median ~0.05 BTC


def synthetic_body(seed: int, levels_per_side: int = 22_000, mid: str = "77500") -> bytes:
    """A level-2 body shaped like Coinbase's BTC-USD one (~1 MB). The gap between levels grows away from the touch,
    so about a third of the levels sit within ±5 % of mid, as in the real book."""
    rng = random.Random(seed)
    mid_ticks = int(Decimal(mid) * 100) + rng.randint(-5_000, 5_000)
    sides = {}
    for name, sign, touch in (("bids", -1, mid_ticks), ("asks", 1, mid_ticks + 1)):
        rows, distance = [], 0
        for i in range(levels_per_side):
            price = touch + sign * distance
            if price <= 0:
                break
            size = _size(rng)
            rows.append(f'["{_plain(price, 2)}","{_plain(size, 8)}",{1 + int(rng.expovariate(0.7))}]')
            distance += 1 + int(rng.expovariate(1 / (4 + 0.015 * i)))
        sides[name] = "[" + ",".join(rows) + "]"
    tail = (
        f'"sequence":{rng.randrange(10**10, 10**11)},"auction_mode":false,"auction":null,'
        f'"time":"2026-09-02T12:00:{seed % 60:02d}.123456789Z"'
    )
    return f'{{"bids":{sides["bids"]},"asks":{sides["asks"]},{tail}}}'.encode()


def exchange_bodies(count: int, seed: int = 7) -> list[bytes]:
    """Consecutive BTC-USD level-2 bodies of the offline exchange, exactly as its HTTP server would send them."""
    from crypto_insights.exchange.market import GeneratedProduct

    product = GeneratedProduct(load_settings().symbol("BTC-USD"), seed)
    return [product.next_book(2).body() for _ in range(count)]


def _seconds(fn: Callable[[], object], clock: Callable[[], float]) -> float:
    started = clock()
    fn()
    return clock() - started


def measure(bodies: list[bytes], repeat: int = 7) -> dict:
    """Median over `repeat` rounds; each round times the bare parse and parse + reduce back to back."""
    settings = load_settings()
    ingest, orders = settings.ingest, settings.kpis.slippage_usd  # as the landing reduces: rows kept for slippage
    band, bps, top = Decimal(ingest.profile_band_pct), ingest.profile_bucket_bps, ingest.top_levels

    def parse_only() -> None:
        for body in bodies:
            json.loads(body)

    def parse_and_reduce() -> None:
        for body in bodies:
            book = json.loads(body)
            reduce_book(book["bids"], book["asks"], top_levels=top, band_pct=band, bucket_bps=bps, order_sizes=orders)
            del book  # freed before the next parse, as parse_only frees each result: the same memory reuse

    parse_and_reduce()  # warm
    gc.collect()
    wall: dict[str, list[float]] = {"parse": [], "reduce": []}
    cpu: dict[str, list[float]] = {"parse": [], "reduce": []}
    for _ in range(repeat):
        for key, fn in (("parse", parse_only), ("reduce", parse_and_reduce)):
            started_cpu = time.process_time()
            wall[key].append(_seconds(fn, time.perf_counter))
            cpu[key].append(time.process_time() - started_cpu)
    levels = sum(len(b["bids"]) + len(b["asks"]) for b in map(json.loads, bodies))
    floor, ours = statistics.median(wall["parse"]), statistics.median(wall["reduce"])
    ratios = sorted(r / p for p, r in zip(wall["parse"], wall["reduce"], strict=True))  # per round, back to back
    return {
        "books": len(bodies),
        "levels_per_book": levels // len(bodies),
        "body_kb": sum(map(len, bodies)) // len(bodies) // 1024,
        "json_loads_levels_per_s": round(levels / floor),
        "parse_reduce_levels_per_s": round(levels / ours),
        "ms_per_book": round(ours / len(bodies) * 1000, 1),
        "ratio_to_json_loads": round(ours / floor, 2),
        "ratio_per_round_min_max": f"{ratios[0]:.2f}–{ratios[-1]:.2f} over {len(ratios)} rounds",
        "ratio_cpu_time": round(statistics.median(cpu["reduce"]) / statistics.median(cpu["parse"]), 2),
    }


def run(books: int = 10, repeat: int = 7) -> dict:
    """`make bench`: the offline exchange's BTC-USD book, then the synthetic one, one flat table."""
    from bench.bench_dbt import OtherLoad, machine_lock

    exchange, synthetic = exchange_bodies(books), [synthetic_body(seed) for seed in range(books)]
    with machine_lock() as lock_note:
        others = OtherLoad()
        result = {f"exchange_{k}": v for k, v in measure(exchange, repeat).items()}
        result |= {f"synthetic_{k}": v for k, v in measure(synthetic, repeat).items()}
        load = others.report()
    return result | {"target": TARGET, "other_load": load, "lock": lock_note}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=10, help="bodies per round (default 10)")
    parser.add_argument("--repeat", type=int, default=7, help="rounds; the median is reported (default 7)")
    args = parser.parse_args(argv)
    print(f"edge reduction, {args.books} books x {args.repeat} rounds (median); target {TARGET}")
    print(
        f"{'book':10} {'levels':>7} {'KB':>5} {'json.loads lv/s':>16} {'parse+reduce lv/s':>18} "
        f"{'ms/book':>8} {'ratio':>6} {'cpu ratio':>9}"
    )
    sources = {
        "synthetic": lambda: [synthetic_body(seed) for seed in range(args.books)],
        "exchange": lambda: exchange_bodies(args.books),
    }
    for name, make in sources.items():
        try:
            bodies = make()
        except ImportError as exc:  # the offline exchange is optional here
            print(f"{name:10} skipped: {exc}")
            continue
        r = measure(bodies, args.repeat)
        print(
            f"{name:10} {r['levels_per_book']:>7} {r['body_kb']:>5} {r['json_loads_levels_per_s']:>16,} "
            f"{r['parse_reduce_levels_per_s']:>18,} {r['ms_per_book']:>8} {r['ratio_to_json_loads']:>6} "
            f"{r['ratio_cpu_time']:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
