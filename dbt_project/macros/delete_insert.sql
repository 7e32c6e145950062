{#- delete+insert that touches only the lookback range of the target: with `lookback_column` configured, the delete
    also says `<column> >= (least <column> being inserted)`, so PostgreSQL deletes through the model's index on
    that column instead of scanning all history (DESIGN §9: the micro-batch stays flat as history grows). -#}
{% macro postgres__get_incremental_delete_insert_sql(arg_dict) %}
    {%- set predicates = [] + (arg_dict["incremental_predicates"] or []) -%}
    {%- set column = config.get('lookback_column') -%}
    {%- if column -%}
        {%- do predicates.append("DBT_INTERNAL_DEST." ~ column ~ " >= (select min(" ~ column ~ ") from "
            ~ arg_dict["temp_relation"] ~ ")") -%}
    {%- endif -%}
    {% do return(get_delete_insert_merge_sql(arg_dict["target_relation"], arg_dict["temp_relation"],
        arg_dict["unique_key"], arg_dict["dest_columns"], predicates)) %}
{% endmacro %}
