{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'window_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}, {'columns': ['product_id', 'window_start'], 'unique': true}],
    )
}}

{%- set window_seconds = setting('window_seconds') -%}
{%- set slot_seconds = setting('slot_seconds') -%}
{%- set slots_per_window = (window_seconds / slot_seconds) | int -%}
{#- its lookback, or back to the window of the oldest print fetched since (the trade figures join below) -#}
{%- set cutoff = trades_cutoff(ref('stg_coinbase__trades'), 'window_start', window_seconds, 'window_start') -%}
{%- set bands = setting('bands') -%}
{%- set sizes = setting('slippage') -%}

-- The order book per product per 30 s window (docs/architecture.md#windows-and-completeness): OHLC of mid, the last
-- ticker, mean KPIs over the window's uncrossed snapshots, the intent label of the mean top-10 imbalance, distinct
-- walls, and completeness (snapshots landed / slots expected; the window still filling expects only the slots up to
-- the latest landed). The window's trade figures (fct_trades_30s: VWAP and volume by taker side, order-flow
-- imbalance, the largest print) sit beside them; a window without a print keeps its row, trade_count 0.
with

book_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where true {{- since(cutoff) }}

),

tickers as (

    select * from {{ ref('stg_coinbase__tickers') }}
    where true {{- since(cutoff) }}

),

walls as (

    select * from {{ ref('int_book_walls_detected') }}
    where true {{- since(cutoff) }}

),

trade_windows as (

    select * from {{ ref('fct_trades_30s') }}
    where true {{- since(cutoff, 'window_start') }}

),

latest_slot as (

    select max(slot_at) as slot_at from {{ ref('int_book_snapshots_measured') }}

),

snapshots_windowed as (

    select
        *,
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start
    from book_snapshots

),

snapshots_ordered as (

    select
        *,
        first_value(mid) over whole_window as mid_open,
        last_value(mid) over whole_window as mid_close,
        last_value(source) over all_snapshots as last_source
    from snapshots_windowed
    window
        whole_window as (
            partition by product_id, window_start, is_crossed order by slot_at
            rows between unbounded preceding and unbounded following
        ),
        all_snapshots as (
            partition by product_id, window_start order by slot_at
            rows between unbounded preceding and unbounded following
        )

),

book_windows as (

    select
        product_id,
        window_start,
        max(last_source) as source,
        max(mid_open) filter (where not is_crossed) as mid_open,
        max(mid) filter (where not is_crossed) as mid_high,
        min(mid) filter (where not is_crossed) as mid_low,
        max(mid_close) filter (where not is_crossed) as mid_close,
        avg(spread_bps) filter (where not is_crossed) as avg_spread_bps,
        avg(microprice) filter (where not is_crossed) as avg_microprice,
        avg(imbalance_top10) filter (where not is_crossed) as avg_imbalance_top10,
        {%- for band in bands %}
        avg(imbalance_{{ band.label }}) filter (where not is_crossed) as avg_imbalance_{{ band.label }},
        {%- endfor %}
        {%- for band in bands %}
        {%- for side in ['bid', 'ask'] %}
        avg({{ side }}_depth_base_{{ band.label }}) filter (where not is_crossed)
            as avg_{{ side }}_depth_base_{{ band.label }},
        avg({{ side }}_depth_quote_{{ band.label }}) filter (where not is_crossed)
            as avg_{{ side }}_depth_quote_{{ band.label }},
        {%- endfor %}
        {%- endfor %}
        avg(bid_depth_weighted_price) filter (where not is_crossed) as avg_bid_depth_weighted_price,
        avg(ask_depth_weighted_price) filter (where not is_crossed) as avg_ask_depth_weighted_price,
        {%- for size in sizes %}
        avg(slippage_bps_buy_{{ size.label }}) filter (where not is_crossed) as avg_slippage_bps_buy_{{ size.label }},
        avg(slippage_bps_sell_{{ size.label }}) filter (where not is_crossed) as avg_slippage_bps_sell_{{ size.label }},
        {%- endfor %}
        count(*) as snapshot_count,
        count(*) filter (where not is_crossed) as kpi_snapshot_count,
        count(*) filter (where is_crossed) as crossed_snapshot_count,
        max(slot_at) as last_slot_at
    from snapshots_ordered
    group by product_id, window_start

),

tickers_ordered as (

    select
        product_id,
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        last_value(price) over whole_window as last_ticker_price,
        last_value(volume_24h) over whole_window as volume_24h
    from tickers
    window whole_window as (
        partition by product_id, {{ floor_timestamp('slot_at', window_seconds) }} order by slot_at
        rows between unbounded preceding and unbounded following
    )

),

ticker_windows as (

    select
        product_id,
        window_start,
        max(last_ticker_price) as last_ticker_price,
        max(volume_24h) as volume_24h
    from tickers_ordered
    group by product_id, window_start

),

