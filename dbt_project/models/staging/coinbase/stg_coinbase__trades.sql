{{
    config(
        materialized='incremental',
        tags=['trades'],
        unique_key=['product_id', 'trade_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}, {'columns': ['traded_at']}],
        post_hook="{{ delete_expired_rows('traded_at') }}",
    )
}}

-- built after the rejected prints, which read this model's newest slot before it moves (macros/trades.sql)
-- depends_on: {{ ref('stg_coinbase__rejected_trades') }}

{%- set cutoff = trades_staging_cutoff() -%}

-- The trade tape: one row per valid print of a configured product, typed. `side` as Coinbase sends it is the
-- maker's: a 'sell' print was taken by a buyer, so taker_side is the other one (docs/architecture.md#trades).
-- Prints breaking a drop rule are in stg_coinbase__rejected_trades instead. Incremental on slot_at (the slot whose
-- landing fetched the print): each run takes in every print fetched over the last `lookback_minutes`, however old
-- (the landing pages back into gaps); rows older than retention_days (on traded_at) go.
with

trades as (

    select * from {{ ref('base_coinbase__trades') }}
    where rejection_rule is null {{- fetched_since(cutoff) }}

),

final as (

    select
        -- ids
        product_id,
        trade_id,
        source,
        -- sides
        maker_side,
        taker_side,
        -- numerics
        price,
        size,
        price * size as notional,
        -- booleans
        has_rescued_data,
        -- timestamps
        traded_at,
        slot_at,
        exchange_time,
        received_at,
        landed_at

    from trades

)

select * from final
