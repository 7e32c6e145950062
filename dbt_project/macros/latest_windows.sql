{#- The CTEs `latest` (fct_order_book_latest: each product's latest window) and `latest_windows` (that window's
    whole row of fct_order_book_30s), for the marts that unpivot the latest window's band or size columns. -#}
{% macro latest_windows_ctes() %}
latest as (

    select * from {{ ref('fct_order_book_latest') }}

),

order_book_windows as (

    select * from {{ ref('fct_order_book_30s') }}

),

latest_windows as (

    select windows.*
    from order_book_windows as windows
    inner join latest
        on windows.product_id = latest.product_id
        and windows.window_start = latest.window_start

)
{%- endmacro %}
