-- One row per product per slot: the snapshot's header, typed. Products outside the config are dropped here
-- (counted in stg_coinbase__rejected_rows); crossed books stay, flagged, and leave the KPIs downstream.
with

source as (

    select * from {{ source('coinbase', 'coinbase_book_snapshots') }}

),

renamed as (

    select
        -- ids
        product_id,
        source,
        sequence,
        -- numerics
        profile_mid,
        profile_band_pct,
        profile_bucket_bps,
        bid_levels_total,
        ask_levels_total,
        bid_levels_kept,
        ask_levels_kept,
        bid_levels_excluded,
        ask_levels_excluded,
        bid_size_total,
        ask_size_total,
        bid_tail_bucket,
        bid_tail_size,
        bid_tail_notional,
        bid_tail_levels,
        ask_tail_bucket,
        ask_tail_size,
        ask_tail_notional,
        ask_tail_levels,
        body_bytes,
        -- booleans
        is_crossed,
        coalesce(auction_mode, false) as is_auction_mode,
        _rescued_data is not null as has_rescued_data,
        -- timestamps
        slot_at,
        exchange_time,
        requested_at,
        received_at,
        landed_at

    from source
    where product_id in ({{ configured_product_list() }})

)

select * from renamed
