-- Where the book past the kept rows starts, per side (docs/architecture.md#landing-contract): the bucket of the
-- farthest kept valid level and what of that bucket lies past the kept levels. dbt continues the book from here
-- without computing a bucket edge of its own. NULL when no kept level is valid or the farthest lies outside the
-- band, and on books landed before this migration.
alter table raw.coinbase_book_snapshots
    add column if not exists bid_tail_bucket integer,
    add column if not exists bid_tail_size numeric,
    add column if not exists bid_tail_notional numeric,
    add column if not exists bid_tail_levels integer,
    add column if not exists ask_tail_bucket integer,
    add column if not exists ask_tail_size numeric,
    add column if not exists ask_tail_notional numeric,
    add column if not exists ask_tail_levels integer;
