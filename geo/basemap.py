"""Where the offline basemap ends.

The basemap (``assets/geodata/<country>``) covers a box around the country; past it a map
would show its background — the sea's colour — where the neighbours' land goes on. Both
maps (the dashboard and the weekly snapshot) draw :func:`outside` over it in a neutral grey.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from shapely.geometry import box, mapping, shape

# neutral grey with a dashed edge: neither land nor sea (light map, dark wall)
OUTSIDE_STYLE = {"fill": "#d5d5d5", "edge": "#8d8d8d"}
OUTSIDE_STYLE_DARK = {"fill": "#14171c", "edge": "#4a5260"}


@lru_cache(maxsize=4)
def outside(directory: Path) -> dict:
    """A FeatureCollection of one polygon: the world with the extent of
    ``directory/countries.geojson`` cut out — its GeoJSON ``bbox`` (the box the data was clipped
    to, sea included), else its land's bounding box; the ``extent`` property is
    [west, south, east, north]."""
    with (Path(directory) / "countries.geojson").open(encoding="utf-8") as f:
        data = json.load(f)
    if len(data.get("bbox") or ()) == 4:
        west, south, east, north = data["bbox"]
    else:
        west, south, east, north = shape({"type": "GeometryCollection",
                                          "geometries": [ft["geometry"] for ft in data["features"]]}).bounds
    world = box(-180, -85, 180, 85).difference(box(west, south, east, north))
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"extent": [west, south, east, north]}, "geometry": mapping(world)}]}
