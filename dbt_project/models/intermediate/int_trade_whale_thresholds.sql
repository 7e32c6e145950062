{{
    config(
        materialized='incremental',
        tags=['trades'],
        unique_key=['product_id', 'window_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}],
    )
}}

-- depends_on: {{ ref('fct_trades_30s') }}

{%- set window_seconds = setting('window_seconds') -%}
{%- set lookback_minutes = setting('whale_trade_lookback_minutes') -%}
{%- set lookback_seconds = (lookback_minutes | int) * 60 -%}
{%- set trades_relation = ref('stg_coinbase__trades') -%}
{%- set cutoff = trades_cutoff(trades_relation, 'window_start', window_seconds, 'last_slot_at') -%}

-- What makes a print a whale, per product and 30 s window holding prints (docs/architecture.md#trades): the coin's
-- whale_trade_floor_usd, and whale_trade_k × the median print notional of the product's prints in the
-- whale_trade_lookback_minutes before the window (NULL when there was none: only the floor applies). The median is
-- exact (the middle print, or the mean of the two middle ones). Taking the window's start, not each print's time, as
-- the end of the lookback keeps this one median per window instead of one per print.
-- Incremental like fct_trades_30s: it rebuilds the windows of its lookback and of every print fetched since, but
-- measures again only the windows whose lookback holds another number of prints than when they were measured
-- (fct_trades_30s counts them; prints are only ever added), in steady state the newest window. A full build measures
-- every window (windows × prints per lookback), so like the marts it keeps its history through --full-refresh and is
-- rebuilt only with `crypto-insights dbt --rebuild-history`.
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

{% if cutoff is not none -%}
measured_before as (

    select * from {{ this }}
    where window_start >= {{ cutoff }}

),

trade_windows as (

    select * from {{ ref('fct_trades_30s') }}
    where window_start >= {{ minus_minutes(cutoff, lookback_minutes) }}

),

-- the prints in each window's lookback now (its windows: the lookback is a whole number of them, see dbt_vars)
lookback_counts as (

    select
        windows.product_id,
        windows.window_start,
        coalesce(sum(trade_windows.trade_count), 0) as reference_trade_count
    from windows
    left join trade_windows
        on windows.product_id = trade_windows.product_id
        and trade_windows.window_start >= {{ minus_minutes('windows.window_start', lookback_minutes) }}
        and trade_windows.window_start < windows.window_start
    group by windows.product_id, windows.window_start

),

unchanged as (

    select
        windows.product_id,
        windows.window_start,
        windows.last_slot_at,
        measured_before.reference_trade_count,
        measured_before.median_notional
    from windows
    inner join lookback_counts
        on windows.product_id = lookback_counts.product_id
        and windows.window_start = lookback_counts.window_start
    inner join measured_before
        on windows.product_id = measured_before.product_id
        and windows.window_start = measured_before.window_start
    where measured_before.reference_trade_count = lookback_counts.reference_trade_count

),

to_measure as (

    select windows.*
    from windows
    left join unchanged
        on windows.product_id = unchanged.product_id
        and windows.window_start = unchanged.window_start
    where unchanged.product_id is null

),
{%- else %}
to_measure as (

    select * from windows

),
{%- endif %}

-- each window's lookback [window_start − L, window_start) lies in at most two consecutive L-long spans of time: the
-- prints are joined on (product, span), so a build costs the prints of each window's lookback, never windows × all
-- of history (a first build or a rebuild would otherwise be quadratic)
window_lookbacks as (

    select
        product_id,
        window_start,
        {{ floor_timestamp(minus_minutes('window_start', lookback_minutes), lookback_seconds) }} as lookback_span
    from to_measure
    union all
    select
        product_id,
        window_start,
        {{ floor_timestamp(minus_minutes('window_start', lookback_minutes), lookback_seconds) }}
        + interval '{{ lookback_seconds }} seconds' as lookback_span
    from to_measure

),

history_spans as (

    select
        product_id,
        traded_at,
        notional,
        {{ floor_timestamp('traded_at', lookback_seconds) }} as lookback_span
    from history

),

reference_trades as (

    select
        window_lookbacks.product_id,
        window_lookbacks.window_start,
        history_spans.notional
    from window_lookbacks
    inner join history_spans
        on window_lookbacks.product_id = history_spans.product_id
        and window_lookbacks.lookback_span = history_spans.lookback_span
    where history_spans.traded_at >= {{ minus_minutes('window_lookbacks.window_start', lookback_minutes) }}
        and history_spans.traded_at < window_lookbacks.window_start

),

-- the exact median: the middle print by notional, or the mean of the two middle ones (one sort per window)
reference_ranked as (

    select
        product_id,
        window_start,
        notional,
        row_number() over (partition by window_start, product_id order by notional) as notional_rank,
        count(*) over (partition by window_start, product_id) as reference_trade_count
    from reference_trades

),

measured as (

    select
        to_measure.product_id,
        to_measure.window_start,
        to_measure.last_slot_at,
        coalesce(max(reference_ranked.reference_trade_count), 0) as reference_trade_count,
        {{ trim_decimal('avg(reference_ranked.notional)') }} as median_notional
    from to_measure
    left join reference_ranked
        on to_measure.product_id = reference_ranked.product_id
        and to_measure.window_start = reference_ranked.window_start
        and reference_ranked.notional_rank in (
            (reference_ranked.reference_trade_count + 1) / 2, reference_ranked.reference_trade_count / 2 + 1
        )
    group by to_measure.product_id, to_measure.window_start, to_measure.last_slot_at

),

lookback_medians as (

    select * from measured
    {%- if cutoff is not none %}
    union all
    select * from unchanged
    {%- endif %}

),

final as (

    select
        -- ids
        lookback_medians.product_id,
        -- numerics
        cast(lookback_medians.reference_trade_count as bigint) as reference_trade_count,
        lookback_medians.median_notional,
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
