{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at', 'side', 'bucket_index'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
        post_hook="{{ delete_detail_rows() }}",
        tags=['detail'],
    )
}}

{%- set cutoff = detail_cutoff('slot_at') -%}

-- The profile of each book: per side, per bucket of profile_bucket_bps around profile_mid, the exact size,
-- notional and level count. Bucket k holds k*w*mid < |price - mid| <= (k+1)*w*mid, so the band of b % is the
-- exact sum of buckets 0 .. b*100/bps - 1. Incremental (a table) like the levels: every KPI model reads it.
with

buckets as (

    select * from {{ ref('base_coinbase__book_buckets') }}
    where rejection_rule is null {{- since(cutoff) }}

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
        level_count,
        profile_mid,
        profile_bucket_bps,
        profile_mid * profile_bucket_bps / 10000 * bucket_index as distance_from,
        profile_mid * profile_bucket_bps / 10000 * (bucket_index + 1) as distance_to,
        -- timestamps
        slot_at

    from buckets

)

select * from final
