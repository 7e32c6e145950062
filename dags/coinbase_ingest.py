"""
### Coinbase ingest

Lands an order-book and ticker snapshot of every configured product (`include/crypto_insights.yaml`) for every
10-second wall-clock slot into the `raw` schema of the warehouse.

Each run lands one window (30 s = 3 slots) with a **deferrable** operator: the trigger waits for each slot in the
triggerer, so no worker slot is held while waiting. Runs follow each other back to back (`@continuous`,
`max_active_runs=1`). A retried or duplicated slot changes nothing (`on conflict do nothing`); a slot that cannot
be fetched is recorded in `raw.coinbase_ingest_errors`; a slot the warehouse cannot take is spooled to disk and
landed on the next run. Each landed slot is announced to the `raw_coinbase_landed_slots` asset's watcher and each
landed window updates the `raw_coinbase_order_books` asset: either schedules `crypto_transform`.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag

from crypto_insights.airflow.assets import RAW_ORDER_BOOKS
from crypto_insights.airflow.operators import CoinbaseLandWindowOperator


@dag(
    schedule="@continuous",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=2),
    },
    tags=["coinbase", "ingest", "raw"],
    doc_md=__doc__,
)
def coinbase_ingest():
    CoinbaseLandWindowOperator(task_id="land_window", outlets=[RAW_ORDER_BOOKS])


coinbase_ingest()
