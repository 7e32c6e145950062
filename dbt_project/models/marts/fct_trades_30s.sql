{{
    config(
        materialized='incremental',
        tags=['trades'],
        unique_key=['product_id', 'window_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}, {'columns': ['product_id', 'window_start'], 'unique': true}],
    )
}}

{%- set window_seconds = setting('window_seconds') -%}
{%- set trades_relation = ref('stg_coinbase__trades') -%}
{%- set cutoff = trades_cutoff(trades_relation, 'window_start', window_seconds, 'last_slot_at') -%}

-- The trade tape per product per 30 s window of traded_at (docs/architecture.md#trades), by the taker's side (a
-- print whose maker sold was bought by its taker): prints, base and quote volume, VWAP = Σ price·size / Σ size,
-- order-flow imbalance = (buy − sell) / (buy + sell) of quote volume, and the largest print (macros/trades.sql:
-- trade_figures). A window without a print has no row. Incremental: rebuilds its lookback and every window holding
-- a print fetched since (trades_cutoff), so the prints the landing pages back for after an outage reach their window.
with

trades as (

    select * from {{ trades_relation }}
    where true {{- since(cutoff, 'traded_at') }}

),

{{ trade_figures('trades', window_seconds, 'window_start') }}

select * from final
