"""Landing: the project's COPY path (temp table + insert .. on conflict) against `psql \\copy` of the same rows."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta

import psycopg2

from bench.harness import isolated_home, offline_exchange
from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.coinbase.fetch import fetch_slot
from crypto_insights.config import load_settings
from crypto_insights.landing.batch import BOOK_COLUMNS, build_batch
from crypto_insights.landing.copy_writer import CopyWriter, copy_text
from crypto_insights.landing.migrations import migrate
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import EmbeddedPostgres


def run(slots: int = 60) -> dict:
    settings = load_settings()
    with offline_exchange() as url, isolated_home():
        import dataclasses

        client = CoinbaseClient(dataclasses.replace(settings.exchange, api_url=url))
        results = fetch_slot(client, settings.product_ids)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        batches = [build_batch(start + timedelta(seconds=10 * i), results, settings, "simulated") for i in range(slots)]
        loader = endpoint("loader")
        conn = psycopg2.connect(**loader.connect_kwargs())
        migrate(conn)
        conn.close()
        writer = CopyWriter(lambda: psycopg2.connect(**loader.connect_kwargs()))
        writer.write(batches[0])  # connection, partitions and temp tables warm
        began = time.perf_counter()
        for batch in batches[1:]:
            writer.write(batch)
        ours = time.perf_counter() - began
        writer.close()
        books = [row for batch in batches[1:] for row in batch.books]
        levels = sum(len(r["bids"]) + len(r["asks"]) + len(r["profile"]) for r in books)
        text = copy_text(books, BOOK_COLUMNS).read()
        psql = f"{EmbeddedPostgres().load_state().bindir}/psql"
        setup = "create table raw.copy_floor (like raw.coinbase_book_snapshots including defaults)"
        subprocess.run([psql, loader.url(), "-qc", setup], check=True)
        began = time.perf_counter()
        subprocess.run([psql, loader.url(), "-qc", f"\\copy raw.copy_floor ({', '.join(BOOK_COLUMNS)}) from stdin"],
                       input=text.encode(), check=True)
        floor = time.perf_counter() - began
    return {
        "slots": slots - 1, "snapshots": len(books), "level_rows": levels,
        "copy_path_snapshots_per_s": round(len(books) / ours), "copy_path_level_rows_per_s": round(levels / ours),
        "psql_copy_level_rows_per_s": round(levels / floor), "ratio_to_psql_copy": round(ours / floor, 2),
        "target": ">= 100k rows/s",
    }  # fmt: skip
