{{
    config(
        materialized='incremental',
        unique_key=['window_start', 'product_id', 'entity', 'rule'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}],
    )
}}

{%- set window_seconds = setting('window_seconds') -%}
{%- set cutoff = incremental_cutoff('window_start', align_seconds=window_seconds) -%}
{%- set tolerance = var('ticker_mid_tolerance_pct') -%}

-- Data-quality results per 30 s window, product, entity and rule (DESIGN §6): rows checked, dropped (drop rules:
-- kept out of staging or out of the KPIs) and warned (kept, flagged). Every drop rule of an entity is listed for
-- each window the entity was seen in, with 0 when nothing broke it; fetch failures (ingest errors, including missed
-- slots) are listed by error kind, checked against fetches landed + failed.
with

book_snapshots as (

    select * from {{ ref('stg_coinbase__book_snapshots') }}
    where true {{- since(cutoff) }}

),

measured_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where true {{- since(cutoff) }}

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    where true {{- since(cutoff) }}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    where true {{- since(cutoff) }}

),

tickers as (

    select * from {{ ref('stg_coinbase__tickers') }}
    where true {{- since(cutoff) }}

),

rejected_rows as (

    select * from {{ ref('stg_coinbase__rejected_rows') }}
    where true {{- since(cutoff) }}

),

ingest_errors as (

    select * from {{ ref('stg_coinbase__ingest_errors') }}
    where true {{- since(cutoff) }}

),

products as (

    select * from {{ configured_products() }}

),

rules as (

    select * from (
        values
        ('book_snapshot', 'product_not_configured', 'drop'),
        ('book_snapshot', 'crossed_book', 'drop'),
        ('book_snapshot', 'mid_outside_price_range', 'warn'),
        ('book_level', 'price_null', 'drop'),
        ('book_level', 'price_not_numeric', 'drop'),
        ('book_level', 'price_not_positive', 'drop'),
        ('book_level', 'size_null', 'drop'),
        ('book_level', 'size_not_numeric', 'drop'),
        ('book_level', 'size_not_positive', 'drop'),
        ('book_bucket', 'side_not_bid_ask', 'drop'),
        ('book_bucket', 'bucket_not_integer', 'drop'),
        ('book_bucket', 'size_not_numeric', 'drop'),
        ('book_bucket', 'size_not_positive', 'drop'),
        ('book_bucket', 'notional_not_numeric', 'drop'),
        ('book_bucket', 'notional_not_positive', 'drop'),
        ('book_bucket', 'level_count_not_positive', 'drop'),
        ('ticker', 'product_not_configured', 'drop'),
        ('ticker', 'price_not_numeric', 'drop'),
        ('ticker', 'price_not_positive', 'drop'),
        ('ticker', 'price_outside_range', 'warn'),
        ('ticker', 'ticker_price_vs_mid', 'warn')
    ) as rules (entity, rule, rule_kind)

),

-- rows that reached staging, per window, product and entity
kept as (

    select product_id, slot_at, 'book_snapshot' as entity from book_snapshots
    union all
    select product_id, slot_at, 'book_level' as entity from book_levels
    union all
    select product_id, slot_at, 'book_bucket' as entity from book_buckets
    union all
    select product_id, slot_at, 'ticker' as entity from tickers

),

checked as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        count(*) as rows_checked
    from (
        select product_id, slot_at, entity from kept
        union all
        select product_id, slot_at, entity from rejected_rows
    ) as all_rows
    group by 1, 2, 3

),

dropped_in_staging as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        rejection_rule as rule,
        count(*) as rows_dropped
    from rejected_rows
    group by 1, 2, 3, 4

),

flagged_snapshots as (

    select
        {{ floor_timestamp('measured_snapshots.slot_at', window_seconds) }} as window_start,
        measured_snapshots.product_id,
        'book_snapshot' as entity,
        flags.rule,
        count(*) filter (where flags.is_flagged and flags.rule = 'crossed_book') as rows_dropped,
        count(*) filter (where flags.is_flagged and flags.rule <> 'crossed_book') as rows_warned
    from measured_snapshots
    inner join products
        on measured_snapshots.product_id = products.product_id
    cross join lateral (
        values
        ('crossed_book', measured_snapshots.is_crossed),
        ('mid_outside_price_range', not measured_snapshots.is_crossed
            and (measured_snapshots.mid < products.price_min or measured_snapshots.mid > products.price_max))
    ) as flags (rule, is_flagged)
    group by 1, 2, 3, 4

),

