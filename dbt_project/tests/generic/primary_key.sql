{#- `columns` identify a row: none of them is NULL and no two rows share their values. One query for what
    not_null + unique_combination_of_columns check with three, which matters when every micro-batch runs the tests. -#}
{% test primary_key(model, columns) %}
    {%- set key = columns | join(', ') -%}
    select {{ key }}, count(*) as row_count
    from {{ model }}
    where {% for column in columns %}{{ column }} is not null{{ ' and ' if not loop.last }}{% endfor %}
    group by {{ key }}
    having count(*) > 1
    union all
    select {{ key }}, count(*) as row_count
    from {{ model }}
    where {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
    group by {{ key }}
{% endtest %}
