-- One ticker per product per slot, typed. Rows of unconfigured products or without a positive numeric price are
-- dropped (counted in stg_coinbase__rejected_rows); other unreadable numbers become NULL.
with

source as (

    select * from {{ source('coinbase', 'coinbase_tickers') }}
    where product_id in ({{ configured_product_list() }})

),

typed as (

    select
        -- ids
        product_id,
        trade_id,
        source,
        -- numerics
        case when {{ is_decimal_string('price') }} then cast(price as numeric) end as price,
        case when {{ is_decimal_string('size') }} then cast(size as numeric) end as size,
        case when {{ is_decimal_string('bid') }} then cast(bid as numeric) end as bid,
        case when {{ is_decimal_string('ask') }} then cast(ask as numeric) end as ask,
        case when {{ is_decimal_string('volume') }} then cast(volume as numeric) end as volume_24h,
        -- timestamps
        slot_at,
        exchange_time,
        received_at,
        landed_at

    from source

),

final as (

    select * from typed
    where price > 0

)

select * from final
