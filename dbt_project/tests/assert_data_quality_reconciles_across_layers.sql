{%- set start = recent_start() -%}
{%- set until = settled_until([ref('stg_coinbase__book_levels'), ref('stg_coinbase__book_buckets'),
    ref('int_book_snapshots_measured')]) -%}
{%- set window_seconds = setting('window_seconds') -%}
{#- prints land within the slot that fetched them, in their own transactions: the trade entities are compared only in
    windows that ended a minute before this dbt run started, when every print of theirs was committed -#}
{%- set trades_until = floor_timestamp(timestamp_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S+00'))
    ~ " - interval '60 seconds'", window_seconds) -%}

-- fct_data_quality (what the dashboards show) against the layers around it, per recent window, product and entity:
--   rows_checked          the same on every rule of the entity, and = the rows in raw (levels and buckets: the
--                         elements of the configured products' JSON arrays);
--   rows_kept             rows_checked - the rows dropped = the rows the next layer received: staged levels,
--                         buckets and tickers, and the snapshots fct_order_book_30s used for its KPIs;
--   rows_warned:<rule>    = the rows int_prices_flagged flags (what the `severity: warn` tests count);
--   slots_landed          (fetch entities) = the books / tickers in raw;
--   slots_failed          slots_expected - slots_landed = the error rows in raw of slots that did not land
--                         = the rows dropped over every error kind; rows_checked = slots_expected;
--   trade, trade_fetch    prints in raw = kept in stg_coinbase__trades + rejected, by the slot that fetched them;
--                         failed trades fetches = the trades endpoint's error rows.
-- Returns each measure whose two sides differ. Looks at the recent windows whose slots had all landed when this
-- run staged them (`settled_until`, macros/recent_tests.sql).
with

data_quality as (

    select * from {{ ref('fct_data_quality') }}
    where true {{- since(start, 'window_start') }} {{- before(until, 'window_start') }}
        and (entity not in ('trade', 'trade_fetch') or window_start < {{ trades_until }})

),

order_book_windows as (

    select * from {{ ref('fct_order_book_30s') }}
    where true {{- since(start, 'window_start') }} {{- before(until, 'window_start') }}

),

flagged_prices as (

    select * from {{ ref('int_prices_flagged') }}
    where true {{- since(start) }} {{- before(until) }}
        and (entity <> 'trade' or slot_at < {{ trades_until }})

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    where true {{- since(start) }} {{- before(until) }}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    where true {{- since(start) }} {{- before(until) }}

),

tickers as (

    select * from {{ ref('stg_coinbase__tickers') }}
    where true {{- since(start) }} {{- before(until) }}

),

trades as (

    select * from {{ ref('stg_coinbase__trades') }}
    where slot_at < {{ trades_until }} {{- since(start) }} {{- before(until) }}

),

raw_book_snapshots as (

    select * from {{ source('coinbase', 'coinbase_book_snapshots') }}
    where true {{- since(start) }} {{- before(until) }}

),

raw_tickers as (

    select * from {{ source('coinbase', 'coinbase_tickers') }}
    where true {{- since(start) }} {{- before(until) }}

),

raw_trades as (

    select * from {{ source('coinbase', 'coinbase_trades') }}
    where slot_at < {{ trades_until }} {{- fetched_since(start) }} {{- before(until) }}

),

raw_ingest_errors as (

    select * from {{ source('coinbase', 'coinbase_ingest_errors') }}
    where true {{- since(start) }} {{- before(until) }}

),

mart_entities as (

    select
        window_start,
        product_id,
        entity,
        entity in ('book_fetch', 'ticker_fetch') as is_fetch,
        min(rows_checked) as min_rows_checked,
        max(rows_checked) as rows_checked,
        sum(rows_dropped) as rows_dropped,
        max(slots_expected) as slots_expected,
        max(slots_landed) as slots_landed
    from data_quality
    group by 1, 2, 3

),

raw_rows as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_snapshot' as entity,
        count(*) as row_count
    from raw_book_snapshots
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_level' as entity,
        sum({{ json_array_length('bids') }} + {{ json_array_length('asks') }}) as row_count
    from raw_book_snapshots
    where product_id in ({{ configured_product_list() }})
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_bucket' as entity,
        sum({{ json_array_length('profile') }}) as row_count
    from raw_book_snapshots
    where product_id in ({{ configured_product_list() }})
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'ticker' as entity,
        count(*) as row_count
    from raw_tickers
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'trade' as entity,
        count(*) as row_count
    from raw_trades
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'trade_fetch' as entity,
        count(*) as row_count
    from raw_ingest_errors
    where endpoint = 'trades' and slot_at < {{ trades_until }}
    group by 1, 2

),

raw_landed as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_fetch' as entity,
        count(*) as row_count
    from raw_book_snapshots
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'ticker_fetch' as entity,
        count(*) as row_count
    from raw_tickers
    group by 1, 2

),

