-- The configured products (include/crypto_insights.yaml): the dashboards' filter and each coin's thresholds.
with

products as (

    select * from {{ configured_products() }}

),

final as (

    select
        -- ids
        product_id,
        base_currency,
        quote_currency,
        -- numerics
        price_min,
        price_max,
        whale_floor_usd,
        quote_increment,
        base_increment
    from products

)

select * from final
