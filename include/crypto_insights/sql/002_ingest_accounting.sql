-- Ingest accounting: every (product, slot, endpoint) ends as a landed row or as an error row with its reason.
-- See docs/architecture.md#ingest-accounting. Applied by `crypto_insights.landing.migrations` as crypto_loader.

-- How far the gap sweep (`crypto_insights.landing.accounting`) has accounted each product's slots: every slot up to
-- `accounted_through` is landed or recorded. Slots between windows (Airflow down, a task retried) are found here.
create table if not exists raw.coinbase_ingest_watermarks (
    product_id text primary key,
    accounted_through timestamptz not null,
    updated_at timestamptz not null default now()
);

-- Error rows are looked up by product and slot when a landing supersedes them.
create index if not exists coinbase_ingest_errors_kind on raw.coinbase_ingest_errors (error_kind, slot_at);
