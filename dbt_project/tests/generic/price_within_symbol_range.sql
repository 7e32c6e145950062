{#- The price column lies in its product's plausible range from the config (price_min..price_max); meant as a
    `severity: warn` test: an implausible price is kept and flagged, not dropped (DESIGN §6). -#}
{% test price_within_symbol_range(model, column_name, product_column='product_id') %}
    with

    model_rows as (

        select * from {{ model }}

    ),

    products as (

        select * from {{ configured_products() }}

    )

    select model_rows.*
    from model_rows
    inner join products
        on model_rows.{{ product_column }} = products.product_id
    where model_rows.{{ column_name }} < products.price_min
        or model_rows.{{ column_name }} > products.price_max
{% endtest %}
