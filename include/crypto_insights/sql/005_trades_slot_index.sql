-- dbt's staging reads the prints a slot fetched (`slot_at`), which a backfill sets long after `traded_at`: a BRIN
-- index keeps that read to the newest blocks of each partition instead of scanning a day of prints.
create index if not exists coinbase_trades_slot_at on raw.coinbase_trades using brin (slot_at);
