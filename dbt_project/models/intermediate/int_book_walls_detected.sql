{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at', 'side', 'price'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
    )
}}

{%- set cutoff = incremental_cutoff('slot_at') -%}

-- Whale walls per snapshot (docs/architecture.md#whale-walls): a level whose notional >= max(whale_k x the median level
-- notional on that side within whale_median_band_pct of mid, the coin's whale_floor_usd). Near walls are kept
-- levels; past them a tail bucket proves a wall when even its average level reaches the threshold (its largest
-- level is at least the average), reported at the bucket's average price with that average notional. Crossed books
-- are left out.
with

book_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where not is_crossed {{- since(cutoff) }}

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    where true {{- since(cutoff) }}

),

book_tails as (

    select * from {{ ref('int_book_tails_bucketed') }}
    where true {{- since(cutoff) }}

),

products as (

    select * from {{ configured_products() }}

),

levels_near_mid as (

    select
        book_levels.product_id,
        book_levels.slot_at,
        book_levels.side,
        book_levels.notional
    from book_levels
    inner join book_snapshots
        on book_levels.product_id = book_snapshots.product_id
        and book_levels.slot_at = book_snapshots.slot_at
    where abs(book_levels.price - book_snapshots.mid)
        <= book_snapshots.mid * {{ num(setting('whale_median_band_pct')) }} / 100

),

thresholds as (

    select
        levels_near_mid.product_id,
        levels_near_mid.slot_at,
        levels_near_mid.side,
        {{ median('levels_near_mid.notional') }} as median_level_notional
    from levels_near_mid
    group by levels_near_mid.product_id, levels_near_mid.slot_at, levels_near_mid.side

),

candidates as (

    select
        product_id,
        slot_at,
        side,
        price,
        size,
        notional,
        'level' as wall_source
    from book_levels
    union all
    select
        product_id,
        slot_at,
        side,
        avg_price as price,
        size / level_count as size,
        notional / level_count as notional,
        'bucket' as wall_source
    from book_tails

),

walls as (

    select
        candidates.product_id,
        candidates.slot_at,
        candidates.side,
        candidates.price,
        candidates.size,
        candidates.notional,
        candidates.wall_source,
        book_snapshots.mid,
        book_snapshots.source,
        thresholds.median_level_notional,
        greatest(
            {{ num(setting('whale_k')) }} * thresholds.median_level_notional, products.whale_floor_usd
        ) as threshold_notional
    from candidates
    inner join book_snapshots
        on candidates.product_id = book_snapshots.product_id
        and candidates.slot_at = book_snapshots.slot_at
    inner join thresholds
        on candidates.product_id = thresholds.product_id
        and candidates.slot_at = thresholds.slot_at
        and candidates.side = thresholds.side
    inner join products
        on candidates.product_id = products.product_id

),

final as (

    select
        -- ids
        product_id,
        side,
        wall_source,
        source,
        -- numerics
        {{ trim_decimal('price') }} as price,
        {{ price_bucket('price') }} as price_bucket,
        {{ trim_decimal('size') }} as size,
        {{ trim_decimal('notional') }} as notional,
        {{ trim_decimal('threshold_notional') }} as threshold_notional,
        {{ trim_decimal('median_level_notional') }} as median_level_notional,
        mid,
        {{ kpi_round('abs(price - mid) / mid * 10000') }} as distance_bps,
        -- timestamps
        slot_at
    from walls
    where notional >= threshold_notional

)

select * from final
