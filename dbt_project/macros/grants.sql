{#- Superset's role reads marts: SELECT comes from each model's `grants` config, USAGE on the schema from here. -#}
{% macro grant_marts_usage(role) %}
    {%- if execute -%}
    do $$
    begin
        if exists (select 1 from pg_namespace where nspname = 'marts')
           and exists (select 1 from pg_roles where rolname = '{{ role }}') then
            grant usage on schema marts to {{ adapter.quote(role) }};
        end if;
    end
    $$;
    {%- endif -%}
{% endmacro %}
