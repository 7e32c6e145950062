"""Landing: the project's COPY path (temp table + insert .. on conflict) against `psql \\copy` of the same rows; and
what a landed book costs in bytes, with the rows kept for exact slippage and with the top levels only."""

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
        # the same books reduced with no order to fill: the top levels only, as before exact slippage
        top_only = dataclasses.replace(settings, kpis=dataclasses.replace(settings.kpis, slippage_usd=()))
        top_books = [row for row in build_batch(start, results, top_only, "simulated").books]
        setup = "create table raw.top_levels_only (like raw.coinbase_book_snapshots including all)"
        subprocess.run([psql, loader.url(), "-qc", setup], check=True)
        subprocess.run(
            [psql, loader.url(), "-qc", f"\\copy raw.top_levels_only ({', '.join(BOOK_COLUMNS)}) from stdin"],
            input=copy_text(top_books, BOOK_COLUMNS).read().encode(),
            check=True,
        )
        conn = psycopg2.connect(**loader.connect_kwargs())
        with conn, conn.cursor() as cur:  # what landed, counted in the real raw table
            cur.execute(
                "select count(*), sum(jsonb_array_length(bids) + jsonb_array_length(asks) "
                "+ jsonb_array_length(profile)) from raw.coinbase_book_snapshots where slot_at > %s",
                (start,),
            )
            snapshots, levels = cur.fetchone()
            sizes = {}
            for name, table in (
                ("kept_for_slippage", "coinbase_book_snapshots"),
                ("top_levels_only", "top_levels_only"),
            ):
                cur.execute(
                    # stored sizes (compressed, as on disk) of the columns a book fills; the rest is ~200 bytes
                    "select avg(pg_column_size(bids) + pg_column_size(asks) + pg_column_size(profile)), "
                    f"avg(bid_levels_kept + ask_levels_kept) from raw.{table} "
                    "where slot_at = %s",
                    (start,),
                )
                sizes[name] = cur.fetchone()
        conn.close()
    slots_per_day = 86400 // settings.ingest.slot_seconds
    costs = {f"book_json_bytes_{name}": round(float(row_bytes)) for name, (row_bytes, _) in sizes.items()} | {
        f"kept_rows_per_book_{name}": round(float(rows), 1) for name, (_, rows) in sizes.items()
    }
    costs |= {
        f"raw_book_mib_per_coin_day_{name}": round(float(row_bytes) * slots_per_day / 2**20, 1)
        for name, (row_bytes, _) in sizes.items()
    }
    return {
        "slots": slots - 1,
        "snapshots": snapshots,
        "level_rows": int(levels),
        "copy_path_snapshots_per_s": round(snapshots / ours),
        "copy_path_level_rows_per_s": round(levels / ours),
        "psql_copy_level_rows_per_s": round(levels / floor),
        "ratio_to_psql_copy": round(ours / floor, 2),
        **costs,
        "other_load": load,
        "lock": lock_note,
        "target": ">= 100k rows/s",
    }
