{#- `column_name` is within `pct` percent of `reference` (a column of the same row): e.g. the last ticker price
    against the book mid. Rows where either side is NULL pass. -#}
{% test within_pct_of(model, column_name, reference, pct) %}
    select *
    from {{ model }}
    where {{ column_name }} is not null
        and {{ reference }} is not null
        and abs({{ column_name }} - {{ reference }}) / {{ reference }} * 100 > {{ num(pct) }}
{% endtest %}
