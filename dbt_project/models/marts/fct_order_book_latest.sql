{{ config(materialized='view') }}

-- The latest 30 s window of each configured product, one row per coin (docs/architecture.md#kpi-definitions): what
-- the dashboards' headline charts show. A view, so "latest" and data_age_s are those of the moment it is read; the
-- latest window is one backward index lookup per product in fct_order_book_30s, whatever the history holds.
-- data_source says in words whether the numbers are live Coinbase data or the offline exchange's simulation.
with

symbols as (

    select * from {{ ref('dim_symbols') }}

),

order_book_windows as (

    select * from {{ ref('fct_order_book_30s') }}

),

latest as (

    select book.*
    from symbols
    cross join lateral (
        select windows.*
        from order_book_windows as windows
        where windows.product_id = symbols.product_id
        order by windows.window_start desc
        limit 1
    ) as book

),

final as (

    select
        -- ids
        product_id,
        source,
        case when source = 'coinbase' then 'LIVE: Coinbase Exchange'
            else 'SIMULATED: offline exchange'
        end as data_source,
        intent,
        -- numerics
        last_ticker_price,
        mid_close,
        avg_spread_bps,
        avg_imbalance_top10,
        wall_count,
        snapshot_count,
        expected_slots,
        completeness,
        cast(floor(extract(epoch from now() - last_slot_at)) as integer) as data_age_s,
        -- timestamps
        window_start,
        last_slot_at

    from latest

)

select * from final
