{#- Data tests on history that grows by the day check only what the micro-batch (re)built, so a build stays as fast
    after a week of data as after an hour (docs/architecture.md#performance-targets). A test's `where` config may say
    `__recent__(column)`: it becomes `column >= <literal>`, the latest measured slot minus `lookback_minutes`,
    floored to a whole window. The literal lets PostgreSQL use the column's index or prune raw partitions (also
    through staging views). Before the first build of int_book_snapshots_measured every row is tested; so is every
    row when a build runs with a long lookback (the maintenance DAG's daily build). Overrides dbt's
    get_where_subquery (a root-project macro of the same name wins); anything else in `where` stays as written. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__recent__' in where -%}
        {%- set where = expand_recent(where) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- `__recent__(column)` -> `column >= <literal>` (or `true` when nothing was measured yet). -#}
{% macro expand_recent(where) -%}
    {%- set start = recent_start() -%}
    {%- set result = namespace(where=where) -%}
    {%- for column in modules.re.findall('__recent__[(] *([a-z_0-9]+) *[)]', where) | unique -%}
        {%- set predicate = 'true' if start is none else '(' ~ column ~ ' >= ' ~ start ~ ')' -%}
        {%- set result.where = modules.re.sub('__recent__[(] *' ~ column ~ ' *[)]', predicate, result.where) -%}
    {%- endfor -%}
    {{- return(result.where) -}}
{%- endmacro %}

{#- The first instant recent tests look at, as a SQL literal, or none before the first measured slot. -#}
{% macro recent_start() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('package_name', 'equalto', project_name)
        | selectattr('name', 'equalto', 'int_book_snapshots_measured') | list -%}
    {%- set relation = adapter.get_relation(nodes[0].database, nodes[0].schema, nodes[0].alias) if nodes else none -%}
    {%- if relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set start = floor_timestamp(minus_minutes('max(slot_at)', setting('lookback_minutes')),
        setting('window_seconds')) -%}
    {{- return(timestamp_from_query('select ' ~ start ~ ' from ' ~ relation)) -}}
{%- endmacro %}

{#- The first window not yet settled, as a SQL literal (or none): tests that compare layers look only at the windows
    before it. Slots keep landing while dbt runs; a slot landing after the first of `relations` (the tables built from
    raw in this run) was built reaches the views read later in the run but not that table, so only the windows whose
    slots are all at or before the newest slot every one of `relations` holds are compared. -#}
{% macro settled_until(relations) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set newest = [] -%}
    {%- for relation in relations -%}
        {%- do newest.append('(select max(slot_at) from ' ~ relation ~ ')') -%}
    {%- endfor -%}
    {%- set until = floor_timestamp('least(' ~ newest | join(', ') ~ ") + interval '" ~ setting('slot_seconds')
        ~ " seconds'", setting('window_seconds')) -%}
    {{- return(timestamp_from_query('select ' ~ until)) -}}
{%- endmacro %}
