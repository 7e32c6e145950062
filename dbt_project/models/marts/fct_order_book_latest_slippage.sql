{{ config(materialized='view') }}

{%- set sizes = setting('slippage') %}

-- Slippage of a market order of each configured size (kpis.slippage_usd), buy and sell, in each product's latest
-- 30 s window (fct_order_book_latest): fct_order_book_30s's slippage columns unpivoted to one row per size and side.
-- NULL when the kept book is too thin to fill the order.
with

{{ latest_windows_ctes() }},

final as (

    select
        -- ids
        windows.product_id,
        orders.side,
        -- numerics
        orders.order_usd,
        orders.slippage_bps,
        -- timestamps
        windows.window_start
    from latest_windows as windows
    cross join lateral (
        values
        {%- for size in sizes %}
        ({{ num(size.usd) }}, 'buy', windows.avg_slippage_bps_buy_{{ size.label }}),
        ({{ num(size.usd) }}, 'sell', windows.avg_slippage_bps_sell_{{ size.label }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as orders (order_usd, side, slippage_bps)

)

select * from final
