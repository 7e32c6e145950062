-- Every fetch that did not land, one row per product, slot and endpoint (book | ticker), with its error kind
-- (`missed_slot`, `http_error`, `invalid_book`, ...). Kept for every product, configured or not.
with

source as (

    select * from {{ source('coinbase', 'coinbase_ingest_errors') }}

),

renamed as (

    select
        -- ids
        product_id,
        endpoint,
        source,
        error_kind,
        -- details
        reason,
        http_status,
        attempts,
        -- timestamps
        slot_at,
        occurred_at
    from source

)

select * from renamed
