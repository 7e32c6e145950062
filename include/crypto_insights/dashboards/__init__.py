"""Superset for the warehouse: dashboards rendered as code from the one config, provisioned and served.

- `bundle`: renders `superset/assets/` (Jinja templates of a Superset export bundle) into an import zip;
- `layout`: a dashboard's rows of charts as Superset's position tree;
- `environment`: Superset's virtualenv, its environment variables and the warehouse role it reads as;
- `bootstrap`: migrate, admin, roles, import, prune, check (`superset/provision.py` in Superset's venv);
- `server`: the web server as a background process (demo) or in the foreground (containers);
- `cli`: `crypto-insights superset bootstrap|start|stop|status|serve|bundle`.
"""
