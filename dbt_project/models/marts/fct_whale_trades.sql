{{
    config(
        materialized='incremental',
        tags=['trades'],
        unique_key=['product_id', 'trade_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}, {'columns': ['product_id', 'traded_at']}],
    )
}}

{%- set window_seconds = setting('window_seconds') -%}
{%- set trades_relation = ref('stg_coinbase__trades') -%}
{%- set cutoff = trades_cutoff(trades_relation, 'window_start', window_seconds, 'slot_at') -%}

-- Whale prints (docs/architecture.md#trades): a print whose notional is at least the coin's whale_trade_floor_usd,
-- or at least whale_trade_k × the median print notional of the product's whale_trade_lookback_minutes before its
-- window (int_trade_whale_thresholds), with the rule that fired: floor, k_median or both.
with

trades as (

    select * from {{ trades_relation }}
    where true {{- since(cutoff, 'traded_at') }}

),

thresholds as (

    select * from {{ ref('int_trade_whale_thresholds') }}
    where true {{- since(cutoff, 'window_start') }}

),

checked as (

    select
        trades.*,
        thresholds.window_start,
        thresholds.median_notional,
        thresholds.k_median_threshold,
        thresholds.whale_trade_floor_usd,
        trades.notional >= thresholds.whale_trade_floor_usd as is_above_floor,
        coalesce(trades.notional >= thresholds.k_median_threshold, false) as is_above_k_median
    from trades
    inner join thresholds
        on trades.product_id = thresholds.product_id
        and {{ floor_timestamp('trades.traded_at', window_seconds) }} = thresholds.window_start

),

final as (

    select
        -- ids
        product_id,
        trade_id,
        source,
        taker_side,
        case
            when is_above_floor and is_above_k_median then 'both'
            when is_above_floor then 'floor'
            else 'k_median'
        end as whale_rule,
        -- numerics
        price,
        size,
        notional,
        whale_trade_floor_usd,
        median_notional,
        k_median_threshold,
        {{ kpi_round('notional / nullif(median_notional, 0)') }} as median_multiple,
        -- booleans
        is_above_floor,
        is_above_k_median,
        -- timestamps
        traded_at,
        slot_at,
        window_start
    from checked
    where is_above_floor or is_above_k_median

)

select * from final
