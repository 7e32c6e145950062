"""Render `superset/assets/` — Jinja templates of a Superset export bundle — into the zip Superset imports.

The templates mirror an export bundle (`metadata.yaml`, `databases/`, `datasets/`, `charts/`, `dashboards/`):
- database and dataset templates are rendered once (datasets are shared: each chart filters its product);
- every chart template and the dashboard template are rendered once per configured symbol, so adding a coin to
  `include/crypto_insights.yaml` adds its dashboard and nothing else changes;
- objects are tied by uuids only, derived deterministically (uuid5) from the object's kind, symbol and template
  name: re-rendering gives the same uuids, so a re-import updates objects in place;
- the database URI carries Superset's password mask, never a password: the bootstrap passes the reader's
  password to the import alongside the bundle.
Band and order-size columns follow the config exactly as the dbt marts name them (`transform.dbt_vars`).
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml

from crypto_insights.config import Settings, SymbolSettings, load_settings
from crypto_insights.dashboards.layout import chart_rows, position_tree
from crypto_insights.paths import SUPERSET_DIR
from crypto_insights.postgres.connection import Endpoint
from crypto_insights.transform.dbt_vars import band_label, usd_label

ASSETS_DIR = SUPERSET_DIR / "assets"
BUNDLE_ROOT = "crypto_insights_assets"
# Fixed forever: every asset uuid derives from it, and Superset finds existing objects by uuid.
NAMESPACE = uuid.UUID("5b0f3c1e-8d1a-4c53-9a43-7e2b1f0c9d61")
# Superset's own mask for a password left out of an export (superset.constants.PASSWORD_MASK).
PASSWORD_MASK = "X" * 10
DATABASE_FILE = "databases/crypto_warehouse.yaml"
DATABASE_KEY = "crypto_warehouse"
# Marks what the bundle manages (superset/provision.py prunes marked objects the bundle no longer holds).
MANAGED_BY = "Crypto Insights (superset/assets)"
TEMPLATE_SUFFIX = ".yaml.j2"


class BundleError(ValueError):
    """A template renders to something Superset cannot import; the message names the template."""


def asset_uuid(kind: str, *parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join((kind, *parts))))


def dashboard_slug(product_id: str) -> str:
    return product_id.lower()


@dataclass(frozen=True)
class WarehouseTarget:
    """Where Superset's database connection points, without the password."""

    host: str
    port: int
    dbname: str
    user: str
    driver: str = "postgresql+psycopg2"

    @classmethod
    def from_endpoint(cls, ep: Endpoint) -> WarehouseTarget:
        return cls(ep.host, ep.port, ep.dbname, ep.user)

    def masked_uri(self) -> str:
        return f"{self.driver}://{self.user}:{PASSWORD_MASK}@{self.host}:{self.port}/{self.dbname}"


@dataclass(frozen=True)
class DashboardRef:
    product_id: str
    uuid: str
    slug: str
    title: str
    chart_uuids: tuple[str, ...]