raw_failed as (

    select
        {{ floor_timestamp('raw_ingest_errors.slot_at', window_seconds) }} as window_start,
        raw_ingest_errors.product_id,
        concat(raw_ingest_errors.endpoint, '_fetch') as entity,
        count(*) as row_count
    from raw_ingest_errors
    left join raw_book_snapshots
        on raw_ingest_errors.endpoint = 'book'
        and raw_ingest_errors.product_id = raw_book_snapshots.product_id
        and raw_ingest_errors.slot_at = raw_book_snapshots.slot_at
    left join raw_tickers
        on raw_ingest_errors.endpoint = 'ticker'
        and raw_ingest_errors.product_id = raw_tickers.product_id
        and raw_ingest_errors.slot_at = raw_tickers.slot_at
    where raw_ingest_errors.endpoint in ('book', 'ticker')
        and raw_book_snapshots.product_id is null and raw_tickers.product_id is null
    group by 1, 2, 3

),

passed_on as (

    select
        window_start,
        product_id,
        'book_snapshot' as entity,
        kpi_snapshot_count as row_count
    from order_book_windows
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_level' as entity,
        count(*) as row_count
    from book_levels
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_bucket' as entity,
        count(*) as row_count
    from book_buckets
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'ticker' as entity,
        count(*) as row_count
    from tickers
    group by 1, 2
    union all
    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'trade' as entity,
        count(*) as row_count
    from trades
    group by 1, 2

),

flagged as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        rule,
        count(*) filter (where is_flagged) as row_count
    from flagged_prices
    group by 1, 2, 3, 4

),

-- each measure as (mart value, other layer's value), summed per key: a side missing altogether counts as 0
measures as (

    select
        window_start,
        product_id,
        entity,
        'rows_checked on every rule' as measure,
        min_rows_checked as mart_value,
        rows_checked as layer_value
    from mart_entities
    union all
    select
        window_start,
        product_id,
        entity,
        'rows_checked' as measure,
        rows_checked as mart_value,
        0 as layer_value
    from mart_entities
    where not is_fetch
    union all
    select
        window_start,
        product_id,
        entity,
        'rows_checked' as measure,
        0 as mart_value,
        row_count as layer_value
    from raw_rows
    union all
    select
        window_start,
        product_id,
        entity,
        'rows_kept' as measure,
        rows_checked - rows_dropped as mart_value,
        0 as layer_value
    from mart_entities
    where not is_fetch
    union all
    select
        window_start,
        product_id,
        entity,
        'rows_kept' as measure,
        0 as mart_value,
        row_count as layer_value
    from passed_on
    union all
    select
        window_start,
        product_id,
        entity,
        concat('rows_warned:', rule) as measure,
        rows_warned as mart_value,
        0 as layer_value
    from data_quality
    where rule_kind = 'warn'
    union all
    select
        window_start,
        product_id,
        entity,
        concat('rows_warned:', rule) as measure,
        0 as mart_value,
        row_count as layer_value
    from flagged
    union all
    select
        window_start,
        product_id,
        entity,
        'slots_landed' as measure,
        slots_landed as mart_value,
        0 as layer_value
    from mart_entities
    where is_fetch
    union all
    select
        window_start,
        product_id,
        entity,
        'slots_landed' as measure,
        0 as mart_value,
        row_count as layer_value
    from raw_landed
    union all
    select
        window_start,
        product_id,
        entity,
        'slots_failed' as measure,
        slots_expected - slots_landed as mart_value,
        0 as layer_value
    from mart_entities
    where is_fetch
    union all
    select
        window_start,
        product_id,
        entity,
        'slots_failed' as measure,
        0 as mart_value,
        row_count as layer_value
    from raw_failed
    union all
    select
        window_start,
        product_id,
        entity,
        'slots_failed by kind' as measure,
        rows_dropped as mart_value,
        slots_expected - slots_landed as layer_value
    from mart_entities
    where is_fetch
    union all
    select
        window_start,
        product_id,
        entity,
        'rows_checked = slots_expected' as measure,
        rows_checked as mart_value,
        slots_expected as layer_value
    from mart_entities
    where is_fetch

),

final as (

    select
        window_start,
        product_id,
        entity,
        measure,
        sum(mart_value) as mart_value,
        sum(layer_value) as layer_value
    from measures
    group by 1, 2, 3, 4
    having sum(mart_value) <> sum(layer_value)

)

select * from final
