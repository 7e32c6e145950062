{#- No row of `model` is flagged by the warn rule `rule` (`is_flagged`, as int_prices_flagged computes it). Meant as
    a `severity: warn` test: each flagged row is kept, counted here and in fct_data_quality's rows_warned, from the
    same column, so the warning count and the dashboards agree (docs/architecture.md#data-quality). -#}
{% test not_flagged(model, rule, rule_column='rule', flag_column='is_flagged') %}
    select *
    from {{ model }}
    where {{ rule_column }} = '{{ rule }}'
        and {{ flag_column }}
{% endtest %}
