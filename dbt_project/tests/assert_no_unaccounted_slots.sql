{{ config(severity='warn') }}

{%- set start = recent_start() -%}

-- Every slot up to the latest landed one is landed or recorded as an ingest error
-- (docs/architecture.md#ingest-accounting). fct_order_book_30s expects its slots from the clock (expected_slots),
-- fct_data_quality counts the slots accounted for (landed + failed): returns each recent window and fetch entity of
-- a product where fewer slots are accounted for than the clock expects, i.e. slots nobody landed nor recorded.
-- Warns: completeness in fct_data_quality (landed / accounted) would then read too high.
with

order_book_windows as (

    select * from {{ ref('fct_order_book_30s') }}
    where true {{- since(start, 'window_start') }}

),

data_quality as (

    select * from {{ ref('fct_data_quality') }}
    where entity in ('book_fetch', 'ticker_fetch') {{- since(start, 'window_start') }}

),

fetch_entities as (

    select * from (values ('book_fetch'), ('ticker_fetch')) as fetch_entities (entity)

),

accounted as (

    select
        window_start,
        product_id,
        entity,
        max(slots_expected) as slots_accounted
    from data_quality
    group by window_start, product_id, entity

),

final as (

    select
        order_book_windows.product_id,
        order_book_windows.window_start,
        fetch_entities.entity,
        order_book_windows.expected_slots,
        coalesce(accounted.slots_accounted, 0) as slots_accounted
    from order_book_windows
    cross join fetch_entities
    left join accounted
        on order_book_windows.product_id = accounted.product_id
        and order_book_windows.window_start = accounted.window_start
        and fetch_entities.entity = accounted.entity
    where order_book_windows.expected_slots > coalesce(accounted.slots_accounted, 0)

)

select * from final
