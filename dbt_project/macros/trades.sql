{#- The trade tape's incremental ranges (docs/architecture.md#trades).

    raw.coinbase_trades is partitioned by day on traded_at, but what a micro-batch must take in is what was *fetched*
    since the last build: each print carries slot_at, the slot whose landing fetched it (landed within that slot).
    A print fetched now may be old (the landing pages back into a gap left by an outage), so staging selects by
    slot_at and bounds traded_at only to prune partitions: prints landed more than `trade_landing_horizon_hours()`
    after they were traded reach staging only through a longer lookback or a full refresh
    (docs/architecture.md#known-gaps). -#}

{#- How long after a print was traded its landing may come, for pruning raw's partitions: the landing gives up gaps
    older than trades_backfill_hours, and a day more covers the last page it lands of one (1000 prints of a quiet
    coin may span hours) and the first page of a product it has never landed. -#}
{% macro trade_landing_horizon_hours() -%}
    {{- return((setting('trades_backfill_hours') | int) + 24) -}}
{%- endmacro %}

{#- `and slot_at >= <cutoff> and traded_at >= <cutoff - horizon>` when there is a cutoff: the prints fetched since
    `cutoff`, with a literal bound on the partition key. Nothing otherwise (a full build reads all of raw). -#}
{% macro fetched_since(cutoff) -%}
    {%- if cutoff is not none %} and slot_at >= {{ cutoff }}
        and traded_at >= {{ cutoff }} - interval '{{ trade_landing_horizon_hours() }} hours'{% endif -%}
{%- endmacro %}

{#- The staging cutoff of the trade tape: the newest slot stg_coinbase__trades holds minus `lookback_minutes`, read
    before this run rebuilds it. stg_coinbase__trades and stg_coinbase__rejected_trades both use it (the second is
    built first: its own newest slot can be days old, as rejected prints are rare), so every print fetched since is
    either kept or rejected in the same run. None on a full refresh or before the first build. -#}
{% macro trades_staging_cutoff() %}
    {%- if this is none or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- if model.name == 'stg_coinbase__trades' -%}
        {%- set relation = this -%}
    {%- else -%}
        {%- set relation = model_relation('stg_coinbase__trades') -%}
        {%- if relation is none -%}{{ return(none) }}{%- endif -%}
    {%- endif -%}
    {{ return(timestamp_from_query('select ' ~ minus_minutes('max(slot_at)', setting('lookback_minutes'))
        ~ ' from ' ~ relation)) }}
{% endmacro %}

{#- The relation of one of this project's models as it exists in the database (none when not built yet), looked up
    without a ref, so that reading its state adds no dependency. -#}
{% macro model_relation(name) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('package_name', 'equalto', project_name) | selectattr('name', 'equalto', name) | list -%}
    {{ return(adapter.get_relation(nodes[0].database, nodes[0].schema, nodes[0].alias) if nodes else none) }}
{% endmacro %}

{#- Where a model fed by the trade tape starts rebuilding: its own lookback (the newest `column` it holds minus
    `lookback_minutes`), or earlier, back to the oldest print fetched since its own newest `fetched_column` minus
    `lookback_minutes` (prints the landing paged back for after an outage), floored to `align_seconds`. `trades` is
    ref('stg_coinbase__trades'), passed by the model so the dependency is declared. None on a full build. -#}
{% macro trades_cutoff(trades, column, align_seconds, fetched_column) %}
    {%- if this is none or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set lookback = setting('lookback_minutes') -%}
    {#- `offset 0` keeps PostgreSQL from answering min() by walking the traded_at index from the oldest print
        until one passes the slot_at filter (all of history, as it grows); this reads the slot_at range instead -#}
    {%- set earliest_fetched = '(select min(traded_at) from (select traded_at from ' ~ trades
        ~ ' where slot_at >= marks.fetched_since offset 0) as fetched)' -%}
    {%- set query -%}
        select {{ floor_timestamp('least(marks.newest, ' ~ earliest_fetched ~ ')', align_seconds) }}
        from (
            select
                {{ minus_minutes('max(' ~ column ~ ')', lookback) }} as newest,
                {{ minus_minutes('max(' ~ fetched_column ~ ')', lookback) }} as fetched_since
            from {{ this }}
        ) as marks
    {%- endset -%}
    {{ return(timestamp_from_query(query)) }}
{% endmacro %}

{#- The taker's side of a print: Coinbase's `side` is the maker's (a 'sell' print was taken by a buyer). -#}
{% macro taker_side(maker_side) -%}
    (case {{ maker_side }} when 'sell' then 'buy' when 'buy' then 'sell' end)
{%- endmacro %}

{#- The configured products' whale-trade floors as a relation: product_id, whale_trade_floor_usd. -#}
{% macro whale_trade_floors() -%}
    (
        values
        {%- for p in setting('products') %}
        ('{{ p.product_id }}', {{ num(p.whale_trade_floor_usd) }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as whale_trade_floors (product_id, whale_trade_floor_usd)
{%- endmacro %}

{#- The trade figures per product and period of traded_at (`period_seconds`: 30 s windows, days), as CTEs after a
    CTE `trades_cte` of stg_coinbase__trades rows; the last one, `final`, has one row per product and period with
    prints: by taker side, prints, base volume Σ size and quote volume Σ price·size; VWAP = Σ price·size / Σ size
    (overall and per taker side, NULL for a side without prints); order-flow imbalance = (buy − sell) / (buy + sell)
    of quote volume; the largest print by notional (the lowest trade id among equals); the first and last trade id;
    the last slot that fetched one of the prints. docs/architecture.md#trades. -#}
{% macro trade_figures(trades_cte, period_seconds, period_column) %}
trades_in_periods as (

    select
        *,
        {{ floor_timestamp('traded_at', period_seconds) }} as {{ period_column }},
        row_number() over (
            partition by product_id, {{ floor_timestamp('traded_at', period_seconds) }}
            order by notional desc, trade_id
        ) as notional_rank,
        last_value(source) over (
            partition by product_id, {{ floor_timestamp('traded_at', period_seconds) }}
            order by trade_id
            rows between unbounded preceding and unbounded following
        ) as last_source
    from {{ trades_cte }}

),

periods as (

    select
        product_id,
        {{ period_column }},
        max(last_source) as source,
        count(*) as trade_count,
        count(*) filter (where taker_side = 'buy') as taker_buy_count,
        count(*) filter (where taker_side = 'sell') as taker_sell_count,
        sum(size) as base_volume,
        coalesce(sum(size) filter (where taker_side = 'buy'), 0) as taker_buy_base_volume,
        coalesce(sum(size) filter (where taker_side = 'sell'), 0) as taker_sell_base_volume,
        sum(notional) as quote_volume,
        coalesce(sum(notional) filter (where taker_side = 'buy'), 0) as taker_buy_quote_volume,
        coalesce(sum(notional) filter (where taker_side = 'sell'), 0) as taker_sell_quote_volume,
        min(trade_id) as first_trade_id,
        max(trade_id) as last_trade_id,
        max(slot_at) as last_slot_at
    from trades_in_periods
    group by product_id, {{ period_column }}

),

largest as (

    select
        product_id,
        {{ period_column }},
        trade_id as largest_trade_id,
        taker_side as largest_trade_taker_side,
        price as largest_trade_price,
        size as largest_trade_size,
        notional as largest_trade_notional
    from trades_in_periods
    where notional_rank = 1

),

final as (

    select
        -- ids
        periods.product_id,
        periods.source,
        -- numerics: prints and volume by taker side
        cast(periods.trade_count as bigint) as trade_count,
        cast(periods.taker_buy_count as bigint) as taker_buy_count,
        cast(periods.taker_sell_count as bigint) as taker_sell_count,
        {{ trim_decimal('periods.base_volume') }} as base_volume,
        {{ trim_decimal('periods.taker_buy_base_volume') }} as taker_buy_base_volume,
        {{ trim_decimal('periods.taker_sell_base_volume') }} as taker_sell_base_volume,
        {{ trim_decimal('periods.quote_volume') }} as quote_volume,
        {{ trim_decimal('periods.taker_buy_quote_volume') }} as taker_buy_quote_volume,
        {{ trim_decimal('periods.taker_sell_quote_volume') }} as taker_sell_quote_volume,
        -- numerics: VWAP and order flow
        {{ kpi_round('periods.quote_volume / periods.base_volume') }} as vwap,
        {{ kpi_round('periods.taker_buy_quote_volume / nullif(periods.taker_buy_base_volume, 0)') }}
            as taker_buy_vwap,
        {{ kpi_round('periods.taker_sell_quote_volume / nullif(periods.taker_sell_base_volume, 0)') }}
            as taker_sell_vwap,
        {{ kpi_round(imbalance('periods.taker_buy_quote_volume', 'periods.taker_sell_quote_volume')) }}
            as order_flow_imbalance,
        -- the largest print
        largest.largest_trade_id,
        largest.largest_trade_taker_side,
        {{ trim_decimal('largest.largest_trade_price') }} as largest_trade_price,
        {{ trim_decimal('largest.largest_trade_size') }} as largest_trade_size,
        {{ trim_decimal('largest.largest_trade_notional') }} as largest_trade_notional,
        -- ids: the range of the period's prints
        periods.first_trade_id,
        periods.last_trade_id,
        -- timestamps
        periods.last_slot_at,
        periods.{{ period_column }}

    from periods
    inner join largest
        on periods.product_id = largest.product_id
        and periods.{{ period_column }} = largest.{{ period_column }}

)
{% endmacro %}
