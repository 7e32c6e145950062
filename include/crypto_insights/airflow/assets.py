"""The Assets that tie the DAGs together (one definition, imported by producer and consumer)."""

from airflow.sdk import Asset

RAW_ORDER_BOOKS = Asset(name="raw_coinbase_order_books", uri="crypto-insights://warehouse/raw/coinbase_book_snapshots")
WAREHOUSE_CONN_ID = "crypto_warehouse"
