{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'side', 'price_bucket', 'first_seen_at'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='first_seen_at',
        indexes=[{'columns': ['last_seen_at']}, {'columns': ['first_seen_at']}],
    )
}}

{%- set cutoff = whale_walls_cutoff() -%}
{%- set slot_seconds = setting('slot_seconds') -%}
{%- set latest = latest_timestamp(ref('int_book_snapshots_measured')) -%}

-- Whale walls as episodes: one row per run of consecutive slots in which the same product, side and price bucket
-- (the price to 4 significant digits) held a wall. Persistent after wall_persist_slots consecutive slots; active
-- while seen in the product's latest landed slot. A missed or crossed slot ends an episode.
with

walls as (

    select * from {{ ref('int_book_walls_detected') }}
    where true {{- since(cutoff) }}

),

book_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    {%- if latest is not none %}
    where slot_at >= {{ minus_minutes(latest, setting('lookback_minutes')) }}
    {%- endif %}

),

latest_slots as (

    select
        product_id,
        max(slot_at) as latest_slot_at
    from book_snapshots
    group by product_id

),

walls_per_slot as (

    select
        product_id,
        side,
        price_bucket,
        slot_at,
        max(notional) as peak_notional,
        min(distance_bps) as distance_bps,
        cast(floor({{ epoch_seconds('slot_at') }} / {{ slot_seconds }}) as bigint) as slot_number
    from walls
    group by product_id, side, price_bucket, slot_at

),

islands as (

    select
        *,
        slot_number - row_number() over (
            partition by product_id, side, price_bucket order by slot_at
        ) as island
    from walls_per_slot

),

episodes as (

    select
        product_id,
        side,
        price_bucket,
        min(slot_at) as first_seen_at,
        max(slot_at) as last_seen_at,
        count(*) as slots_seen,
        max(peak_notional) as peak_notional
    from islands
    group by product_id, side, price_bucket, island

),

last_distances as (

    select
        product_id,
        side,
        price_bucket,
        slot_at,
        distance_bps
    from walls_per_slot

),

final as (

    select
        -- ids
        episodes.product_id,
        episodes.side,
        episodes.price_bucket,
        -- numerics
        cast(
            {{ epoch_seconds('episodes.last_seen_at') }} - {{ epoch_seconds('episodes.first_seen_at') }}
            + {{ slot_seconds }} as integer
        ) as duration_s,
        cast(episodes.slots_seen as integer) as slots_seen,
        episodes.peak_notional,
        last_distances.distance_bps,
        -- booleans
        episodes.slots_seen >= {{ setting('wall_persist_slots') }} as is_persistent,
        coalesce(episodes.last_seen_at = latest_slots.latest_slot_at, false) as is_active,
        -- timestamps
        episodes.first_seen_at,
        episodes.last_seen_at
    from episodes
    inner join last_distances
        on episodes.product_id = last_distances.product_id
        and episodes.side = last_distances.side
        and episodes.price_bucket = last_distances.price_bucket
        and episodes.last_seen_at = last_distances.slot_at
    left join latest_slots
        on episodes.product_id = latest_slots.product_id

)

select * from final
