{#- The lookback of incremental models: rebuild everything from (latest `column` already in this model) minus
    `lookback_minutes`, floored to `align_seconds` (a whole window) when given.

    Rendered as a literal timestamp (queried when the model compiles), so PostgreSQL prunes the raw partitions at
    plan time. Returns none on a full refresh or the first run: the model then reads all history. -#}
{% macro incremental_cutoff(column='slot_at', align_seconds=none) %}
    {%- if this is none or not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set lookback = setting('lookback_minutes') -%}
    {%- set expression = minus_minutes('max(' ~ column ~ ')', lookback) -%}
    {%- if align_seconds -%}{%- set expression = floor_timestamp(expression, align_seconds) -%}{%- endif -%}
    {%- set result = run_query("select " ~ expression ~ " from " ~ this) -%}
    {%- set value = result.columns[0].values()[0] if result and result.rows | length > 0 else none -%}
    {%- if value is none -%}{{ return(none) }}{%- endif -%}
    {{ return("timestamptz '" ~ value ~ "'") }}
{% endmacro %}

{#- `where <column> >= <cutoff>` in incremental runs, nothing otherwise (`and`-able with `where true`). -#}
{% macro incremental_filter(column='slot_at', align_seconds=none, cutoff_column=none) -%}
    {%- set cutoff = incremental_cutoff(cutoff_column or column, align_seconds) -%}
    {%- if cutoff is not none %} and {{ column }} >= {{ cutoff }}{% endif -%}
{%- endmacro %}

{#- `and <column> >= <cutoff>` when a cutoff was computed (an incremental run), nothing otherwise. -#}
{% macro since(cutoff, column='slot_at') -%}
    {%- if cutoff is not none %} and {{ column }} >= {{ cutoff }}{% endif -%}
{%- endmacro %}
