"""The Assets and connection ids that tie the DAGs together (one definition, imported by producer and consumer)."""

from airflow.sdk import Asset

RAW_ORDER_BOOKS = Asset(name="raw_coinbase_order_books", uri="crypto-insights://warehouse/raw/coinbase_book_snapshots")
MARTS = Asset(name="crypto_marts", uri="crypto-insights://warehouse/marts")
WAREHOUSE_CONN_ID = "crypto_warehouse"  # role crypto_loader: writes raw
TRANSFORM_CONN_ID = "crypto_transform"  # role crypto_transform: dbt
