{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}, {'columns': ['product_id', 'slot_at'], 'unique': true}],
    )
}}

{%- set cutoff = incremental_cutoff('slot_at') -%}
{%- set bands = setting('bands') -%}
{%- set sizes = setting('slippage') -%}
{%- set dw_buckets = setting('depth_weighted_band').buckets -%}
{#- The slots whose levels are staged: a book landing while dbt runs (after the levels table was built) waits for the
    next run instead of being measured without its levels, and a lookback longer than the levels' retention
    (docs/architecture.md#retention: the daily build) re-measures only the books the levels still hold. -#}
{%- set staged_through = latest_timestamp(ref('stg_coinbase__book_levels')) -%}
{%- set staged_from = earliest_timestamp(ref('stg_coinbase__book_levels')) -%}

-- One row per product per slot with every per-snapshot KPI (docs/architecture.md#kpi-definitions): touch, mid
-- (the landing's), spread, microprice, depth per band and side (exact sums of profile buckets), imbalance (top 10
-- levels and per band), depth-weighted price by side, and slippage per configured order size and side (walking the
-- kept levels, which reach every order the band can fill, then the buckets beyond). Crossed books are kept and
-- flagged (is_crossed); the marts leave them out of every KPI.
with

book_snapshots as (

    select * from {{ ref('stg_coinbase__book_snapshots') }}
    where true {{- since(cutoff) }} {{- since(staged_from) }} {{- before(staged_through, inclusive=true) }}

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    where true {{- since(cutoff) }}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    where true {{- since(cutoff) }}

),

book_tails as (

    select * from {{ ref('int_book_tails_bucketed') }}
    where true {{- since(cutoff) }}

),

touch as (

    select
        product_id,
        slot_at,
        max(price) filter (where side = 'bid' and level_rank = 1) as best_bid,
        max(size) filter (where side = 'bid' and level_rank = 1) as bid_size_1,
        max(price) filter (where side = 'ask' and level_rank = 1) as best_ask,
        max(size) filter (where side = 'ask' and level_rank = 1) as ask_size_1,
        sum(size) filter (where side = 'bid' and level_rank <= 10) as bid_qty_top10,
        sum(size) filter (where side = 'ask' and level_rank <= 10) as ask_qty_top10
    from book_levels
    group by product_id, slot_at

),

band_depths as (

    select
        product_id,
        slot_at,
        {%- for band in bands %}
        sum(size) filter (where side = 'bid' and bucket_index < {{ band.buckets }}) as bid_depth_base_{{ band.label }},
        sum(notional) filter (where side = 'bid' and bucket_index < {{ band.buckets }})
            as bid_depth_quote_{{ band.label }},
        sum(size) filter (where side = 'ask' and bucket_index < {{ band.buckets }}) as ask_depth_base_{{ band.label }},
        sum(notional) filter (where side = 'ask' and bucket_index < {{ band.buckets }})
            as ask_depth_quote_{{ band.label }},
        {%- endfor %}
        sum(notional) filter (where side = 'bid' and bucket_index < {{ dw_buckets }})
        / sum(size) filter (where side = 'bid' and bucket_index < {{ dw_buckets }}) as bid_depth_weighted_price,
        sum(notional) filter (where side = 'ask' and bucket_index < {{ dw_buckets }})
        / sum(size) filter (where side = 'ask' and bucket_index < {{ dw_buckets }}) as ask_depth_weighted_price
    from book_buckets
    group by product_id, slot_at

),

-- The order book as one ladder per side, best first: kept levels, then the tail buckets beyond them.
ladder_pieces as (

    select
        product_id,
        slot_at,
        side,
        level_rank as piece_order,
        size,
        notional
    from book_levels
    union all
    select
        product_id,
        slot_at,
        side,
        {{ setting('top_levels') }} + 1 + bucket_index as piece_order,
        size,
        notional
    from book_tails

),

ladder as (

    select
        product_id,
        slot_at,
        side,
        piece_order,
        size,
        notional,
        sum(size) over cumulative - size as size_before,
        sum(notional) over cumulative - notional as notional_before,
        sum(notional) over cumulative as notional_through
    from ladder_pieces
    window cumulative as (partition by product_id, slot_at, side order by piece_order rows unbounded preceding)

),

order_sizes as (

    select * from (
        values
        {%- for size in sizes %}
        ('{{ size.label }}', {{ num(size.usd) }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as order_sizes (size_label, order_usd)

),

-- The piece where each market order is filled: the first whose cumulative notional reaches the order size.
last_pieces as (

    select
        ladder.product_id,
        ladder.slot_at,
        ladder.side,
        order_sizes.size_label,
        order_sizes.order_usd,
        min(ladder.piece_order) as piece_order
    from ladder
    inner join order_sizes on ladder.notional_through >= order_sizes.order_usd
    group by ladder.product_id, ladder.slot_at, ladder.side, order_sizes.size_label, order_sizes.order_usd

),

fills as (

    select
        last_pieces.product_id,
        last_pieces.slot_at,
        last_pieces.side,
        last_pieces.size_label,
        -- base bought/sold: whole pieces before, then the rest of the order at the last piece's average price
        last_pieces.order_usd / (
            ladder.size_before + (last_pieces.order_usd - ladder.notional_before) * ladder.size / ladder.notional
        ) as avg_fill_price
    from last_pieces
    inner join ladder
        on last_pieces.product_id = ladder.product_id
        and last_pieces.slot_at = ladder.slot_at
        and last_pieces.side = ladder.side
        and last_pieces.piece_order = ladder.piece_order

),

fills_pivoted as (

    select
        {%- for size in sizes %}
        max(avg_fill_price) filter (where side = 'ask' and size_label = '{{ size.label }}')
            as buy_fill_price_{{ size.label }},
        max(avg_fill_price) filter (where side = 'bid' and size_label = '{{ size.label }}')
            as sell_fill_price_{{ size.label }},
        {%- endfor %}
        product_id,
        slot_at
    from fills
    group by product_id, slot_at

),

measured as (

    select
        book_snapshots.product_id,
        book_snapshots.slot_at,
        book_snapshots.source,
        book_snapshots.sequence,
        touch.best_bid,
        touch.best_ask,
        touch.bid_size_1,
        touch.ask_size_1,
        {{ trim_decimal('book_snapshots.profile_mid') }} as mid,
        touch.bid_qty_top10,
        touch.ask_qty_top10,
        book_snapshots.is_crossed,
        {%- for band in bands %}
        {%- for side in ['bid', 'ask'] %}
        band_depths.{{ side }}_depth_base_{{ band.label }},
        band_depths.{{ side }}_depth_quote_{{ band.label }},
        {%- endfor %}
        {%- endfor %}
        {%- for size in sizes %}
        fills_pivoted.buy_fill_price_{{ size.label }},
        fills_pivoted.sell_fill_price_{{ size.label }},
        {%- endfor %}
        band_depths.bid_depth_weighted_price,
        band_depths.ask_depth_weighted_price
    from book_snapshots
    -- a book without a valid kept level on a side has no touch: it stays, flagged below like a crossed book, so
    -- every staged snapshot is measured (and counted by fct_data_quality) or dropped from the KPIs by a rule
    left join touch
        on book_snapshots.product_id = touch.product_id
        and book_snapshots.slot_at = touch.slot_at
    left join band_depths
        on book_snapshots.product_id = band_depths.product_id
        and book_snapshots.slot_at = band_depths.slot_at
    left join fills_pivoted
        on book_snapshots.product_id = fills_pivoted.product_id
        and book_snapshots.slot_at = fills_pivoted.slot_at

),

final as (

    select
        -- ids
        product_id,
        source,
        sequence,
        -- booleans: crossed (the landing's best bid >= best ask), or a side without a valid kept level
        is_crossed or best_bid is null or best_ask is null as is_crossed,
        -- numerics: touch
        best_bid,
        best_ask,
        bid_size_1,
        ask_size_1,
        mid,
        {{ kpi_round(spread_bps('best_bid', 'best_ask')) }} as spread_bps,
        {{ kpi_round(microprice('best_bid', 'bid_size_1', 'best_ask', 'ask_size_1')) }} as microprice,
        -- numerics: imbalance (buy vs sell intent)
        bid_qty_top10,
        ask_qty_top10,
        {{ kpi_round(imbalance('bid_qty_top10', 'ask_qty_top10')) }} as imbalance_top10,
        {%- for band in bands %}
        {{ kpi_round(imbalance('bid_depth_base_' ~ band.label, 'ask_depth_base_' ~ band.label)) }}
            as imbalance_{{ band.label }},
        {%- endfor %}
        -- numerics: depth per band and side (base and quote)
        {%- for band in bands %}
        coalesce(bid_depth_base_{{ band.label }}, 0) as bid_depth_base_{{ band.label }},
        coalesce(bid_depth_quote_{{ band.label }}, 0) as bid_depth_quote_{{ band.label }},
        coalesce(ask_depth_base_{{ band.label }}, 0) as ask_depth_base_{{ band.label }},
        coalesce(ask_depth_quote_{{ band.label }}, 0) as ask_depth_quote_{{ band.label }},
        {%- endfor %}
        -- numerics: depth-weighted price by side (within depth_weighted_band_pct of mid, from the config)
        {{ kpi_round('bid_depth_weighted_price') }} as bid_depth_weighted_price,
        {{ kpi_round('ask_depth_weighted_price') }} as ask_depth_weighted_price,
        -- numerics: slippage in bps (cost: buy walks the asks up, sell walks the bids down); NULL when the kept
        -- book cannot fill the order
        {%- for size in sizes %}
        {{ kpi_round('(buy_fill_price_' ~ size.label ~ ' - mid) / mid * 10000') }} as slippage_bps_buy_{{ size.label }},
        {{ kpi_round('(mid - sell_fill_price_' ~ size.label ~ ') / mid * 10000') }}
            as slippage_bps_sell_{{ size.label }},
        {%- endfor %}
        -- timestamps
        slot_at

    from measured

)

select * from final
