{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'window_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}],
    )
}}

{%- set window_seconds = setting('window_seconds') -%}
{%- set lookback_minutes = setting('whale_trade_lookback_minutes') -%}
{%- set lookback_windows = ((lookback_minutes * 60 + window_seconds - 1) // window_seconds) | int -%}
{%- set trades_relation = ref('stg_coinbase__trades') -%}
{%- set cutoff = trades_cutoff(trades_relation, 'window_start', window_seconds, 'last_slot_at') -%}

-- What makes a print a whale, per product and 30 s window holding prints (docs/architecture.md#trades): the coin's
-- whale_trade_floor_usd, and whale_trade_k × the median print notional of the product's prints in the
-- whale_trade_lookback_minutes before the window (NULL when there was none: only the floor applies). The median is
-- exact (the mean of the two middle values). Taking the window's start, not each print's time, as the end of the
-- lookback keeps this one median per window instead of one per print. Incremental like fct_trades_30s: a print
-- landed late changes the medians of the windows after it, which are rebuilt with it.
with

trades as (

    select * from {{ trades_relation }}
    where true {{- since(cutoff, 'traded_at') }}

),

history as (

    select * from {{ trades_relation }}
    {%- if cutoff is not none %}
    where traded_at >= {{ minus_minutes(cutoff, lookback_minutes) }}
    {%- endif %}

),

floors as (

    select * from {{ whale_trade_floors() }}

),

windows as (

    select
        product_id,
        {{ floor_timestamp('traded_at', window_seconds) }} as window_start,
        max(slot_at) as last_slot_at
    from trades
    group by product_id, {{ floor_timestamp('traded_at', window_seconds) }}

),

-- each window's lookback as the whole windows it spans (the oldest may reach past it: the time filter below cuts it),
-- so that the join to the prints is on equal keys: it costs the prints of each window's lookback, not all history
window_lookbacks as (

    select
        windows.product_id,
        windows.window_start,
        {{ minus_minutes('windows.window_start', lookback_minutes) }} as lookback_start,
        windows.window_start - offsets.windows_back * interval '{{ window_seconds }} seconds' as history_window_start
    from windows
    cross join (
        values {% for n in range(1, lookback_windows + 1) %}({{ n }}){{ ", " if not loop.last }}{% endfor %}
    ) as offsets (windows_back)

),

history_windowed as (

    select
        product_id,
        {{ floor_timestamp('traded_at', window_seconds) }} as window_start,
        traded_at,
        notional
    from history

),

reference_trades as (

    select
        window_lookbacks.product_id,
        window_lookbacks.window_start,
        history_windowed.notional
    from window_lookbacks
    inner join history_windowed
        on window_lookbacks.product_id = history_windowed.product_id
        and window_lookbacks.history_window_start = history_windowed.window_start
    where history_windowed.traded_at >= window_lookbacks.lookback_start

),

lookback_medians as (

    select
        windows.product_id,
        windows.window_start,
        windows.last_slot_at,
        count(reference_trades.notional) as reference_trade_count,
        {{ median('reference_trades.notional') }} as median_notional
    from windows
    left join reference_trades
        on windows.product_id = reference_trades.product_id
        and windows.window_start = reference_trades.window_start
    group by windows.product_id, windows.window_start, windows.last_slot_at

),

final as (

    select
        -- ids
        lookback_medians.product_id,
        -- numerics
        cast(lookback_medians.reference_trade_count as bigint) as reference_trade_count,
        {{ trim_decimal('lookback_medians.median_notional') }} as median_notional,
        {{ trim_decimal(num(setting('whale_trade_k')) ~ ' * lookback_medians.median_notional') }} as k_median_threshold,
        floors.whale_trade_floor_usd,
        -- timestamps
        lookback_medians.last_slot_at,
        lookback_medians.window_start
    from lookback_medians
    inner join floors
        on lookback_medians.product_id = floors.product_id

)

select * from final
