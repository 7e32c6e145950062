{{ config(severity='warn') }}

{%- set start = recent_start() -%}

-- The landing contract (docs/architecture.md#ingest-accounting): a (product, slot, endpoint) is landed or recorded
-- as one ingest error, never both; a later landing deletes the error row of its slot. Returns the error rows whose
-- book or ticker landed anyway (fct_data_quality counts such a slot as landed). Warns: the marts stay right.
with

ingest_errors as (

    select * from {{ source('coinbase', 'coinbase_ingest_errors') }}
    where true {{- since(start) }}

),

book_snapshots as (

    select * from {{ source('coinbase', 'coinbase_book_snapshots') }}
    where true {{- since(start) }}

),

tickers as (

    select * from {{ source('coinbase', 'coinbase_tickers') }}
    where true {{- since(start) }}

),

landed as (

    select
        product_id,
        slot_at,
        'book' as endpoint
    from book_snapshots
    union all
    select
        product_id,
        slot_at,
        'ticker' as endpoint
    from tickers

),

final as (

    select
        ingest_errors.product_id,
        ingest_errors.slot_at,
        ingest_errors.endpoint,
        ingest_errors.error_kind,
        ingest_errors.reason
    from ingest_errors
    inner join landed
        on ingest_errors.product_id = landed.product_id
        and ingest_errors.slot_at = landed.slot_at
        and ingest_errors.endpoint = landed.endpoint

)

select * from final
