{{
    config(
        materialized='incremental',
        unique_key=['window_start', 'product_id', 'entity', 'rule'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=var('rebuild_history', false),
        lookback_column='window_start',
        indexes=[{'columns': ['window_start']}],
    )
}}

{%- set window_seconds = setting('window_seconds') -%}
{%- set cutoff = incremental_cutoff('window_start', align_seconds=window_seconds) -%}
{#- The error kinds listed for every fetch window, 0 when none occurred (docs/architecture.md#ingest-accounting);
    any other kind is listed in the windows where it occurred. -#}
{%- set fetch_error_kinds = {
    'book_fetch': ['missed_slot', 'deadline_exceeded', 'throttled', 'quarantined', 'exchange_unavailable',
                   'malformed_payload', 'invalid_payload', 'invalid_book'],
    'ticker_fetch': ['missed_slot', 'deadline_exceeded', 'throttled', 'quarantined', 'exchange_unavailable',
                     'malformed_payload', 'invalid_payload'],
} -%}

-- Data-quality results per 30 s window, product, entity and rule (docs/architecture.md#data-quality): rows checked,
-- dropped (drop rules: kept out of staging or out of the KPIs) and warned (kept, flagged by int_prices_flagged, the
-- one definition of the warn rules). Every rule of an entity is listed for each window the entity was seen in, with
-- 0 when nothing broke it. The fetch entities account for every (product, slot, endpoint): landed or failed with an
-- error kind (missed, throttled, quarantined, ...), so slots_expected = slots landed + slots failed and
-- completeness = slots_landed / slots_expected. Prints (entity trade) are windowed by the slot whose landing fetched
-- them. A trades fetch that finds no new print lands nothing, so trade_fetch lists only the failed ones, by kind
-- (rows_checked = the window's failed trades fetches, no slots expected).
with

book_snapshots as (

    select * from {{ ref('stg_coinbase__book_snapshots') }}
    where true {{- since(cutoff) }}

),

measured_snapshots as (

    select * from {{ ref('int_book_snapshots_measured') }}
    where true {{- since(cutoff) }}

),

book_levels as (

    select * from {{ ref('stg_coinbase__book_levels') }}
    where true {{- since(cutoff) }}

),

book_buckets as (

    select * from {{ ref('stg_coinbase__book_buckets') }}
    where true {{- since(cutoff) }}

),

tickers as (

    select * from {{ ref('stg_coinbase__tickers') }}
    where true {{- since(cutoff) }}

),

trades as (

    select * from {{ ref('stg_coinbase__trades') }}
    where true {{- since(cutoff) }}

),

rejected_rows as (

    select * from {{ ref('stg_coinbase__rejected_rows') }}
    where true {{- since(cutoff) }}

),

flagged_prices as (

    select * from {{ ref('int_prices_flagged') }}
    where true {{- since(cutoff) }}

),

ingest_errors as (

    select * from {{ ref('stg_coinbase__ingest_errors') }}
    where true {{- since(cutoff) }}

),

rules as (

    select * from (
        values
        ('book_snapshot', 'product_not_configured', 'drop'),
        ('book_snapshot', 'crossed_book', 'drop'),
        ('book_snapshot', 'mid_outside_price_range', 'warn'),
        ('book_level', 'price_null', 'drop'),
        ('book_level', 'price_not_numeric', 'drop'),
        ('book_level', 'price_not_positive', 'drop'),
        ('book_level', 'size_null', 'drop'),
        ('book_level', 'size_not_numeric', 'drop'),
        ('book_level', 'size_not_positive', 'drop'),
        ('book_bucket', 'side_not_bid_ask', 'drop'),
        ('book_bucket', 'bucket_not_integer', 'drop'),
        ('book_bucket', 'size_not_numeric', 'drop'),
        ('book_bucket', 'size_not_positive', 'drop'),
        ('book_bucket', 'notional_not_numeric', 'drop'),
        ('book_bucket', 'notional_not_positive', 'drop'),
        ('book_bucket', 'level_count_not_positive', 'drop'),
        ('ticker', 'product_not_configured', 'drop'),
        ('ticker', 'price_not_numeric', 'drop'),
        ('ticker', 'price_not_positive', 'drop'),
        ('ticker', 'price_outside_range', 'warn'),
        ('ticker', 'ticker_price_vs_mid', 'warn'),
        ('trade', 'product_not_configured', 'drop'),
        ('trade', 'price_not_numeric', 'drop'),
        ('trade', 'price_not_positive', 'drop'),
        ('trade', 'size_not_numeric', 'drop'),
        ('trade', 'size_not_positive', 'drop'),
        ('trade', 'side_not_buy_sell', 'drop'),
        ('trade', 'trade_price_vs_mid', 'warn'),
        {%- for entity, kinds in fetch_error_kinds.items() %}
        {%- set outer = loop %}
        {%- for kind in kinds %}
        ('{{ entity }}', '{{ kind }}', 'drop'){{ "," if not (outer.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    ) as rules (entity, rule, rule_kind)

),

-- rows that reached staging, per window, product and entity
kept as (

    select
        product_id,
        slot_at,
        'book_snapshot' as entity
    from book_snapshots
    union all
    select
        product_id,
        slot_at,
        'book_level' as entity
    from book_levels
    union all
    select
        product_id,
        slot_at,
        'book_bucket' as entity
    from book_buckets
    union all
    select
        product_id,
        slot_at,
        'ticker' as entity
    from tickers
    union all
    select
        product_id,
        slot_at,
        'trade' as entity
    from trades

),

checked as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        count(*) as rows_checked
    from (
        select
            product_id,
            slot_at,
            entity
        from kept
        union all
        select
            product_id,
            slot_at,
            entity
        from rejected_rows
    ) as all_rows
    group by 1, 2, 3

),

dropped_in_staging as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        rejection_rule as rule,
        count(*) as rows_dropped
    from rejected_rows
    group by 1, 2, 3, 4

),

dropped_from_kpis as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'book_snapshot' as entity,
        'crossed_book' as rule,
        count(*) as rows_dropped
    from measured_snapshots
    where is_crossed
    group by 1, 2, 3, 4

),

warned as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        rule,
        count(*) as rows_warned
    from flagged_prices
    where is_flagged
    group by 1, 2, 3, 4

),

row_results as (

    select
        checked.window_start,
        checked.product_id,
        checked.entity,
        rules.rule,
        rules.rule_kind,
        checked.rows_checked,
        coalesce(dropped_in_staging.rows_dropped, dropped_from_kpis.rows_dropped, 0) as rows_dropped,
        coalesce(warned.rows_warned, 0) as rows_warned,
        cast(null as bigint) as slots_expected,
        cast(null as bigint) as slots_landed
    from checked
    inner join rules
        on checked.entity = rules.entity
    left join dropped_in_staging
        on checked.window_start = dropped_in_staging.window_start
        and checked.product_id = dropped_in_staging.product_id
        and checked.entity = dropped_in_staging.entity
        and rules.rule = dropped_in_staging.rule
    left join dropped_from_kpis
        on checked.window_start = dropped_from_kpis.window_start
        and checked.product_id = dropped_from_kpis.product_id
        and checked.entity = dropped_from_kpis.entity
        and rules.rule = dropped_from_kpis.rule
    left join warned
        on checked.window_start = warned.window_start
        and checked.product_id = warned.product_id
        and checked.entity = warned.entity
        and rules.rule = warned.rule

),

-- every fetch of a (product, slot, endpoint): landed (a raw row, kept or rejected) or failed (an ingest error row)
fetch_outcomes as (

    select
        product_id,
        slot_at,
        'book_fetch' as entity,
        cast(null as text) as error_kind
    from book_snapshots
    union all
    select
        product_id,
        slot_at,
        'book_fetch' as entity,
        cast(null as text) as error_kind
    from rejected_rows
    where entity = 'book_snapshot'
    union all
    select
        product_id,
        slot_at,
        'ticker_fetch' as entity,
        cast(null as text) as error_kind
    from tickers
    union all
    select
        product_id,
        slot_at,
        'ticker_fetch' as entity,
        cast(null as text) as error_kind
    from rejected_rows
    where entity = 'ticker'
    union all
    select
        product_id,
        slot_at,
        concat(endpoint, '_fetch') as entity,
        error_kind
    from ingest_errors
    where endpoint in ('book', 'ticker')

),

-- one row per slot: landed, or failed with its kind. The landing deletes the error row of a slot it lands (and
-- never writes one for a landed slot); should one remain, the landing counts and the error does not
-- (tests/assert_no_error_for_a_landed_slot.sql warns about it).
fetch_slots as (

    select
        product_id,
        slot_at,
        entity,
        {{ dbt.bool_or('error_kind is null') }} as is_landed,
        max(error_kind) as error_kind
    from fetch_outcomes
    group by 1, 2, 3

),

fetch_windows as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        count(*) as slots_expected,
        count(*) filter (where is_landed) as slots_landed
    from fetch_slots
    group by 1, 2, 3

),

fetch_failures as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        entity,
        error_kind as rule,
        count(*) as rows_dropped
    from fetch_slots
    where not is_landed
    group by 1, 2, 3, 4

),

fetch_rules as (

    select
        fetch_windows.window_start,
        fetch_windows.product_id,
        fetch_windows.entity,
        rules.rule
    from fetch_windows
    inner join rules
        on fetch_windows.entity = rules.entity
    union
    select
        window_start,
        product_id,
        entity,
        rule
    from fetch_failures

),

fetch_results as (

    select
        fetch_rules.window_start,
        fetch_rules.product_id,
        fetch_rules.entity,
        fetch_rules.rule,
        'drop' as rule_kind,
        fetch_windows.slots_expected as rows_checked,
        coalesce(fetch_failures.rows_dropped, 0) as rows_dropped,
        0 as rows_warned,
        fetch_windows.slots_expected,
        fetch_windows.slots_landed
    from fetch_rules
    inner join fetch_windows
        on fetch_rules.window_start = fetch_windows.window_start
        and fetch_rules.product_id = fetch_windows.product_id
        and fetch_rules.entity = fetch_windows.entity
    left join fetch_failures
        on fetch_rules.window_start = fetch_failures.window_start
        and fetch_rules.product_id = fetch_failures.product_id
        and fetch_rules.entity = fetch_failures.entity
        and fetch_rules.rule = fetch_failures.rule

),

-- the trades endpoint: only its failures leave a row (a failed fetch, or a range of prints given up)
trade_fetch_failures as (

    select
        {{ floor_timestamp('slot_at', window_seconds) }} as window_start,
        product_id,
        'trade_fetch' as entity,
        error_kind as rule,
        count(*) as rows_dropped
    from ingest_errors
    where endpoint = 'trades'
    group by 1, 2, 3, 4

),

trade_fetch_results as (

    select
        window_start,
        product_id,
        entity,
        rule,
        'drop' as rule_kind,
        sum(rows_dropped) over (partition by window_start, product_id) as rows_checked,
        rows_dropped,
        0 as rows_warned,
        cast(null as bigint) as slots_expected,
        cast(null as bigint) as slots_landed
    from trade_fetch_failures

),

results as (

    select * from row_results
    union all
    select * from fetch_results
    union all
    select * from trade_fetch_results

),

final as (

    select
        -- ids
        product_id,
        entity,
        rule,
        rule_kind,
        -- numerics
        cast(rows_checked as bigint) as rows_checked,
        cast(rows_dropped as bigint) as rows_dropped,
        cast(rows_warned as bigint) as rows_warned,
        -- timestamps
        window_start,
        -- numerics: fetch accounting (book_fetch and ticker_fetch only; the same on every rule of the window)
        cast(slots_expected as bigint) as slots_expected,
        cast(slots_landed as bigint) as slots_landed,
        {{ kpi_round('cast(slots_landed as numeric) / slots_expected') }} as completeness
    from results

)

select * from final
