-- Every fetch that did not land, one row per product, slot and endpoint (book | ticker | trades), with its error
-- kind (`missed_slot`, `http_error`, `invalid_book`, ...); for trades also one row per range of prints given up
-- (`trades_gap_unrecoverable`, first_trade_id..last_trade_id). Kept for every product, configured or not.
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
        first_trade_id,
        last_trade_id,
        -- timestamps
        slot_at,
        occurred_at
    from source

)

select * from renamed
