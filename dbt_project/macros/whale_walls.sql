{#- Where fct_whale_walls must start reading walls in an incremental run: the lookback cutoff, or earlier when an
    episode still open (active, or seen since the cutoff) began before it, so that episode is rebuilt whole. -#}
{% macro whale_walls_cutoff() %}
    {%- if this is none or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set lookback = minus_minutes('max(last_seen_at)', setting('lookback_minutes')) -%}
    {%- set query -%}
        select least(
            max(lookback_at),
            min(first_seen_at) filter (
                where is_active or last_seen_at >= lookback_at - interval '{{ setting("slot_seconds") }} seconds'
            )
        )
        from {{ this }}
        cross join (select {{ lookback }} as lookback_at from {{ this }}) as cutoff
    {%- endset -%}
    {{ return(timestamp_from_query(query)) }}
{% endmacro %}
