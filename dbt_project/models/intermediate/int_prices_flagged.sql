{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at', 'entity', 'rule', 'trade_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
        post_hook="{{ delete_expired_rows() }}",
    )
}}

{%- set cutoff = incremental_cutoff('slot_at') -%}
{%- set tolerance = var('ticker_mid_tolerance_pct') -%}
{%- set trade_tolerance = setting('trade_mid_warn_pct') -%}

-- The warn rules (docs/architecture.md#data-quality), defined once: one row per price a warn rule checks, with the
-- bounds it must lie within and is_flagged when it does not. Flagged rows are kept in every mart; the `severity:
-- warn` tests of this model and fct_data_quality's rows_warned (the dashboards) both count is_flagged here, so dbt's
-- warnings and the dashboards cannot disagree.
--   book_snapshot mid_outside_price_range: the mid of an uncrossed book outside the coin's price_min..price_max;
--   ticker price_outside_range: the ticker price outside that range;
--   ticker ticker_price_vs_mid: the ticker price more than ticker_mid_tolerance_pct away from the uncrossed book mid
--   of the same slot (tickers without one are not checked);
--   trade trade_price_vs_mid: a print's price more than trade_mid_warn_pct away from the uncrossed book mid of the
--   slot whose landing fetched it (prints without one are not checked). One row per print (trade_id; NULL on the
--   other rules' rows), at that slot.
with

book_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where not is_crossed {{- since(cutoff) }}

),

tickers as (

    select * from {{ ref('stg_coinbase__tickers') }}
    where true {{- since(cutoff) }}

),

trades as (

    select * from {{ ref('stg_coinbase__trades') }}
    where true {{- since(cutoff) }}

),

products as (

    select * from {{ configured_products() }}

),

mids_checked as (

    select
        book_snapshots.product_id,
        'book_snapshot' as entity,
        'mid_outside_price_range' as rule,
        book_snapshots.mid as price,
        products.price_min as lower_bound,
        products.price_max as upper_bound,
        book_snapshots.mid < products.price_min or book_snapshots.mid > products.price_max as is_flagged,
        cast(null as bigint) as trade_id,
        book_snapshots.slot_at
    from book_snapshots
    inner join products
        on book_snapshots.product_id = products.product_id

),

ticker_prices_checked as (

    select
        tickers.product_id,
        'ticker' as entity,
        'price_outside_range' as rule,
        tickers.price,
        products.price_min as lower_bound,
        products.price_max as upper_bound,
        tickers.price < products.price_min or tickers.price > products.price_max as is_flagged,
        cast(null as bigint) as trade_id,
        tickers.slot_at
    from tickers
    inner join products
        on tickers.product_id = products.product_id

),

ticker_mids_checked as (

    -- |price - mid| / mid > tolerance %, compared without a division so the edge is exact
    select
        tickers.product_id,
        'ticker' as entity,
        'ticker_price_vs_mid' as rule,
        tickers.price,
        book_snapshots.mid - book_snapshots.mid * {{ num(tolerance) }} / 100 as lower_bound,
        book_snapshots.mid + book_snapshots.mid * {{ num(tolerance) }} / 100 as upper_bound,
        abs(tickers.price - book_snapshots.mid) * 100 > book_snapshots.mid * {{ num(tolerance) }} as is_flagged,
        cast(null as bigint) as trade_id,
        tickers.slot_at
    from tickers
    inner join book_snapshots
        on tickers.product_id = book_snapshots.product_id
        and tickers.slot_at = book_snapshots.slot_at

),

trade_mids_checked as (

    -- the same comparison as ticker_price_vs_mid, with trade_mid_warn_pct
    select
        trades.product_id,
        'trade' as entity,
        'trade_price_vs_mid' as rule,
        trades.price,
        book_snapshots.mid - book_snapshots.mid * {{ num(trade_tolerance) }} / 100 as lower_bound,
        book_snapshots.mid + book_snapshots.mid * {{ num(trade_tolerance) }} / 100 as upper_bound,
        abs(trades.price - book_snapshots.mid) * 100 > book_snapshots.mid * {{ num(trade_tolerance) }} as is_flagged,
        trades.trade_id,
        trades.slot_at
    from trades
    inner join book_snapshots
        on trades.product_id = book_snapshots.product_id
        and trades.slot_at = book_snapshots.slot_at

),

checked as (

    select * from mids_checked
    union all
    select * from ticker_prices_checked
    union all
    select * from ticker_mids_checked
    union all
    select * from trade_mids_checked

),

final as (

    select
        -- ids
        product_id,
        entity,
        rule,
        -- numerics
        price,
        {{ trim_decimal('lower_bound') }} as lower_bound,
        {{ trim_decimal('upper_bound') }} as upper_bound,
        -- booleans
        is_flagged,
        -- timestamps
        slot_at,
        -- ids: the print checked (trade rows only; appended last, so existing tables gain it as a new column)
        trade_id
    from checked

)

select * from final
