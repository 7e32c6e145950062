{{ config(materialized='view') }}

{%- set bands = setting('bands') %}

-- Depth per side and imbalance within each configured band around mid (kpis.bands_pct), in each product's latest
-- 30 s window (fct_order_book_latest): fct_order_book_30s's band columns unpivoted to one row per band, so a chart
-- can put the bands on an axis.
with

latest as (

    select * from {{ ref('fct_order_book_latest') }}

),

windows as (

    select * from {{ ref('fct_order_book_30s') }}

),

final as (

    select
        -- ids
        latest.product_id,
        -- numerics
        bands.band_bps,
        bands.bid_depth_quote,
        bands.ask_depth_quote,
        bands.imbalance,
        -- timestamps
        latest.window_start
    from latest
    inner join windows
        on latest.product_id = windows.product_id
        and latest.window_start = windows.window_start
    cross join lateral (
        values
        {%- for band in bands %}
        (
            {{ trim_decimal(num(band.pct) ~ ' * 100') }},
            windows.avg_bid_depth_quote_{{ band.label }},
            windows.avg_ask_depth_quote_{{ band.label }},
            windows.avg_imbalance_{{ band.label }}
        ){{ "," if not loop.last }}
        {%- endfor %}
    ) as bands (band_bps, bid_depth_quote, ask_depth_quote, imbalance)

)

select * from final
