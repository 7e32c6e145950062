"""Edge reduction: full BTC-size books parsed and reduced, against a bare `json.loads` of the same bodies."""

from __future__ import annotations

import json
from decimal import Decimal

from bench.harness import fetch_bodies, median_seconds, offline_exchange
from crypto_insights.config import load_settings
from crypto_insights.landing.reduce import reduce_book


def run(books: int = 10, repeat: int = 5) -> dict:
    ingest = load_settings().ingest
    with offline_exchange() as url:
        bodies = fetch_bodies(url, "BTC-USD", books)
    levels = [len(b["bids"]) + len(b["asks"]) for b in map(json.loads, bodies)]

    def parse_only() -> None:
        for body in bodies:
            json.loads(body)

    def parse_and_reduce() -> None:
        for body in bodies:
            book = json.loads(body)
            reduce_book(book["bids"], book["asks"], top_levels=ingest.top_levels,
                        band_pct=Decimal(ingest.profile_band_pct), bucket_bps=ingest.profile_bucket_bps)

    floor = median_seconds(parse_only, repeat)
    ours = median_seconds(parse_and_reduce, repeat)
    total = sum(levels)
    return {
        "books": books, "levels_per_book": total // books, "body_kb": sum(map(len, bodies)) // books // 1024,
        "json_loads_levels_per_s": round(total / floor), "parse_reduce_levels_per_s": round(total / ours),
        "ms_per_book": round(ours / books * 1000, 1), "ratio_to_json_loads": round(ours / floor, 2),
        "target": ">= 500k levels/s and <= 3x json.loads",
    }  # fmt: skip
