"""A dashboard's layout — rows of (chart, width) — as Superset's position tree (`position_json`, version v2).

Charts are referenced by uuid only. The importer requires a `chartId` key in each chart's meta and replaces
it with the id of the chart it finds by uuid, so every placeholder is 0: the bundle holds no numeric ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GRID_COLUMNS = 12


class LayoutError(ValueError):
    pass


@dataclass(frozen=True)
class PlacedChart:
    key: str
    uuid: str
    slice_name: str
    width: int
    height: int


def _element_id(kind: str, key: str) -> str:
    return f"{kind}-{key.replace('_', '-')}"


def chart_rows(layout: Any, charts: Mapping[str, tuple[str, str]], where: str) -> list[list[PlacedChart]]:
    """Validate a template's `layout` (a list of {height, charts: [[key, width], ...]}) against the charts.

    `charts` maps a chart key to (uuid, slice name). Every chart appears exactly once; rows fit the grid.
    """
    if not isinstance(layout, list) or not layout:
        raise LayoutError(f"{where}: `layout` must be a non-empty list of rows")
    rows: list[list[PlacedChart]] = []
    seen: set[str] = set()
    for number, row in enumerate(layout, start=1):
        if not isinstance(row, dict) or not isinstance(row.get("height"), int) or not row.get("charts"):
            raise LayoutError(f"{where}: row {number} needs `height` (grid units) and `charts` ([[key, width], ...])")
        placed = []
        for item in row["charts"]:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], int)):
                raise LayoutError(f"{where}: row {number}: {item!r} is not [chart_key, width]")
            key, width = item
            if key not in charts:
                raise LayoutError(
                    f"{where}: row {number} places {key!r}, which is not a chart template "
                    f"(known: {', '.join(sorted(charts))})"
                )
            if key in seen:
                raise LayoutError(f"{where}: chart {key!r} is placed twice")
            seen.add(key)
            uuid, name = charts[key]
            placed.append(PlacedChart(key, uuid, name, width, row["height"]))
        total = sum(chart.width for chart in placed)
        if total > GRID_COLUMNS:
            raise LayoutError(f"{where}: row {number} is {total} columns wide; the grid has {GRID_COLUMNS}")
        rows.append(placed)
    missing = sorted(set(charts) - seen)
    if missing:
        raise LayoutError(f"{where}: chart templates not placed on the dashboard: {', '.join(missing)}")
    return rows


def position_tree(title: str, rows: Sequence[Sequence[PlacedChart]]) -> dict[str, Any]:
    """Superset's position tree: ROOT > GRID > ROW-n > CHART-key, plus the header with the title."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": title}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    for number, row in enumerate(rows, start=1):
        row_id = f"ROW-{number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart in row:
            chart_id = _element_id("CHART", chart.key)
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "uuid": chart.uuid,
                    "chartId": 0,
                    "sliceName": chart.slice_name,
                    "width": chart.width,
                    "height": chart.height,
                },
            }
    return position
