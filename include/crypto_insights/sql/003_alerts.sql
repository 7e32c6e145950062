-- Alert state: one row per incident, so each condition alerts once and clears once (crypto_insights.monitoring, see
-- docs/architecture.md#alerts). Applied by `crypto_insights.landing.migrations` as crypto_loader, which writes it
-- from the monitor DAG and the failure notifier; crypto_transform reads it (default privileges of schema raw).
create table if not exists raw.pipeline_alerts (
    incident_id bigint generated always as identity primary key,
    alert_key text not null,               -- ingest_stale, drop_rate, transform_failed
    severity text not null check (severity in ('warning', 'error')),
    title text not null,
    summary text not null,                 -- what the last evaluation saw, in a sentence
    details jsonb not null default '{}',
    opened_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),  -- the last time the condition was seen firing
    resolved_at timestamptz,               -- null while open
    resolution text
);

-- At most one open incident per alert: opening an open one only refreshes it, and sends nothing.
create unique index if not exists pipeline_alerts_one_open on raw.pipeline_alerts (alert_key) where resolved_at is null;
create index if not exists pipeline_alerts_opened_at on raw.pipeline_alerts (opened_at);

-- Rows seen and dropped by the data-quality rules per settled slot and entity, counted once by the monitor's
-- drop-rate check (crypto_insights.monitoring.drop_rate) and summed over its 15-minute window; kept one day.
create table if not exists raw.pipeline_drop_counts (
    slot_at timestamptz not null,
    entity text not null,                  -- book_snapshot, book_level, book_bucket, ticker
    rows_seen bigint not null,
    rows_rejected bigint not null,
    by_rule jsonb not null default '{}',   -- {rule: rows rejected}
    counted_at timestamptz not null default now(),
    primary key (slot_at, entity)
);