@dataclass
class Bundle:
    """The rendered files (path inside the bundle -> YAML text) and what they hold."""

    files: dict[str, str]
    database_uuid: str
    dashboards: list[DashboardRef] = field(default_factory=list)

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name in sorted(self.files):
                info = zipfile.ZipInfo(f"{BUNDLE_ROOT}/{name}", date_time=(2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, self.files[name])
        return buffer.getvalue()

    def write_zip(self, path: Path) -> Path:
        """Write the zip (byte-identical for identical input) and return its path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(self.zip_bytes())
        tmp.replace(path)
        return path


# -- what the templates can use ------------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _bands(settings: Settings) -> list[dict[str, str]]:
    return [{"pct": _number(b), "bps": _number(b * 100), "label": band_label(b)} for b in settings.kpis.bands_pct]


def _sizes(settings: Settings) -> list[dict[str, str]]:
    return [{"usd": _number(u), "label": usd_label(u)} for u in settings.kpis.slippage_usd]


def price_format(symbol: SymbolSettings) -> str:
    """A d3 number format showing prices to the product's tick (quote_increment 0.0001 -> 4 decimals)."""
    exponent = symbol.quote_increment.normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 2
    return f",.{decimals}f"


def _filter_name(spec: Mapping[str, Any]) -> str:
    return "filter_" + hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def _simple_filter(column: str, operator: str, value: Any) -> dict[str, Any]:
    spec = {"clause": "WHERE", "expressionType": "SIMPLE", "subject": column, "operator": operator, "comparator": value}
    return {**spec, "filterOptionName": _filter_name(spec), "isExtra": False, "isNew": False}


def _time_filter(column: str, time_range: str) -> dict[str, Any]:
    return _simple_filter(column, "TEMPORAL_RANGE", time_range)


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Renderer:
    def __init__(self, settings: Settings, warehouse: WarehouseTarget, assets_dir: Path) -> None:
        self.settings = settings
        self.assets_dir = assets_dir
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(assets_dir)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        self.env.filters["tojson"] = _tojson
        self.database_uuid = asset_uuid("database", DATABASE_KEY)
        self.dataset_uuids = {key: asset_uuid("dataset", key) for key in self.template_keys("datasets")}
        self.common: dict[str, Any] = {
            "settings": settings,
            "ingest": settings.ingest,
            "kpis": settings.kpis,
            "bands": _bands(settings),
            "sizes": _sizes(settings),
            "warehouse": warehouse,
            "database_uuid": self.database_uuid,
            "dataset_uuid": self._dataset_uuid,
            "managed_by": MANAGED_BY,
            "product_filter": lambda product_id: _simple_filter("product_id", "==", product_id),
            "time_filter": _time_filter,
        }

    def template_keys(self, folder: str) -> list[str]:
        paths = (self.assets_dir / folder).glob(f"*{TEMPLATE_SUFFIX}")
        found = sorted(p.name.removesuffix(TEMPLATE_SUFFIX) for p in paths)
        if not found:
            raise BundleError(f"{self.assets_dir / folder}: no {TEMPLATE_SUFFIX} templates")
        return found

    def _dataset_uuid(self, key: str) -> str:
        if key not in self.dataset_uuids:
            raise BundleError(
                f"no dataset template {key!r} in {self.assets_dir / 'datasets'} "
                f"(known: {', '.join(sorted(self.dataset_uuids))})"
            )
        return self.dataset_uuids[key]

    def render(self, template: str, expected_uuid: str | None, **context: Any) -> dict[str, Any]:
        try:
            text = self.env.get_template(template).render(**self.common, **context)
        except jinja2.TemplateError as exc:
            raise BundleError(f"{self.assets_dir / template}: {type(exc).__name__}: {exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BundleError(f"{self.assets_dir / template} does not render to valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise BundleError(f"{self.assets_dir / template} must render to a mapping")
        if expected_uuid is not None and data.get("uuid") != expected_uuid:
            raise BundleError(f"{self.assets_dir / template}: `uuid` must be {{{{ uuid }}}} (got {data.get('uuid')!r})")
        return data

    def symbol_context(self, symbol: SymbolSettings) -> dict[str, Any]:
        pid = symbol.product_id
        return {
            "symbol": symbol,
            "product_id": pid,
            "slug": dashboard_slug(pid),
            "price_format": price_format(symbol),
        }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (dataset SQL) as literal blocks, so the rendered bundle reads like the template."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def render_bundle(
    settings: Settings | None = None, warehouse: WarehouseTarget | None = None, assets_dir: Path = ASSETS_DIR
) -> Bundle:
    """Render every template for the configured symbols; raises BundleError naming the template at fault."""
    settings = settings or load_settings()
    if warehouse is None:
        from crypto_insights.postgres.connection import endpoint

        warehouse = WarehouseTarget.from_endpoint(endpoint("reader"))
    r = _Renderer(settings, warehouse, assets_dir)
    files: dict[str, str] = {"metadata.yaml": _dump(r.render("metadata.yaml.j2", None))}

    database = r.render(f"databases/{DATABASE_KEY}{TEMPLATE_SUFFIX}", r.database_uuid, uuid=r.database_uuid)
    files[DATABASE_FILE] = _dump(database)

    for key, dataset_uuid in r.dataset_uuids.items():
        dataset = r.render(f"datasets/{key}{TEMPLATE_SUFFIX}", dataset_uuid, uuid=dataset_uuid)
        if dataset.get("database_uuid") != r.database_uuid:
            raise BundleError(f"datasets/{key}{TEMPLATE_SUFFIX}: `database_uuid` must be {{{{ database_uuid }}}}")
        files[f"datasets/{DATABASE_KEY}/{key}.yaml"] = _dump(dataset)

    bundle = Bundle(files, r.database_uuid)
    chart_keys = r.template_keys("charts")
    dashboard_keys = r.template_keys("dashboards")
    dataset_uuids = set(r.dataset_uuids.values())
    for symbol in settings.symbols:
        ctx = r.symbol_context(symbol)
        pid = symbol.product_id
        charts: dict[str, tuple[str, str]] = {}
        for key in chart_keys:
            chart_uuid = asset_uuid("chart", pid, key)
            chart = r.render(f"charts/{key}{TEMPLATE_SUFFIX}", chart_uuid, uuid=chart_uuid, **ctx)
            if chart.get("dataset_uuid") not in dataset_uuids:
                raise BundleError(f"charts/{key}{TEMPLATE_SUFFIX}: `dataset_uuid` must be {{{{ dataset_uuid(...) }}}}")
            if chart.get("params", {}).get("viz_type") != chart.get("viz_type"):
                raise BundleError(f"charts/{key}{TEMPLATE_SUFFIX}: params.viz_type must equal viz_type")
            charts[key] = (chart_uuid, chart["slice_name"])
            files[f"charts/{pid}/{key}.yaml"] = _dump(chart)
        for key in dashboard_keys:
            dashboard_uuid = asset_uuid("dashboard", pid, key)
            where = f"dashboards/{key}{TEMPLATE_SUFFIX}"
            dashboard = r.render(where, dashboard_uuid, uuid=dashboard_uuid, **ctx)
            rows = chart_rows(dashboard.pop("layout", None), charts, where)
            dashboard["position"] = position_tree(dashboard["dashboard_title"], rows)
            files[f"dashboards/{pid}_{key}.yaml"] = _dump(dashboard)
            bundle.dashboards.append(
                DashboardRef(
                    pid,
                    dashboard_uuid,
                    dashboard.get("slug") or "",
                    dashboard["dashboard_title"],
                    tuple(chart.uuid for row in rows for chart in row),
                )
            )
    return bundle
