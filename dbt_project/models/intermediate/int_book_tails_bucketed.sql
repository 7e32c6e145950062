{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at', 'side', 'bucket_index'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
        pre_hook="{{ planner_settings(merge_joins=false) }}",
        post_hook="{{ delete_detail_rows() }}",
        tags=['detail'],
    )
}}

{%- set cutoff = detail_cutoff('slot_at') -%}
{#- the oldest slot the buckets still hold (docs/architecture.md#retention): older books have no tail to rebuild -#}
{%- set staged_from = earliest_timestamp(ref('stg_coinbase__book_buckets')) -%}

-- The book beyond the kept rows, per snapshot, side and profile bucket, as the landing marks it
-- (docs/architecture.md#landing-contract): the rest of the bucket the farthest kept level sits in (the *_tail_*
-- columns), then the whole buckets past it. Exact sums, priced at their average (notional / size). Far walls and
-- support/resistance continue here past the levels; a slippage walk reaches it only for an order larger than
-- the band holds.
with

book_snapshots as (

    select * from {{ ref('stg_coinbase__book_snapshots') }}
    where true {{- since(cutoff) }} {{- since(staged_from) }}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    where true {{- since(cutoff) }}

),

tail_starts as (

    {%- for side in ['bid', 'ask'] %}
    select
        product_id,
        slot_at,
        source,
        profile_mid,
        '{{ side }}' as side,
        {{ side }}_tail_bucket as bucket_index,
        {{ side }}_tail_size as size,
        {{ side }}_tail_notional as notional,
        {{ side }}_tail_levels as level_count
    from book_snapshots
    where {{ side }}_tail_bucket is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

tails as (

    select
        product_id,
        slot_at,
        side,
        bucket_index,
        source,
        profile_mid,
        size,
        notional,
        level_count,
        true as is_partial_bucket
    from tail_starts

    union all

    select
        book_buckets.product_id,
        book_buckets.slot_at,
        book_buckets.side,
        book_buckets.bucket_index,
        book_buckets.source,
        book_buckets.profile_mid,
        book_buckets.size,
        book_buckets.notional,
        book_buckets.level_count,
        false as is_partial_bucket
    from book_buckets
    inner join tail_starts
        on book_buckets.product_id = tail_starts.product_id
        and book_buckets.slot_at = tail_starts.slot_at
        and book_buckets.side = tail_starts.side
        and book_buckets.bucket_index > tail_starts.bucket_index

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
