-- The trade tape: every print of every configured product, landed once, by trade id.
-- See docs/architecture.md#trades. Applied by `crypto_insights.landing.migrations` as crypto_loader.

create table if not exists raw.coinbase_trades (
    -- ids
    product_id text not null,
    trade_id bigint not null,
    source text not null check (source in ('coinbase', 'simulated')),
    -- as received (strings; `side` is the maker's side: a 'sell' print was taken by a buyer)
    side text,
    price text,
    size text,
    _rescued_data jsonb,
    -- timestamps
    exchange_time text not null,       -- as received
    traded_at timestamptz not null,    -- parsed from exchange_time: the partition key
    slot_at timestamptz not null,      -- the slot whose landing fetched the print
    received_at timestamptz not null,
    landed_at timestamptz not null default now(),
    primary key (product_id, traded_at, trade_id)
) partition by range (traded_at);

-- Landing is idempotent on (product_id, trade_id) through this index; the newest landed id is read from it.
create index if not exists coinbase_trades_product_trade_id on raw.coinbase_trades (product_id, trade_id);

-- Trade-id ranges not landed yet (the pipeline or the exchange was down): (down_to_id, after_id), both exclusive.
-- Each slot pages back from `after_id` within its page budget until the range is closed or given up.
create table if not exists raw.coinbase_trade_gaps (
    product_id text not null,
    after_id bigint not null,          -- the oldest id landed above the gap: page with after=<after_id>
    down_to_id bigint not null,        -- the newest id landed below the gap
    opened_at timestamptz not null default now(),
    primary key (product_id, after_id),
    check (down_to_id < after_id)
);

-- Errors now also name the trades endpoint, and a range of trade ids given up on.
alter table raw.coinbase_ingest_errors drop constraint if exists coinbase_ingest_errors_endpoint_check;
alter table raw.coinbase_ingest_errors
    add constraint coinbase_ingest_errors_endpoint_check check (endpoint in ('book', 'ticker', 'trades'));
alter table raw.coinbase_ingest_errors add column if not exists first_trade_id bigint;
alter table raw.coinbase_ingest_errors add column if not exists last_trade_id bigint;
