{{ config(materialized='ephemeral', tags=['trades']) }}

-- Every print of raw.coinbase_trades, typed, with the drop rule it breaks (NULL when valid): the first of
-- product_not_configured, price_not_numeric, price_not_positive, size_not_numeric, size_not_positive,
-- side_not_buy_sell. Strings are checked with a pattern before any cast (a missing value is not numeric), so a bad
-- print is counted, never a failed build. `side` is the maker's side as Coinbase sends it: taker_side is the other
-- one (a 'sell' print was taken by a buyer; docs/architecture.md#trades). Callers filter with fetched_since(cutoff)
-- (macros/trades.sql).
with

source as (

    select * from {{ source('coinbase', 'coinbase_trades') }}

),

checked as (

    select
        *,
        product_id in ({{ configured_product_list() }}) as is_product_configured,
        coalesce({{ is_decimal_string('price') }}, false) as is_price_numeric,
        coalesce({{ is_decimal_string('size') }}, false) as is_size_numeric
    from source

),

typed as (

    select
        product_id,
        trade_id,
        source,
        side as maker_side,
        {{ taker_side('side') }} as taker_side,
        price as price_text,
        size as size_text,
        case when is_price_numeric then cast(price as numeric) end as price,
        case when is_size_numeric then cast(size as numeric) end as size,
        is_product_configured,
        _rescued_data is not null as has_rescued_data,
        traded_at,
        slot_at,
        exchange_time,
        received_at,
        landed_at
    from checked

),

final as (

    select
        *,
        case
            when not is_product_configured then 'product_not_configured'
            when price is null then 'price_not_numeric'
            when price <= 0 then 'price_not_positive'
            when size is null then 'size_not_numeric'
            when size <= 0 then 'size_not_positive'
            when maker_side is null or maker_side not in ('buy', 'sell') then 'side_not_buy_sell'
        end as rejection_rule
    from typed

)

select * from final
