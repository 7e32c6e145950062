{#- Where fct_whale_walls must start reading walls in an incremental run: the lookback cutoff, or earlier when an
    episode still open (active, or seen since the cutoff) began before it, so that episode is rebuilt whole. -#}
{% macro whale_walls_cutoff() %}
    {%- if this is none or not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set lookback = minus_minutes('max(last_seen_at)', setting('lookback_minutes')) -%}
    {%- set query -%}
        with cutoff as (select {{ lookback }} as at from {{ this }})
        select least(
            (select at from cutoff),
            (select min(first_seen_at) from {{ this }}
             where is_active or last_seen_at >= (select at from cutoff) - interval '{{ setting("slot_seconds") }} seconds')
        )
    {%- endset -%}
    {%- set value = run_query(query).columns[0].values()[0] -%}
    {{ return(none if value is none else "timestamptz '" ~ value ~ "'") }}
{% endmacro %}