wall_windows as (

    select
        product_id,
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        count(distinct concat(side, ':', cast(price_bucket as text))) as wall_count
    from walls
    group by product_id, {{ floor_timestamp('slot_at', window_seconds) }}

),

-- slots a window should hold: all of them, or those up to the newest landed slot for the window still filling
windows_expected as (

    select
        book_windows.product_id,
        book_windows.window_start,
        greatest(1, least(
            {{ slots_per_window }},
            cast(floor(
                ({{ epoch_seconds('latest_slot.slot_at') }} - {{ epoch_seconds('book_windows.window_start') }})
                / {{ slot_seconds }}
            ) as integer) + 1
        )) as expected_slots
    from book_windows
    cross join latest_slot

),

final as (

    select
        -- ids
        book_windows.product_id,
        book_windows.source,
        -- numerics: price
        {{ trim_decimal('book_windows.mid_open') }} as mid_open,
        {{ trim_decimal('book_windows.mid_high') }} as mid_high,
        {{ trim_decimal('book_windows.mid_low') }} as mid_low,
        {{ trim_decimal('book_windows.mid_close') }} as mid_close,
        ticker_windows.last_ticker_price,
        ticker_windows.volume_24h,
        -- numerics: spread, microprice, imbalance and intent
        {{ kpi_round('book_windows.avg_spread_bps') }} as avg_spread_bps,
        {{ kpi_round('book_windows.avg_microprice') }} as avg_microprice,
        {{ kpi_round('book_windows.avg_imbalance_top10') }} as avg_imbalance_top10,
        {%- for band in bands %}
        {{ kpi_round('book_windows.avg_imbalance_' ~ band.label) }} as avg_imbalance_{{ band.label }},
        {%- endfor %}
        {{ intent_label('book_windows.avg_imbalance_top10') }} as intent,
        -- numerics: depth per band and side
        {%- for band in bands %}
        {%- for side in ['bid', 'ask'] %}
        {{ kpi_round('book_windows.avg_' ~ side ~ '_depth_base_' ~ band.label) }}
            as avg_{{ side }}_depth_base_{{ band.label }},
        {{ kpi_round('book_windows.avg_' ~ side ~ '_depth_quote_' ~ band.label) }}
            as avg_{{ side }}_depth_quote_{{ band.label }},
        {%- endfor %}
        {%- endfor %}
        {{ kpi_round('book_windows.avg_bid_depth_weighted_price') }} as avg_bid_depth_weighted_price,
        {{ kpi_round('book_windows.avg_ask_depth_weighted_price') }} as avg_ask_depth_weighted_price,
        -- numerics: slippage (bps)
        {%- for size in sizes %}
        {{ kpi_round('book_windows.avg_slippage_bps_buy_' ~ size.label) }} as avg_slippage_bps_buy_{{ size.label }},
        {{ kpi_round('book_windows.avg_slippage_bps_sell_' ~ size.label) }} as avg_slippage_bps_sell_{{ size.label }},
        {%- endfor %}
        -- numerics: walls and completeness
        coalesce(wall_windows.wall_count, 0) as wall_count,
        book_windows.snapshot_count,
        book_windows.kpi_snapshot_count,
        book_windows.crossed_snapshot_count,
        expected.expected_slots,
        {{ kpi_round('cast(book_windows.snapshot_count as numeric) / expected.expected_slots') }} as completeness,
        -- timestamps
        book_windows.window_start,
        book_windows.last_slot_at,
        -- numerics: the trade tape (fct_trades_30s; NULL but trade_count when the window has no print)
        coalesce(trade_windows.trade_count, 0) as trade_count,
        trade_windows.taker_buy_count,
        trade_windows.taker_sell_count,
        trade_windows.taker_buy_base_volume,
        trade_windows.taker_sell_base_volume,
        trade_windows.taker_buy_quote_volume,
        trade_windows.taker_sell_quote_volume,
        trade_windows.vwap,
        trade_windows.taker_buy_vwap,
        trade_windows.taker_sell_vwap,
        trade_windows.order_flow_imbalance,
        trade_windows.largest_trade_id,
        trade_windows.largest_trade_taker_side,
        trade_windows.largest_trade_price,
        trade_windows.largest_trade_notional

    from book_windows
    inner join windows_expected as expected
        on book_windows.product_id = expected.product_id
        and book_windows.window_start = expected.window_start
    left join ticker_windows
        on book_windows.product_id = ticker_windows.product_id
        and book_windows.window_start = ticker_windows.window_start
    left join wall_windows
        on book_windows.product_id = wall_windows.product_id
        and book_windows.window_start = wall_windows.window_start
    left join trade_windows
        on book_windows.product_id = trade_windows.product_id
        and book_windows.window_start = trade_windows.window_start

)

select * from final
