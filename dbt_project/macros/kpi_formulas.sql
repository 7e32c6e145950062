{#- The per-snapshot KPI formulas (docs/architecture.md#kpi-definitions), one macro each; the models call them and unit
    tests pin them. -#}

{#- (best_ask - best_bid) / mid x 10^4 -#}
{% macro spread_bps(best_bid, best_ask) -%}
    (({{ best_ask }} - {{ best_bid }}) / (({{ best_bid }} + {{ best_ask }}) / 2) * 10000)
{%- endmacro %}

{#- (best_bid * ask_size_1 + best_ask * bid_size_1) / (bid_size_1 + ask_size_1) -#}
{% macro microprice(best_bid, bid_size, best_ask, ask_size) -%}
    (({{ best_bid }} * {{ ask_size }} + {{ best_ask }} * {{ bid_size }}) / nullif({{ bid_size }} + {{ ask_size }}, 0))
{%- endmacro %}

{#- (bid_qty - ask_qty) / (bid_qty + ask_qty), in [-1, 1]; NULL when both sides are empty. -#}
{% macro imbalance(bid_qty, ask_qty) -%}
    ((coalesce({{ bid_qty }}, 0) - coalesce({{ ask_qty }}, 0))
        / nullif(coalesce({{ bid_qty }}, 0) + coalesce({{ ask_qty }}, 0), 0))
{%- endmacro %}

{#- 'buy' above +threshold, 'sell' below -threshold, else 'neutral' (also when there is no imbalance). -#}
{% macro intent_label(imbalance) -%}
    case
        when {{ imbalance }} > {{ num(setting('intent_threshold')) }} then 'buy'
        when {{ imbalance }} < -{{ num(setting('intent_threshold')) }} then 'sell'
        else 'neutral'
    end
{%- endmacro %}

{#- Ratios are stored to 10 decimal places: far below any tick or basis point, and equal wherever they are
    recomputed (full refresh vs incremental, unit-test expectations). -#}
{% macro kpi_round(expr) -%}
    {{ trim_decimal('round(' ~ expr ~ ', 10)') }}
{%- endmacro %}
