{#- The symbols and KPI settings of include/crypto_insights.yaml, rendered by crypto_insights.transform.dbt_vars. -#}
{% macro settings() %}
    {%- set value = var('crypto_insights', none) -%}
    {%- if value is none -%}
        {{ exceptions.raise_compiler_error(
            "the `crypto_insights` var is missing: run dbt through `crypto-insights dbt -- <args>`, or add "
            ~ "--vars \"$(python -m crypto_insights.transform.dbt_vars)\"") }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{#- One setting, e.g. setting('intent_threshold'). -#}
{% macro setting(key) %}
    {%- set value = settings() -%}
    {%- if key not in value -%}
        {{ exceptions.raise_compiler_error("the `crypto_insights` var has no `" ~ key ~ "`: re-render it with "
            ~ "crypto_insights.transform.dbt_vars (dbt and the package are out of step)") }}
    {%- endif -%}
    {{ return(value[key]) }}
{% endmacro %}

{#- A number from the settings as an exact SQL numeric literal. -#}
{% macro num(value) -%}
    cast('{{ value }}' as numeric)
{%- endmacro %}

{#- The configured products as a relation: product_id, currencies, price range, whale floor, increments. -#}
{% macro configured_products() -%}
    (
        values
        {%- for p in setting('products') %}
        ('{{ p.product_id }}', '{{ p.base_currency }}', '{{ p.quote_currency }}',
         {{ num(p.price_min) }}, {{ num(p.price_max) }}, {{ num(p.whale_floor_usd) }},
         {{ num(p.quote_increment) }}, {{ num(p.base_increment) }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as configured_products (
        product_id, base_currency, quote_currency, price_min, price_max, whale_floor_usd, quote_increment,
        base_increment
    )
{%- endmacro %}

{#- `'BTC-USD', 'ETH-USD', ...` for `in (...)` lists. -#}
{% macro configured_product_list() -%}
    {%- for p in setting('products') -%}'{{ p.product_id }}'{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}
