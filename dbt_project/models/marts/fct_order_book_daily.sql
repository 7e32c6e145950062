{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'day_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='day_start',
        tags=['daily'],
    )
}}

{%- set cutoff = incremental_cutoff('day_start', align_seconds=86400) -%}
{%- set bands = setting('bands') -%}
{%- set sizes = setting('slippage') -%}
{%- set slot_seconds = setting('slot_seconds') -%}

-- The order book per product per UTC day, from the 30 s windows: OHLC of mid, the last ticker, KPI means over
-- every uncrossed snapshot of the day (window means weighted by their snapshot counts, so exactly the per-snapshot
-- mean), distinct walls seen, and completeness. Tagged `daily`: the maintenance DAG builds it.
with

windows as (

    select * from {{ ref('fct_order_book_30s') }}
    where true {{- since(cutoff, 'window_start') }}

),

walls as (

    select * from {{ ref('int_book_walls_detected') }}
    where true {{- since(cutoff) }}

),

latest_slot as (

    select max(slot_at) as slot_at from {{ ref('int_book_snapshots_measured') }}

),

windows_daily as (

    select
        *,
        {{ floor_timestamp('window_start', 86400) }} as day_start,
        first_value(mid_open) over whole_day as day_mid_open,
        last_value(mid_close) over whole_day as day_mid_close,
        last_value(last_ticker_price) over whole_day as day_last_ticker_price,
        last_value(volume_24h) over whole_day as day_volume_24h
    from windows
    window whole_day as (
        partition by
            product_id, {{ floor_timestamp('window_start', 86400) }}, kpi_snapshot_count > 0,
            last_ticker_price is not null
        order by window_start
        rows between unbounded preceding and unbounded following
    )

),

days as (

    select
        product_id,
        day_start,
        max(source) as source,
        max(day_mid_open) filter (where kpi_snapshot_count > 0) as mid_open,
        max(mid_high) as mid_high,
        min(mid_low) as mid_low,
        max(day_mid_close) filter (where kpi_snapshot_count > 0) as mid_close,
        max(day_last_ticker_price) filter (where last_ticker_price is not null) as last_ticker_price,
        max(day_volume_24h) filter (where last_ticker_price is not null) as volume_24h,
        {%- set weighted = ['avg_spread_bps', 'avg_microprice', 'avg_imbalance_top10'] -%}
        {%- for band in bands %}{% do weighted.append('avg_imbalance_' ~ band.label) %}{% endfor -%}
        {%- for band in bands %}{% for side in ['bid', 'ask'] %}
        {%- do weighted.append('avg_' ~ side ~ '_depth_base_' ~ band.label) -%}
        {%- do weighted.append('avg_' ~ side ~ '_depth_quote_' ~ band.label) -%}
        {%- endfor %}{% endfor -%}
        {%- do weighted.extend(['avg_bid_depth_weighted_price', 'avg_ask_depth_weighted_price']) -%}
        {%- for size in sizes %}
        {%- do weighted.append('avg_slippage_bps_buy_' ~ size.label) -%}
        {%- do weighted.append('avg_slippage_bps_sell_' ~ size.label) -%}
        {%- endfor %}
        {%- for column in weighted %}
        sum({{ column }} * kpi_snapshot_count) / nullif(sum(kpi_snapshot_count) filter (
            where {{ column }} is not null
        ), 0) as {{ column }},
        {%- endfor %}
        cast(sum(snapshot_count) as bigint) as snapshot_count,
        cast(sum(kpi_snapshot_count) as bigint) as kpi_snapshot_count,
        cast(sum(crossed_snapshot_count) as bigint) as crossed_snapshot_count
    from windows_daily
    group by product_id, day_start

),

wall_days as (

    select
        product_id,
        {{ floor_timestamp('slot_at', 86400) }} as day_start,
        count(distinct concat(side, ':', cast(price_bucket as text))) as wall_count
    from walls
    group by product_id, {{ floor_timestamp('slot_at', 86400) }}

),

-- slots a day should hold: all of them, or those up to the newest landed slot for the day still filling
days_expected as (

    select
        days.product_id,
        days.day_start,
        greatest(1, least(
            {{ (86400 / slot_seconds) | int }},
            cast(floor(
                ({{ epoch_seconds('latest_slot.slot_at') }} - {{ epoch_seconds('days.day_start') }})
                / {{ slot_seconds }}
            ) as integer) + 1
        )) as expected_slots
    from days
    cross join latest_slot

),

final as (

    select
        days.*,
        {{ intent_label('days.avg_imbalance_top10') }} as intent,
        coalesce(wall_days.wall_count, 0) as wall_count,
        expected.expected_slots,
        cast(days.snapshot_count as numeric) / expected.expected_slots as completeness
    from days
    inner join days_expected as expected
        on days.product_id = expected.product_id
        and days.day_start = expected.day_start
    left join wall_days
        on days.product_id = wall_days.product_id
        and days.day_start = wall_days.day_start

)

select * from final
