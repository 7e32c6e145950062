{%- set latest = latest_timestamp(ref('int_book_snapshots_measured'), where='not is_crossed') -%}
{%- set lookback = setting('support_resistance_lookback_minutes') -%}
{%- set bucket_pct = setting('support_resistance_bucket_pct') -%}
{%- set max_buckets = ((setting('profile_band_pct') | float) / (bucket_pct | float)) | round(0, 'floor') | int -%}

-- Support and resistance at each product's latest uncrossed slot (docs/architecture.md#support-and-resistance): the
-- resting notional of the last support_resistance_lookback_minutes (kept levels, then tail buckets at their average
-- price) in price buckets of support_resistance_bucket_pct of the latest mid, averaged per slot; the strongest
-- buckets below mid are support, above it resistance, with strength = bucket notional / the median bucket notional
-- on that side.
with

book_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where not is_crossed
        {%- if latest is not none %}
        and slot_at > {{ minus_minutes(latest, lookback) }}
    {%- else %}
        and false
        {%- endif %}

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    {%- if latest is not none %}
    where slot_at > {{ minus_minutes(latest, lookback) }}
    {%- endif %}

),

book_tails as (

    select * from {{ ref('int_book_tails_bucketed') }}
    {%- if latest is not none %}
    where slot_at > {{ minus_minutes(latest, lookback) }}
    {%- endif %}

),

latest_snapshots as (

    select
        product_id,
        slot_at as as_of_slot_at,
        mid,
        mid * {{ num(bucket_pct) }} / 100 as bucket_width
    from (
        select
            product_id,
            slot_at,
            mid,
            row_number() over (partition by product_id order by slot_at desc) as recency
        from book_snapshots
    ) as ranked
    where recency = 1

),

slots_seen as (

    select
        product_id,
        count(*) as slot_count
    from book_snapshots
    group by product_id

),

resting as (

    select
        book_levels.product_id,
        book_levels.slot_at,
        book_levels.price,
        book_levels.notional
    from book_levels
    inner join book_snapshots
        on book_levels.product_id = book_snapshots.product_id
        and book_levels.slot_at = book_snapshots.slot_at
    union all
    select
        book_tails.product_id,
        book_tails.slot_at,
        book_tails.avg_price as price,
        book_tails.notional
    from book_tails
    inner join book_snapshots
        on book_tails.product_id = book_snapshots.product_id
        and book_tails.slot_at = book_snapshots.slot_at

),

bucketed as (

    select
        resting.product_id,
        case when resting.price < latest_snapshots.mid then 'support' else 'resistance' end as level_kind,
        cast(floor(abs(resting.price - latest_snapshots.mid) / latest_snapshots.bucket_width) as integer)
            as bucket_index,
        resting.notional
    from resting
    inner join latest_snapshots
        on resting.product_id = latest_snapshots.product_id
    where resting.price <> latest_snapshots.mid

),

buckets as (

    select
        bucketed.product_id,
        bucketed.level_kind,
        bucketed.bucket_index,
        sum(bucketed.notional) / max(slots_seen.slot_count) as avg_notional
    from bucketed
    inner join slots_seen
        on bucketed.product_id = slots_seen.product_id
    where bucketed.bucket_index < {{ max_buckets }}
    group by bucketed.product_id, bucketed.level_kind, bucketed.bucket_index

),

medians as (

    select
        product_id,
        level_kind,
        {{ median('avg_notional') }} as median_notional
    from buckets
    group by product_id, level_kind

),

ranked as (

    select
        buckets.*,
        medians.median_notional,
        row_number() over (
            partition by buckets.product_id, buckets.level_kind
            order by buckets.avg_notional desc, buckets.bucket_index asc
        ) as strength_rank
    from buckets
    inner join medians
        on buckets.product_id = medians.product_id
        and buckets.level_kind = medians.level_kind

),

final as (

    select
        -- ids
        ranked.product_id,
        ranked.level_kind,
        cast(ranked.strength_rank as integer) as strength_rank,
        ranked.bucket_index,
        -- numerics
        {{ trim_decimal("case when ranked.level_kind = 'support'
            then latest_snapshots.mid - (ranked.bucket_index + 1) * latest_snapshots.bucket_width
            else latest_snapshots.mid + ranked.bucket_index * latest_snapshots.bucket_width
        end") }} as price_low,
        {{ trim_decimal("case when ranked.level_kind = 'support'
            then latest_snapshots.mid - ranked.bucket_index * latest_snapshots.bucket_width
            else latest_snapshots.mid + (ranked.bucket_index + 1) * latest_snapshots.bucket_width
        end") }} as price_high,
        {{ kpi_round('ranked.avg_notional') }} as avg_notional,
        {{ kpi_round('ranked.median_notional') }} as median_notional,
        {{ kpi_round('ranked.avg_notional / nullif(ranked.median_notional, 0)') }} as strength,
        latest_snapshots.mid,
        -- timestamps
        latest_snapshots.as_of_slot_at
    from ranked
    inner join latest_snapshots
        on ranked.product_id = latest_snapshots.product_id
    where ranked.strength_rank <= {{ setting('support_resistance_levels') }}

)

select * from final