flagged_tickers as (

    select
        {{ floor_timestamp('tickers.slot_at', window_seconds) }} as window_start,
        tickers.product_id,
        'ticker' as entity,
        flags.rule,
        0 as rows_dropped,
        count(*) filter (where flags.is_flagged) as rows_warned
    from tickers
    inner join products
        on tickers.product_id = products.product_id
    left join measured_snapshots
        on tickers.product_id = measured_snapshots.product_id
        and tickers.slot_at = measured_snapshots.slot_at
        and not measured_snapshots.is_crossed
    cross join lateral (
        values
        ('price_outside_range', tickers.price < products.price_min or tickers.price > products.price_max),
        ('ticker_price_vs_mid',
            abs(tickers.price - measured_snapshots.mid) / measured_snapshots.mid * 100 > {{ num(tolerance) }})
    ) as flags (rule, is_flagged)
    group by 1, 2, 3, 4

),

rule_results as (

    select
        checked.window_start,
        checked.product_id,
        checked.entity,
        rules.rule,
        rules.rule_kind,
        checked.rows_checked,
        coalesce(dropped_in_staging.rows_dropped, flagged_snapshots.rows_dropped, 0) as rows_dropped,
        coalesce(flagged_snapshots.rows_warned, flagged_tickers.rows_warned, 0) as rows_warned
    from checked
    inner join rules
        on checked.entity = rules.entity
    left join dropped_in_staging
        on checked.window_start = dropped_in_staging.window_start
        and checked.product_id = dropped_in_staging.product_id
        and checked.entity = dropped_in_staging.entity
        and rules.rule = dropped_in_staging.rule
    left join flagged_snapshots
        on checked.window_start = flagged_snapshots.window_start
        and checked.product_id = flagged_snapshots.product_id
        and checked.entity = flagged_snapshots.entity
        and rules.rule = flagged_snapshots.rule
    left join flagged_tickers
        on checked.window_start = flagged_tickers.window_start
        and checked.product_id = flagged_tickers.product_id
        and checked.entity = flagged_tickers.entity
        and rules.rule = flagged_tickers.rule

),

fetches as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        count(*) as fetches
    from (
        select product_id, slot_at, 'book_fetch' as entity from book_snapshots
        union all
        select product_id, slot_at, 'book_fetch' as entity from rejected_rows where entity = 'book_snapshot'
        union all
        select product_id, slot_at, 'ticker_fetch' as entity from tickers
        union all
        select product_id, slot_at, 'ticker_fetch' as entity from rejected_rows where entity = 'ticker'
        union all
        select product_id, slot_at, endpoint || '_fetch' as entity from ingest_errors
    ) as landed_or_failed
    group by 1, 2, 3

),

fetch_results as (

    select
        {{ floor_timestamp('ingest_errors.slot_at', window_seconds) }} as window_start,
        ingest_errors.product_id,
        ingest_errors.endpoint || '_fetch' as entity,
        ingest_errors.error_kind as rule,
        'drop' as rule_kind,
        max(fetches.fetches) as rows_checked,
        count(*) as rows_dropped,
        0 as rows_warned
    from ingest_errors
    inner join fetches
        on {{ floor_timestamp('ingest_errors.slot_at', window_seconds) }} = fetches.window_start
        and ingest_errors.product_id = fetches.product_id
        and ingest_errors.endpoint || '_fetch' = fetches.entity
    group by 1, 2, 3, 4, 5

),

final as (

    select
        -- ids
        product_id,
        entity,
        rule,
        rule_kind,
        -- numerics
        cast(rows_checked as bigint) as rows_checked,
        cast(rows_dropped as bigint) as rows_dropped,
        cast(rows_warned as bigint) as rows_warned,
        -- timestamps
        window_start
    from (
        select * from rule_results
        union all
        select * from fetch_results
    ) as results

)

select * from final
