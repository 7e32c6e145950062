{#- The lookback of incremental models: an incremental run rebuilds everything from (the latest `column` already in
    this model) minus `lookback_minutes`, floored to `align_seconds` (a whole window or day) when given, so slots
    that land late, or a window still filling, are recomputed. A literal (see timestamp_from_query), so PostgreSQL prunes
    the raw partitions and the delete of delete+insert touches only that range (macros/delete_insert.sql).
    Returns none on a full refresh or the first run: the model then reads all history. -#}
{% macro incremental_cutoff(column='slot_at', align_seconds=none, max_minutes=none) %}
    {%- if this is none or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set minutes = setting('lookback_minutes') if max_minutes is none
        else [setting('lookback_minutes'), max_minutes] | min -%}
    {%- set expression = minus_minutes('max(' ~ column ~ ')', minutes) -%}
    {%- if align_seconds -%}{%- set expression = floor_timestamp(expression, align_seconds) -%}{%- endif -%}
    {{ return(timestamp_from_query('select ' ~ expression ~ ' from ' ~ this)) }}
{% endmacro %}

{#- `and <column> >= <cutoff>` when there is a cutoff (an incremental run), nothing otherwise: `where true {{ since(c) }}`. -#}
{% macro since(cutoff, column='slot_at') -%}
    {%- if cutoff is not none %} and {{ column }} >= {{ cutoff }}{% endif -%}
{%- endmacro %}

{#- `and <column> < <bound>` (`<=` when `inclusive`) when there is a bound, nothing otherwise. -#}
{% macro before(bound, column='slot_at', inclusive=false) -%}
    {%- if bound is not none %} and {{ column }} {{ '<=' if inclusive else '<' }} {{ bound }}{% endif -%}
{%- endmacro %}

{#- The largest `column` of `relation` (rows matching `where`) as a literal, or none when it has no rows. Marts about
    "the latest book" use it so PostgreSQL reads only the recent index range of their inputs. -#}
{% macro latest_timestamp(relation, column='slot_at', where='true') %}
    {{ return(timestamp_from_query('select max(' ~ column ~ ') from ' ~ relation ~ ' where ' ~ where)) }}
{% endmacro %}

{#- Post-hook of the staging-sized tables: rows older than `retention_days` whole days before the latest slot go, as
    raw's daily partitions do (docs/architecture.md#retention); marts keep everything. Deletes one micro-batch's
    worth of old rows per run, through the slot_at index. Nothing to do on a full refresh (it reads raw, already
    within retention). -#}
{#- The exploded detail (levels, profile buckets, tails: tag `detail`, docs/architecture.md#retention) looks back at
    most `detail_retention_hours`, whatever the run's lookback, and its post-hook deletes the rows further behind
    the newest slot. -#}
{% macro detail_cutoff(column='slot_at') %}
    {{ return(incremental_cutoff(column, max_minutes=setting('detail_retention_hours') * 60)) }}
{% endmacro %}

{% macro delete_detail_rows(column='slot_at') %}
    {%- if not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set expiry = timestamp_from_query('select '
        ~ minus_minutes('max(' ~ column ~ ')', setting('detail_retention_hours') * 60) ~ ' from ' ~ this) -%}
    {%- if expiry is none -%}{{ return('') }}{%- endif -%}
    delete from {{ this }} where {{ column }} < {{ expiry }}
{% endmacro %}

{#- The smallest `column` of `relation` as a literal, or none when it has no rows. -#}
{% macro earliest_timestamp(relation, column='slot_at') %}
    {{ return(timestamp_from_query('select min(' ~ column ~ ') from ' ~ relation)) }}
{% endmacro %}

{% macro delete_expired_rows(column='slot_at') %}
    {%- if not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set expiry = timestamp_from_query('select ' ~ floor_timestamp('max(' ~ column ~ ')', 86400)
        ~ " - interval '" ~ setting('retention_days') ~ " days' from " ~ this) -%}
    {%- if expiry is none -%}{{ return('') }}{%- endif -%}
    delete from {{ this }} where {{ column }} < {{ expiry }}
{% endmacro %}
