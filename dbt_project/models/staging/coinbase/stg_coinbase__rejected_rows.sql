-- Every raw row a drop rule kept out of staging, with the rule (docs/architecture.md#data-quality): unconfigured
-- products, levels and profile buckets whose numbers are missing, not numeric or not positive, buckets whose side is
-- not bid/ask, tickers without a positive price, prints without a positive price or size or a buy/sell side.
-- fct_data_quality counts them per window, product and rule.
with

book_snapshots as (

    select * from {{ source('coinbase', 'coinbase_book_snapshots') }}

),

tickers as (

    select * from {{ source('coinbase', 'coinbase_tickers') }}

),

book_levels as (

    select * from {{ ref('base_coinbase__book_levels') }}
    where rejection_rule is not null

),

book_buckets as (

    select * from {{ ref('base_coinbase__book_buckets') }}
    where rejection_rule is not null

),

trades as (

    select * from {{ ref('stg_coinbase__rejected_trades') }}

),

unconfigured_book_snapshots as (

    select
        product_id,
        'book_snapshot' as entity,
        'product_not_configured' as rejection_rule,
        cast(null as text) as side,
        cast(null as integer) as row_position,
        product_id as rejected_value,
        slot_at
    from book_snapshots
    where product_id not in ({{ configured_product_list() }})

),

rejected_book_levels as (

    select
        product_id,
        'book_level' as entity,
        rejection_rule,
        side,
        level_position as row_position,
        concat('[', coalesce(price_text, 'null'), ', ', coalesce(size_text, 'null'), ']') as rejected_value,
        slot_at
    from book_levels

),

rejected_book_buckets as (

    select
        product_id,
        'book_bucket' as entity,
        rejection_rule,
        side,
        bucket_position as row_position,
        concat(
            '[', coalesce(side, 'null'), ', ', coalesce(bucket_text, 'null'), ', ', coalesce(size_text, 'null'),
            ', ', coalesce(notional_text, 'null'), ']'
        ) as rejected_value,
        slot_at
    from book_buckets

),

rejected_tickers as (

    select
        product_id,
        'ticker' as entity,
        case
            when product_id not in ({{ configured_product_list() }}) then 'product_not_configured'
            when not {{ is_decimal_string('price') }} then 'price_not_numeric'
            else 'price_not_positive'
        end as rejection_rule,
        cast(null as text) as side,
        cast(null as integer) as row_position,
        price as rejected_value,
        slot_at
    from tickers
    where product_id not in ({{ configured_product_list() }})
        or not {{ is_decimal_string('price') }}
        or cast(case when {{ is_decimal_string('price') }} then price end as numeric) <= 0

),

rejected_trades as (

    -- slot_at: the slot whose landing fetched the print; the trade id is the first element of the value
    select
        product_id,
        'trade' as entity,
        rejection_rule,
        maker_side as side,
        cast(null as integer) as row_position,
        concat(
            '[', cast(trade_id as text), ', ', coalesce(maker_side, 'null'), ', ', coalesce(price_text, 'null'),
            ', ', coalesce(size_text, 'null'), ']'
        ) as rejected_value,
        slot_at
    from trades

),

final as (

    select * from unconfigured_book_snapshots
    union all
    select * from rejected_book_levels
    union all
    select * from rejected_book_buckets
    union all
    select * from rejected_tickers
    union all
    select * from rejected_trades

)

select * from final
