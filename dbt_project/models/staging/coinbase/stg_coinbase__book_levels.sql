{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'slot_at', 'side', 'level_rank'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
        post_hook="{{ delete_detail_rows() }}",
        tags=['detail'],
    )
}}

{%- set cutoff = detail_cutoff('slot_at') -%}

-- The kept top levels of each book, one row per valid level, typed, ranked best first per side (1 = the touch).
-- Rows breaking a drop rule are left out here and counted in stg_coinbase__rejected_rows.
with

levels as (

    select * from {{ ref('base_coinbase__book_levels') }}
    where rejection_rule is null {{- since(cutoff) }}

),

ranked as (

    select
        -- ids
        product_id,
        side,
        cast(row_number() over (
            partition by product_id, slot_at, side
            order by case when side = 'bid' then -price else price end, level_position
        ) as integer) as level_rank,
        level_position,
        source,
        -- numerics
        price,
        size,
        price * size as notional,
        num_orders,
        -- timestamps
        slot_at

    from levels

)

select * from ranked
