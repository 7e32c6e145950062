{{ config(materialized='view') }}

{%- set bands = setting('bands') %}

-- Depth per side and imbalance within each configured band around mid (kpis.bands_pct), in each product's latest
-- 30 s window (fct_order_book_latest): fct_order_book_30s's band columns unpivoted to one row per band, so a chart
-- can put the bands on an axis.
with

{{ latest_windows_ctes() }},

final as (

    select
        -- ids
        windows.product_id,
        -- numerics
        bands.band_bps,
        bands.bid_depth_quote,
        bands.ask_depth_quote,
        bands.imbalance,
        -- timestamps
        windows.window_start
    from latest_windows as windows
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
