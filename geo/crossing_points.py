"""Border crossing points: where the border is crossed legally, through a check.

The watch staff place what they see by them ("a group of 20 near Silene"), and the monthly
indicators count refusals of entry by crossing point. Latvia's (the domain notes,
``shared/docs/eurosur.md``): road Terehova and Grebņeva (Russia), Pāternieki and Silene
(Belarus); rail Zilupe (Russia) and Indra (Belarus); air Riga airport; sea the ports of Riga,
Ventspils and Liepāja.

- Riga airport and the three ports are Natural Earth's points (``airports.geojson``,
  ``ports.geojson``), found by name.
- The six land crossing points are **placed by hand and approximate** (a few kilometres:
  nsp's own estimate, not a surveyed position), then moved onto the 1:10m border line of
  their neighbour, so that each sits on the border the map draws. Each feature says so:
  ``approximate: true`` and ``moved_m``, how far the snap moved it; the map's tooltip says
  "position approximate".

``nsp sections derive`` writes them to ``assets/sections/latvia_crossing_points.geojson``
(beside the sections: another country replaces both); the dashboard's maps and the weekly
snapshot draw the file that ``NSP_GEO_CROSSING_POINTS`` names (:func:`load`).
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from pyproj import Transformer
from shapely.geometry import Point
from shapely.ops import nearest_points

from nsp.settings import ASSETS_DIR

GEODATA_DIR = ASSETS_DIR / "geodata" / "latvia"
DEFAULT_OUT = ASSETS_DIR / "sections" / "latvia_crossing_points.geojson"
METRIC = 3059  # LKS-92 / Latvia TM
KINDS = ("road", "rail", "air", "sea")

# name, kind, neighbour, approximate (lon, lat) placed by hand: near the town or road the
# crossing point is named after, on the side of the border where the road or railway meets it
LAND = (
    ("Grebņeva", "road", "RUS", (27.75, 56.87)),
    ("Terehova", "road", "RUS", (28.17, 56.45)),
    ("Zilupe", "rail", "RUS", (28.16, 56.38)),
    ("Pāternieki", "road", "BLR", (27.62, 55.90)),
    ("Indra", "rail", "BLR", (27.58, 55.86)),
    ("Silene", "road", "BLR", (26.80, 55.67)),
)
# name, kind, Natural Earth file, its name there
NATURAL_EARTH = (
    ("Riga airport", "air", "airports", "Riga"),
    ("Riga port", "sea", "ports", "Riga"),
    ("Ventspils port", "sea", "ports", "Ventspils"),
    ("Liepāja port", "sea", "ports", "Liepaja"),
)


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def derive(geodata_dir: Path = GEODATA_DIR) -> dict:
    """Latvia's crossing points as a GeoJSON FeatureCollection (EPSG:4326)."""
    to_metric = Transformer.from_crs(4326, METRIC, always_xy=True).transform
    to_wgs = Transformer.from_crs(METRIC, 4326, always_xy=True).transform
    parts: dict[str, list] = {}
    for f in _features(geodata_dir / "border_lines.geojson"):
        parts.setdefault(f["properties"]["neighbour"], []).append(shapely.geometry.shape(f["geometry"]))
    borders = {n: shapely.transform(shapely.union_all(p), to_metric, interleaved=False)  # metric, once
               for n, p in parts.items()}
    out = []
    for name, kind, neighbour, (lon, lat) in LAND:
        line = borders[neighbour]
        placed = shapely.transform(Point(lon, lat), to_metric, interleaved=False)
        on_line = nearest_points(line, placed)[0]
        x, y = to_wgs(on_line.x, on_line.y)
        out.append(_feature(name, kind, neighbour, x, y, approximate=True, moved_m=round(placed.distance(on_line))))
    for name, kind, layer, ne_name in NATURAL_EARTH:
        [f] = [f for f in _features(geodata_dir / f"{layer}.geojson") if f["properties"]["name"] == ne_name]
        x, y = f["geometry"]["coordinates"][:2]
        out.append(_feature(name, kind, None, x, y, approximate=False, moved_m=0))
    return {"type": "FeatureCollection", "name": "crossing_points", "features": out}


def _feature(name, kind, neighbour, lon, lat, approximate: bool, moved_m: int) -> dict:
    return {"type": "Feature",
            "properties": {"name": name, "kind": kind, "neighbour": neighbour, "approximate": approximate,
                           "moved_m": moved_m,
                           "source": "placed by hand (approximate), on the Natural Earth border line"
                           if approximate else "Natural Earth"},
            "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}}


def load() -> list[dict]:
    """The features of the file NSP_GEO_CROSSING_POINTS names ([] when none is set or found)."""
    from nsp.settings import geo_settings

    path = geo_settings().crossing_points
    if not path or not Path(path).is_file():
        return []
    return json.loads(Path(path).read_text(encoding="utf-8"))["features"]
