{#- Postgres-specific SQL, each behind adapter.dispatch so another adapter can supply its own
    (docs/architecture.md#scale-out). -#}

{#- Is `expr` (text) a plain decimal number (sign, digits, point, small exponent)? Checked before any cast, so a
    bad string is counted by a rule and never fails the build. The pattern is the project's one number syntax
    (crypto_insights.number_syntax, passed in the `crypto_insights` var): the edge counts the same levels. -#}
{% macro is_decimal_string(expr) -%}
    {{ return(adapter.dispatch('is_decimal_string', 'crypto_insights')(expr)) }}
{%- endmacro %}
{% macro default__is_decimal_string(expr) -%}
    ({{ expr }} ~ '^(?:{{ setting('decimal_syntax') }})$')
{%- endmacro %}

{#- Rows of a JSON array column: `element` (json) and `position` (1-based), for a lateral join. -#}
{% macro json_array_rows(expr) -%}
    {{ return(adapter.dispatch('json_array_rows', 'crypto_insights')(expr)) }}
{%- endmacro %}
{% macro default__json_array_rows(expr) -%}
    jsonb_array_elements({{ expr }}) with ordinality as elements (element, position)
{%- endmacro %}

{#- Element `i` (0-based) of a JSON array as text. -#}
{% macro json_item_text(expr, i) -%}
    {{ return(adapter.dispatch('json_item_text', 'crypto_insights')(expr, i)) }}
{%- endmacro %}
{% macro default__json_item_text(expr, i) -%}
    ({{ expr }} ->> {{ i }})
{%- endmacro %}

{#- How many elements a JSON array column holds. -#}
{% macro json_array_length(expr) -%}
    {{ return(adapter.dispatch('json_array_length', 'crypto_insights')(expr)) }}
{%- endmacro %}
{% macro default__json_array_length(expr) -%}
    jsonb_array_length({{ expr }})
{%- endmacro %}

{#- The median of `expr` in an aggregate. -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'crypto_insights')(expr)) }}
{%- endmacro %}
{% macro default__median(expr) -%}
    {#- exact for numeric (percentile_cont would go through double precision): the mean of the two middle values -#}
    ((percentile_disc(0.5) within group (order by {{ expr }})
        + percentile_disc(0.5) within group (order by {{ expr }} desc)) / 2)
{%- endmacro %}

{#- A numeric without trailing fractional zeros (100.5000 -> 100.5): one spelling per value. -#}
{% macro trim_decimal(expr) -%}
    {{ return(adapter.dispatch('trim_decimal', 'crypto_insights')(expr)) }}
{%- endmacro %}
{% macro default__trim_decimal(expr) -%}
    trim_scale({{ expr }})
{%- endmacro %}

{#- `ts` floored to a multiple of `seconds` since the epoch (UTC): 30 s windows, days. -#}
{% macro floor_timestamp(ts, seconds) -%}
    {{ return(adapter.dispatch('floor_timestamp', 'crypto_insights')(ts, seconds)) }}
{%- endmacro %}
{% macro default__floor_timestamp(ts, seconds) -%}
    date_bin(interval '{{ seconds }} seconds', {{ ts }}, timestamptz '1970-01-01 00:00:00+00')
{%- endmacro %}

{#- Seconds since the epoch (numeric). -#}
{% macro epoch_seconds(ts) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'crypto_insights')(ts)) }}
{%- endmacro %}
{% macro default__epoch_seconds(ts) -%}
    extract(epoch from {{ ts }})
{%- endmacro %}

{#- `ts` minus `minutes` minutes. -#}
{% macro minus_minutes(ts, minutes) -%}
    ({{ ts }} - interval '{{ minutes }} minutes')
{%- endmacro %}

{#- The price bucket a wall is tracked in across slots: the price truncated to 4 significant digits (1-10 bps
    wide whatever the coin's scale, and independent of the moving mid). -#}
{% macro price_bucket(price) -%}
    {{ return(adapter.dispatch('price_bucket', 'crypto_insights')(price)) }}
{%- endmacro %}
{% macro default__price_bucket(price) -%}
    trim_scale(trunc({{ price }}, cast(3 - floor(log({{ price }})) as integer)))
{%- endmacro %}

{#- Session settings for the model's transaction. The KPI models join CTEs PostgreSQL has no statistics for, so it
    estimates one row and picks nested loops that re-run whole aggregates per row (seconds instead of
    milliseconds); every join here is a bulk join, so hash joins are always the right plan. `merge_joins=false`
    rules out merge joins too, for a model whose inputs arrive sorted on only the first of several join keys: the
    merge then compares every row of a slot with every row of the same slot (int_book_tails_bucketed: 2.2 M
    rejected pairs and 290 ms for 12 slots; 110 ms hashed; docs/architecture.md#performance-targets). -#}
{% macro planner_settings(merge_joins=true) -%}
    {{ return(adapter.dispatch('planner_settings', 'crypto_insights')(merge_joins)) }}
{%- endmacro %}
{% macro default__planner_settings(merge_joins=true) -%}
    set local enable_nestloop = off{% if not merge_joins %}; set local enable_mergejoin = off{% endif %}
{%- endmacro %}

{#- A timestamp value (from a query run while compiling) as a SQL literal: a constant PostgreSQL plans with. -#}
{% macro timestamp_literal(value) -%}
    {{ return(adapter.dispatch('timestamp_literal', 'crypto_insights')(value)) }}
{%- endmacro %}
{% macro default__timestamp_literal(value) -%}
    {{ return("cast('" ~ value ~ "' as timestamp with time zone)") }}
{%- endmacro %}
