{#- The one value of `select_sql`, queried while the model compiles and written into its SQL as a literal, so that
    PostgreSQL plans with it: it prunes raw partitions and reads only the index range it needs, with row estimates
    to match (a subquery in its place would be estimated at a third of the table). Returns none when the value is
    NULL. In a unit test the inputs are CTEs that do not exist in the database: there the query is returned as a
    scalar subquery instead, so the same model SQL runs on the fixtures. -#}
{% macro timestamp_from_query(select_sql) %}
    {%- if model.resource_type == 'unit_test' -%}{{ return('(' ~ select_sql ~ ')') }}{%- endif -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query(select_sql) -%}
    {%- set value = result.columns[0].values()[0] if result and result.rows | length > 0 else none -%}
    {{ return(none if value is none else timestamp_literal(value)) }}
{% endmacro %}
