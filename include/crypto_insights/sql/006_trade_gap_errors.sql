-- One slot of one product may give up more than one range of prints (two gaps closed by the same slot, or a
-- fetch error and a range): each range is its own error row. Every other error stays one per product, slot and
-- endpoint (its first_trade_id is null, and nulls are not distinct here).
alter table raw.coinbase_ingest_errors drop constraint if exists coinbase_ingest_errors_pkey;
alter table raw.coinbase_ingest_errors drop constraint if exists coinbase_ingest_errors_one_per_fetch;
alter table raw.coinbase_ingest_errors
    add constraint coinbase_ingest_errors_one_per_fetch
    unique nulls not distinct (product_id, slot_at, endpoint, first_trade_id);
