{#- The largest `column` of `relation` as a SQL literal (queried while the model compiles), or none. Marts about
    "the latest book" use it so PostgreSQL reads only the recent index range of their inputs. -#}
{% macro latest_timestamp(relation, column='slot_at', where='true') %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query("select max(" ~ column ~ ") from " ~ relation ~ " where " ~ where) -%}
    {%- set value = result.columns[0].values()[0] if result and result.rows | length > 0 else none -%}
    {{ return(none if value is none else "timestamptz '" ~ value ~ "'") }}
{% endmacro %}
