-- Raw (bronze) layer: what the exchange sent, one row per product per 10 s slot, partitioned by day.
-- Applied by `crypto_insights.landing.migrations` as crypto_loader (the owner of schema raw).

create table if not exists raw.coinbase_book_snapshots (
    -- ids
    product_id text not null,
    slot_at timestamptz not null,
    source text not null check (source in ('coinbase', 'simulated')),
    sequence bigint not null,
    -- the book as received: top levels verbatim ([price, size, num_orders] strings) ...
    bids jsonb not null,
    asks jsonb not null,
    -- ... and the edge reduction of the whole book (docs/architecture.md#edge-reduction): a profile of +/-band
    -- around mid in buckets
    profile_mid numeric not null,
    profile_band_pct numeric not null,
    profile_bucket_bps integer not null,
    profile jsonb not null,            -- [[side, bucket, size, notional, level_count], ...], numbers as strings
    bid_levels_total integer not null,
    ask_levels_total integer not null,
    bid_levels_kept integer not null,
    ask_levels_kept integer not null,
    bid_levels_excluded integer not null,  -- rows whose price/size is not a positive number (kept in bids/asks)
    ask_levels_excluded integer not null,
    bid_size_total numeric not null,
    ask_size_total numeric not null,
    is_crossed boolean not null,
    auction_mode boolean,
    body_bytes integer,
    _rescued_data jsonb,               -- unknown top-level fields (schema drift)
    -- timestamps
    exchange_time text not null,       -- as received (ISO-8601, nanoseconds)
    requested_at timestamptz not null,
    received_at timestamptz not null,
    landed_at timestamptz not null default now(),
    primary key (product_id, slot_at)
) partition by range (slot_at);

create table if not exists raw.coinbase_tickers (
    -- ids
    product_id text not null,
    slot_at timestamptz not null,
    source text not null check (source in ('coinbase', 'simulated')),
    trade_id bigint not null,
    -- as received (strings)
    price text not null,
    size text not null,
    bid text not null,
    ask text not null,
    volume text not null,
    rfq_volume text,
    conversions_volume text,
    _rescued_data jsonb,
    -- timestamps
    exchange_time text not null,
    requested_at timestamptz not null,
    received_at timestamptz not null,
    landed_at timestamptz not null default now(),
    primary key (product_id, slot_at)
) partition by range (slot_at);

-- Every fetch that did not land: unreachable exchange, HTTP errors, malformed or invalid payloads, late slots.
-- Counted by the data-quality marts; one row per product, slot and endpoint.
create table if not exists raw.coinbase_ingest_errors (
    product_id text not null,
    slot_at timestamptz not null,
    endpoint text not null check (endpoint in ('book', 'ticker')),
    source text not null check (source in ('coinbase', 'simulated')),
    error_kind text not null,
    reason text not null,
    http_status integer,
    attempts integer,
    body_excerpt text,
    occurred_at timestamptz not null default now(),
    primary key (product_id, slot_at, endpoint)
);

create index if not exists coinbase_ingest_errors_slot_at on raw.coinbase_ingest_errors (slot_at);
