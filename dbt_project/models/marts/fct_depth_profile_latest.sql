{%- set latest = latest_timestamp(ref('int_book_snapshots_measured'), where='not is_crossed') -%}

-- The depth profile of each product's latest uncrossed book: per side and profile bucket (profile_bucket_bps of
-- mid, out to profile_band_pct), its price range, size, notional and level count, and the depth cumulated from mid.
with

book_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where not is_crossed
        {%- if latest is not none %}
        and slot_at >= {{ minus_minutes(latest, setting('lookback_minutes')) }}
    {%- else %}
        and false
        {%- endif %}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    {%- if latest is not none %}
    where slot_at >= {{ minus_minutes(latest, setting('lookback_minutes')) }}
    {%- endif %}

),

latest_snapshots as (

    select
        product_id,
        slot_at,
        mid
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

final as (

    select
        -- ids
        book_buckets.product_id,
        book_buckets.side,
        book_buckets.bucket_index,
        -- numerics
        case when book_buckets.side = 'bid' then book_buckets.profile_mid - book_buckets.distance_to
            else book_buckets.profile_mid + book_buckets.distance_from
        end as price_low,
        case when book_buckets.side = 'bid' then book_buckets.profile_mid - book_buckets.distance_from
            else book_buckets.profile_mid + book_buckets.distance_to
        end as price_high,
        book_buckets.size,
        book_buckets.notional,
        book_buckets.level_count,
        sum(book_buckets.size) over cumulative as cumulative_size,
        sum(book_buckets.notional) over cumulative as cumulative_notional,
        latest_snapshots.mid,
        -- timestamps
        book_buckets.slot_at
    from book_buckets
    inner join latest_snapshots
        on book_buckets.product_id = latest_snapshots.product_id
        and book_buckets.slot_at = latest_snapshots.slot_at
    window cumulative as (
        partition by book_buckets.product_id, book_buckets.side order by book_buckets.bucket_index
        rows unbounded preceding
    )

)

select * from final
