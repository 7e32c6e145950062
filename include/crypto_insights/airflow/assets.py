"""The Assets and connection ids that tie the DAGs together (one definition, imported by producer and consumer)."""

from airflow.sdk import Asset, AssetWatcher

from crypto_insights.airflow.triggers import LandedSlotTrigger

WAREHOUSE_CONN_ID = "crypto_warehouse"  # role crypto_loader: writes raw
TRANSFORM_CONN_ID = "crypto_transform"  # role crypto_transform: dbt

# Updated by each landed window (the ingest task's outlet).
RAW_ORDER_BOOKS = Asset(name="raw_coinbase_order_books", uri="crypto-insights://warehouse/raw/coinbase_book_snapshots")
# Updated by each landed slot: the triggerer watches the landing's notices (event-driven scheduling).
LANDED_SLOTS = Asset(
    name="raw_coinbase_landed_slots",
    uri="crypto-insights://warehouse/raw/landed_slots",
    watchers=[AssetWatcher(name="landed_slot_watcher", trigger=LandedSlotTrigger(warehouse_conn_id=WAREHOUSE_CONN_ID))],
)
MARTS = Asset(name="crypto_marts", uri="crypto-insights://warehouse/marts")
# Updated each time the data tests pass over the recent windows (crypto_data_tests).
MARTS_TESTED = Asset(name="crypto_marts_tested", uri="crypto-insights://warehouse/marts/tested")
