{#- delete+insert for the lookback models (those configuring `lookback_column`): every incremental run recomputes
    everything from its cutoff on, so the delete removes the whole recomputed range, `<column> >= <least value
    inserted>`, written as a literal. PostgreSQL then deletes through the model's index on that column with a good
    row estimate; matching the unique key row by row instead (dbt's default) nests an index probe per inserted row
    and grows with history (see docs/architecture.md#performance-targets). Every key being inserted lies in that range,
    so this deletes what dbt's default would and, in addition, rows the recomputation no longer produces (two
    whale-wall episodes merged by a late slot). Nothing is deleted when nothing is inserted. -#}
{% macro postgres__get_incremental_delete_insert_sql(arg_dict) %}
    {%- set column = config.get('lookback_column') -%}
    {%- if not column -%}
        {{ return(get_delete_insert_merge_sql(arg_dict["target_relation"], arg_dict["temp_relation"],
            arg_dict["unique_key"], arg_dict["dest_columns"], arg_dict["incremental_predicates"])) }}
    {%- endif -%}
    {%- set least_value = run_query("select min(" ~ column ~ ") from " ~ arg_dict["temp_relation"]) -%}
    {%- set start = least_value.columns[0].values()[0] if least_value and least_value.rows | length > 0 else none -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    {%- if start is not none %}
    delete from {{ arg_dict["target_relation"] }}
    where {{ column }} >= {{ timestamp_literal(start) }}
        {%- for predicate in arg_dict["incremental_predicates"] or [] %}
        and {{ predicate }}
        {%- endfor %};
    {%- endif %}
    insert into {{ arg_dict["target_relation"] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict["temp_relation"] }}
{% endmacro %}
