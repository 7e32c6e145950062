{{ config(materialized='ephemeral') }}

-- Every verbatim level of every configured product's snapshot, exploded, with the drop rule it breaks (NULL when
-- valid). Strings are checked with a pattern before any cast, so a bad value is counted, never a failed build.
with

source as (

    select * from {{ source('coinbase', 'coinbase_book_snapshots') }}
    where product_id in ({{ configured_product_list() }})

),

sides as (

    -- one reference to `source`, so PostgreSQL pushes a caller's slot_at filter down to the raw partitions
    select
        source.product_id,
        source.slot_at,
        source.source,
        book_sides.side,
        book_sides.levels
    from source
    cross join lateral (
        values ('bid', source.bids), ('ask', source.asks)
    ) as book_sides (side, levels)

),

exploded as (

    select
        sides.product_id,
        sides.slot_at,
        sides.source,
        sides.side,
        cast(elements.position as integer) as level_position,
        {{ json_item_text('elements.element', 0) }} as price_text,
        {{ json_item_text('elements.element', 1) }} as size_text,
        {{ json_item_text('elements.element', 2) }} as num_orders_text
    from sides
    cross join lateral {{ json_array_rows('sides.levels') }}

),

checked as (

    select
        *,
        {{ is_decimal_string('price_text') }} as is_price_numeric,
        {{ is_decimal_string('size_text') }} as is_size_numeric
    from exploded

),

typed as (

    select
        product_id,
        slot_at,
        source,
        side,
        level_position,
        price_text,
        size_text,
        case when is_price_numeric then cast(price_text as numeric) end as price,
        case when is_size_numeric then cast(size_text as numeric) end as size,
        case when num_orders_text ~ '^[0-9]{1,9}$' then cast(num_orders_text as integer) end as num_orders
    from checked

),

final as (

    select
        *,
        case
            when price_text is null then 'price_null'
            when price is null then 'price_not_numeric'
            when price <= 0 then 'price_not_positive'
            when size_text is null then 'size_null'
            when size is null then 'size_not_numeric'
            when size <= 0 then 'size_not_positive'
        end as rejection_rule
    from typed

)

select * from final
