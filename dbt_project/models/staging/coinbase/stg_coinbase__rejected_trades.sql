{{
    config(
        materialized='incremental',
        tags=['trades'],
        unique_key=['product_id', 'trade_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        lookback_column='slot_at',
        indexes=[{'columns': ['slot_at']}],
        post_hook="{{ delete_expired_rows('traded_at') }}",
    )
}}

{%- set cutoff = trades_staging_cutoff() -%}

-- The prints a drop rule keeps out of stg_coinbase__trades, with the rule (the first one broken), as received.
-- stg_coinbase__rejected_rows lists them with every other rejected row. A table, not a view over raw: raw is
-- partitioned on traded_at, so a view filtered on slot_at would read every partition. It takes in the same range
-- of fetched prints as stg_coinbase__trades (macros/trades.sql: trades_staging_cutoff).
with

trades as (

    select * from {{ ref('base_coinbase__trades') }}
    where rejection_rule is not null {{- fetched_since(cutoff) }}

),

final as (

    select
        -- ids
        product_id,
        trade_id,
        source,
        rejection_rule,
        -- as received
        maker_side,
        price_text,
        size_text,
        -- timestamps
        traded_at,
        slot_at,
        landed_at

    from trades

)

select * from final
