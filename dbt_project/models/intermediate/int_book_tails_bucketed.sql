{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at', 'side', 'bucket_index'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
        pre_hook="{{ planner_settings(merge_joins=false) }}",
        post_hook="{{ delete_expired_rows() }}",
    )
}}

{%- set cutoff = incremental_cutoff('slot_at') -%}

-- The book beyond the kept top levels, per snapshot, side and profile bucket: whole buckets past the last kept
-- level, and the rest of the bucket that level sits in (bucket minus the kept levels in it). Exact sums, priced at
-- their average (notional / size). Slippage walks, far walls and support/resistance continue here past the levels.
with

book_snapshots as (

    select * from {{ ref('stg_coinbase__book_snapshots') }}
    where true {{- since(cutoff) }}

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    where true {{- since(cutoff) }}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    where true {{- since(cutoff) }}

),

levels_bucketed as (

    select
        book_levels.product_id,
        book_levels.slot_at,
        book_levels.side,
        book_levels.size,
        book_levels.notional,
        {{ profile_bucket_of(
            'abs(book_levels.price - book_snapshots.profile_mid)',
            'book_snapshots.profile_mid * book_snapshots.profile_bucket_bps / 10000') }} as bucket_index
    from book_levels
    inner join book_snapshots
        on book_levels.product_id = book_snapshots.product_id
        and book_levels.slot_at = book_snapshots.slot_at

),

kept_per_bucket as (

    select
        product_id,
        slot_at,
        side,
        bucket_index,
        sum(size) as kept_size,
        sum(notional) as kept_notional,
        count(*) as kept_levels
    from levels_bucketed
    group by product_id, slot_at, side, bucket_index

),

last_kept_bucket as (

    select
        product_id,
        slot_at,
        side,
        max(bucket_index) as bucket_index
    from kept_per_bucket
    group by product_id, slot_at, side

),

tails as (

    select
        book_buckets.product_id,
        book_buckets.slot_at,
        book_buckets.side,
        book_buckets.bucket_index,
        book_buckets.source,
        book_buckets.profile_mid,
        book_buckets.size - coalesce(kept_per_bucket.kept_size, 0) as size,
        book_buckets.notional - coalesce(kept_per_bucket.kept_notional, 0) as notional,
        book_buckets.level_count - coalesce(kept_per_bucket.kept_levels, 0) as level_count,
        book_buckets.bucket_index = last_kept_bucket.bucket_index as is_partial_bucket
    from book_buckets
    inner join last_kept_bucket
        on book_buckets.product_id = last_kept_bucket.product_id
        and book_buckets.slot_at = last_kept_bucket.slot_at
        and book_buckets.side = last_kept_bucket.side
    left join kept_per_bucket
        on book_buckets.product_id = kept_per_bucket.product_id
        and book_buckets.slot_at = kept_per_bucket.slot_at
        and book_buckets.side = kept_per_bucket.side
        and book_buckets.bucket_index = kept_per_bucket.bucket_index
    where book_buckets.bucket_index >= last_kept_bucket.bucket_index

),

final as (

    select
        -- ids
        product_id,
        side,
        bucket_index,
        source,
        -- numerics
        size,
        notional,
        notional / size as avg_price,
        level_count,
        profile_mid,
        -- booleans
        is_partial_bucket,
        -- timestamps
        slot_at
    from tails
    where level_count > 0 and size > 0

)

select * from final
