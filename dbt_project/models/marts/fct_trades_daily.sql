{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'day_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='day_start',
        tags=['daily', 'trades'],
    )
}}

{%- set trades_relation = ref('stg_coinbase__trades') -%}
{%- set cutoff = trades_cutoff(trades_relation, 'day_start', 86400, 'last_slot_at') -%}

-- The trade tape per product per UTC day of traded_at: the figures of fct_trades_30s (macros/trades.sql:
-- trade_figures) over the day's prints themselves, so every sum is exact. Tagged `daily`: the maintenance DAG
-- builds it (over the last 24 h 30 min of fetched prints and their days).
with

trades as (

    select * from {{ trades_relation }}
    where true {{- since(cutoff, 'traded_at') }}

),

{{ trade_figures('trades', 86400, 'day_start') }}

select * from final
