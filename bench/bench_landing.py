"""Landing: the project's COPY path (temp table + insert .. on conflict) against `psql \\copy` of the same rows."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta

import psycopg2

from bench.bench_dbt import OtherLoad, machine_lock
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
        books = [row for batch in batches[1:] for row in batch.books]
        text = copy_text(books, BOOK_COLUMNS).read()
        psql = f"{EmbeddedPostgres().load_state().bindir}/psql"
        # the floor: a plain table with the same columns, primary key and indexes as one of raw's partitions
        setup = "create table raw.copy_floor (like raw.coinbase_book_snapshots including all)"
        subprocess.run([psql, loader.url(), "-qc", setup], check=True)
        with machine_lock() as lock_note:
            others = OtherLoad()
            began = time.perf_counter()
            for batch in batches[1:]:
                writer.write(batch)
            ours = time.perf_counter() - began
            began = time.perf_counter()
            subprocess.run(
                [psql, loader.url(), "-qc", f"\\copy raw.copy_floor ({', '.join(BOOK_COLUMNS)}) from stdin"],
                input=text.encode(),
                check=True,
            )
            floor = time.perf_counter() - began
            load = others.report()
        writer.close()
        conn = psycopg2.connect(**loader.connect_kwargs())
        with conn, conn.cursor() as cur:  # what landed, counted in the real raw table
            cur.execute(
                "select count(*), sum(jsonb_array_length(bids) + jsonb_array_length(asks) "
                "+ jsonb_array_length(profile)) from raw.coinbase_book_snapshots where slot_at > %s",
                (start,),
            )
            snapshots, levels = cur.fetchone()
        conn.close()
    return {
        "slots": slots - 1,
        "snapshots": snapshots,
        "level_rows": int(levels),
        "copy_path_snapshots_per_s": round(snapshots / ours),
        "copy_path_level_rows_per_s": round(levels / ours),
        "psql_copy_level_rows_per_s": round(levels / floor),
        "ratio_to_psql_copy": round(ours / floor, 2),
        "other_load": load,
        "lock": lock_note,
        "target": ">= 100k rows/s",
    }
