{{ config(materialized='ephemeral') }}

-- Every bucket of every configured product's book profile, exploded, with the drop rule it breaks (NULL if valid).
with

source as (

    select * from {{ source('coinbase', 'coinbase_book_snapshots') }}
    where product_id in ({{ configured_product_list() }})

),

exploded as (

    select
        source.product_id,
        source.slot_at,
        source.source,
        source.profile_mid,
        source.profile_bucket_bps,
        cast(elements.position as integer) as bucket_position,
        {{ json_item_text('elements.element', 0) }} as side,
        {{ json_item_text('elements.element', 1) }} as bucket_text,
        {{ json_item_text('elements.element', 2) }} as size_text,
        {{ json_item_text('elements.element', 3) }} as notional_text,
        {{ json_item_text('elements.element', 4) }} as level_count_text
    from source
    cross join lateral {{ json_array_rows('source.profile') }}

),

typed as (

    select
        *,
        case when bucket_text ~ '^[0-9]{1,6}$' then cast(bucket_text as integer) end as bucket_index,
        case when {{ is_decimal_string('size_text') }} then cast(size_text as numeric) end as size,
        case when {{ is_decimal_string('notional_text') }} then cast(notional_text as numeric) end as notional,
        case when level_count_text ~ '^[0-9]{1,9}$' then cast(level_count_text as integer) end as level_count
    from exploded

),

final as (

    select
        *,
        case
            when side is null or side not in ('bid', 'ask') then 'side_not_bid_ask'
            when bucket_index is null then 'bucket_not_integer'
            when size is null then 'size_not_numeric'
            when size <= 0 then 'size_not_positive'
            when notional is null then 'notional_not_numeric'
            when notional <= 0 then 'notional_not_positive'
            when level_count is null or level_count <= 0 then 'level_count_not_positive'
        end as rejection_rule
    from typed

)

select * from final
