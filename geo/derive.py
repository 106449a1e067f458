"""Derive Latvia's border sections from the base geodata (``nsp sections derive``).

Input: ``assets/geodata/latvia`` (Natural Earth 1:10m, see its README). Output: the
sections file ``assets/sections/latvia_sections.geojson`` in the schema that
:func:`geo.sections.load` reads (see README, "Border sections").

All geometry work happens in LKS-92 / Latvia TM (EPSG:3059):

1. each border line (RUS, BLR, SEA, EST, LTU) is merged, oriented (RU north to south, BY,
   EE and LT west to east, the coast from the Estonian border round Kolka to Lithuania)
   and cut into equal parts of 20-60 km;
2. the region to cover is Latvia's land, its territorial sea (12 nautical miles from the
   coast, minus every country's land, cut at the equidistance line with Estonia and
   Lithuania) and a 5 km strip beyond the external land borders (inside Russia and
   Belarus);
3. the region is split by nearest section line: a Voronoi diagram of points spaced along
   every section line, dissolved by section, clipped to the region;
4. Riga airport's surroundings (a 5 km circle) become the air section LV-AIR-RIX and are
   carved out of the others; its "border line" is the runway (approximate: 3.2 km
   north-south through the airport point), so that events there get a distance too.

The result is deterministic: the same input gives the same file, byte for byte.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, mapping
from shapely.ops import substring

from nsp.settings import ASSETS_DIR

GEODATA_DIR = ASSETS_DIR / "geodata" / "latvia"
DEFAULT_OUT = ASSETS_DIR / "sections" / "latvia_sections.geojson"
METRIC = 3059
TERRITORIAL_SEA_M = 22_224.0  # 12 nautical miles
STRIP_M = 5_000.0  # beyond the external land border, inside the neighbour's territory
AIR_RADIUS_M = 5_000.0
RUNWAY_M = 3_200.0  # RIX runway 18/36; placed north-south through the airport point (approximate)
SPACING_M = 250.0  # spacing of the Voronoi generator points along the section lines
MIN_COAST_PART_M = 10_000.0  # shorter "SEA" parts are lake shores near tripoints, not coast
GRID_DEG = 1e-7  # coordinate precision of the output (about 1 cm)


@dataclass(frozen=True)
class BorderSpec:
    neighbour: str
    prefix: str
    kind: str
    parts: int
    start: tuple[float, float]  # lon/lat the first section starts nearest to
    country_word: str


# Section counts give parts of 20-60 km on the 1:10m lines (RUS 213 km, BLR 136 km,
# coast 524 km, EST 256 km, LTU 435 km).
BORDERS = [
    BorderSpec("RUS", "LV-RU", "land-external", 6, (27.35, 57.52), "Russia"),  # from the EE tripoint, N to S
    BorderSpec("BLR", "LV-BY", "land-external", 4, (26.6, 55.7), "Belarus"),  # from the LT tripoint, W to E
    BorderSpec("SEA", "LV-SEA", "sea-external", 11, (24.35, 57.87), "sea"),  # from Ainaži, round Kolka, to Rucava
    BorderSpec("EST", "LV-EE", "land-internal", 5, (24.35, 57.87), "Estonia"),  # W to E
    BorderSpec("LTU", "LV-LT", "land-internal", 9, (21.05, 56.05), "Lithuania"),  # W to E
]

# Approximate landmark coordinates (lon, lat), placed by hand for naming sections after
# the nearest one. They are approximate (a few km) and only used for names.
LANDMARKS: dict[str, tuple[float, float]] = {
    # Russian border, north to south
    "Pededze": (27.45, 57.45),
    "Vecumi": (27.78, 57.30),
    "Viļaka": (27.67, 57.18),
    "Grebņeva": (27.95, 56.95),
    "Kārsava": (27.68, 56.78),
    "Terehova": (28.22, 56.63),
    "Ludza": (27.72, 56.55),
    "Zilupe": (28.12, 56.39),
    "Pasiene": (28.15, 56.24),
    # Belarusian border, west to east
    "Silene": (26.75, 55.68),
    "Daugavpils": (26.52, 55.87),
    "Krāslava": (27.17, 55.90),
    "Piedruja": (27.45, 55.80),
    "Indra": (27.55, 55.87),
    "Robežnieki": (27.90, 56.02),
    # Coast, from Estonia round Kolka to Lithuania
    "Ainaži": (24.36, 57.86),
    "Salacgrīva": (24.36, 57.75),
    "Saulkrasti": (24.41, 57.26),
    "Rīga": (24.10, 57.03),
    "Jūrmala": (23.77, 56.97),
    "Engure": (23.22, 57.16),
    "Roja": (22.80, 57.50),
    "Kolka": (22.59, 57.75),
    "Ovīši": (21.71, 57.57),
    "Ventspils": (21.56, 57.39),
    "Jūrkalne": (21.38, 57.00),
    "Pāvilosta": (21.19, 56.89),
    "Liepāja": (21.01, 56.51),
    "Pape": (21.02, 56.15),
    "Rucava": (21.16, 56.16),
    # Estonian border, west to east
    "Rūjiena": (25.33, 57.90),
    "Mazsalaca": (25.05, 57.86),
    "Valka": (26.02, 57.78),
    "Ape": (26.69, 57.54),
    "Veclaicene": (27.05, 57.57),
    # Lithuanian border, west to east
    "Priekule": (21.59, 56.45),
    "Ezere": (22.37, 56.41),
    "Auce": (22.90, 56.46),
    "Eleja": (23.70, 56.42),
    "Bauska": (24.19, 56.41),
    "Skaistkalne": (24.65, 56.38),
    "Nereta": (25.31, 56.21),
    "Subate": (25.91, 56.01),
    "Medumi": (26.40, 55.80),
}

# Regional board of the State Border Guard responsible for each section.
BOARDS: dict[str, str] = {
    **{f"LV-RU-{i:02d}": "Viļaka" for i in (1, 2, 3)},
    **{f"LV-RU-{i:02d}": "Ludza" for i in (4, 5, 6)},
    **{f"LV-BY-{i:02d}": "Daugavpils" for i in (1, 2, 3, 4)},
    **{f"LV-SEA-{i:02d}": "Riga" for i in (1, 2, 3, 4)},
    **{f"LV-SEA-{i:02d}": "Ventspils" for i in (5, 6, 7)},
    **{f"LV-SEA-{i:02d}": "Liepāja" for i in (8, 9, 10, 11)},
    **{f"LV-EE-{i:02d}": "Valmiera" for i in (1, 2, 3, 4, 5)},
    **{f"LV-LT-{i:02d}": "Liepāja" for i in (1, 2)},
    **{f"LV-LT-{i:02d}": "Jelgava" for i in (3, 4, 5, 6)},
    **{f"LV-LT-{i:02d}": "Daugavpils" for i in (7, 8, 9)},
    "LV-AIR-RIX": "Aviation Board",
}

# Initial impact levels (Art 34) with the reason recorded as the first change.
LEVELS: dict[str, tuple[str, str]] = {
    "LV-RU-01": ("low", "forested lake district, few recorded crossings"),
    "LV-RU-02": ("low", "forested lake district, few recorded crossings"),
    "LV-RU-03": ("medium", "Grebņeva road crossing point and smuggling routes"),
    "LV-RU-04": ("medium", "Terehova road crossing point and smuggling routes"),
    "LV-RU-05": ("medium", "Zilupe rail crossing and cigarette smuggling"),
    "LV-RU-06": ("low", "tripoint area, marshland"),
    "LV-BY-01": ("medium", "instrumentalised migration pressure from Belarus"),
    "LV-BY-02": ("high", "repeated attempted crossings along the Daugava"),
    "LV-BY-03": ("high", "repeated attempted crossings near Piedruja and Indra"),
    "LV-BY-04": ("medium", "instrumentalised migration pressure from Belarus"),
    "LV-AIR-RIX": ("low", "no current threat at the air border"),
}
SEA_LEVEL = ("low", "no current threat at the sea border")

RIX = "RIX"

# Estonian coasts missing from the 1:10m land polygons (clipped at 23.4 E, no islands),
# placed by hand and APPROXIMATE: they only move the equidistance line that ends the
# territorial sea in the Irbe Strait and towards Ruhnu.
APPROX_COASTS: dict[str, list[tuple[str, list[tuple[float, float]]]]] = {
    "EST": [
        # Sõrve peninsula and the south coast of Saaremaa, Sääre to Kübassaare
        ("line", [(21.98, 57.96), (22.05, 57.91), (22.17, 57.96), (22.25, 58.10),
                  (22.49, 58.23), (22.80, 58.25), (23.05, 58.40)]),
        # Ruhnu island (a 2.5 km circle)
        ("island", [(23.26, 57.80)]),
    ],
}


def _to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(METRIC)


def read_geodata(geodata_dir: Path = GEODATA_DIR) -> dict[str, gpd.GeoDataFrame]:
    out = {}
    for name in ("countries", "border_lines", "airports"):
        out[name] = _to_metric(gpd.read_file(geodata_dir / f"{name}.geojson"))
    return out


_TO_METRIC = Transformer.from_crs(4326, METRIC, always_xy=True)


def _metric_point(lon: float, lat: float) -> Point:
    return Point(*_TO_METRIC.transform(lon, lat))


def border_line(lines: gpd.GeoDataFrame, spec: BorderSpec) -> LineString:
    """The neighbour's border as one line, starting at the end nearest ``spec.start``."""
    geom = shapely.line_merge(shapely.union_all(lines.loc[lines["neighbour"] == spec.neighbour].geometry))
    parts = list(geom.geoms) if isinstance(geom, MultiLineString) else [geom]
    parts = [p for p in parts if p.length >= MIN_COAST_PART_M]
    if len(parts) != 1:
        raise ValueError(f"border with {spec.neighbour} is not one line ({len(parts)} parts)")
    line = parts[0]
    start = _metric_point(*spec.start)
    if Point(line.coords[-1]).distance(start) < Point(line.coords[0]).distance(start):
        line = line.reverse()
    return line


def split_line(line: LineString, parts: int) -> list[LineString]:
    step = line.length / parts
    return [substring(line, i * step, (i + 1) * step) for i in range(parts)]


def _as_multipolygon(geom) -> MultiPolygon:
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(polys)


def _generators(lines: list, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points spaced along each (multi)line (offset by half a step, so that lines sharing
    an end point never produce the same point twice) and the index of their line."""
    pts, owner = [], []
    for i, geom in enumerate(lines):
        for line in shapely.get_parts(geom):
            n = max(2, math.ceil(line.length / spacing))
            dists = (np.arange(n) + 0.5) * (line.length / n)
            pts.extend(shapely.line_interpolate_point(line, dists))
            owner.extend([i] * n)
    return np.array(pts, dtype=object), np.array(owner)


def nearest_line_partition(lines: list[LineString], region, spacing: float = SPACING_M) -> list:
    """Split ``region`` into one piece per line: the points nearest to that line."""
    pts, owner = _generators(lines, spacing)
    extent = shapely.box(*region.buffer(10_000).bounds)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(list(pts)), extend_to=extent, ordered=True))
    if len(cells) != len(pts):
        raise ValueError("Voronoi diagram does not have one cell per generator point")
    pieces = []
    for i in range(len(lines)):
        cell = shapely.union_all(cells[owner == i])
        pieces.append(shapely.make_valid(shapely.intersection(cell, region)))
    return pieces


def approx_coasts() -> dict[str, object]:
    """The hand-placed extra coasts (EPSG:3059), by country."""
    out = {}
    for iso, parts in APPROX_COASTS.items():
        geoms = []
        for kind, coords in parts:
            xy = [_TO_METRIC.transform(lon, lat) for lon, lat in coords]
            geoms.append(LineString(xy) if kind == "line" else Point(xy[0]).buffer(2_500).exterior)
        out[iso] = shapely.union_all(geoms)
    return out


def territorial_sea(coast: LineString, countries: gpd.GeoDataFrame, own: str) -> Polygon:
    """12 nautical miles seaward of the coast, off every country's land, and on Latvia's
    side of the equidistance line with the neighbours' land (and islands)."""
    land = shapely.union_all(countries.geometry)
    sea = coast.buffer(TERRITORIAL_SEA_M, quad_segs=16).difference(land)
    # Equidistance with the neighbours: a Voronoi of points on each country's boundary.
    names = sorted(countries["iso_a3"])
    extra = approx_coasts()
    boundaries = [
        shapely.union_all([countries.loc[countries["iso_a3"] == n].geometry.iloc[0].boundary,
                           *([extra[n]] if n in extra else [])])
        for n in names
    ]
    pieces = nearest_line_partition(boundaries, sea, spacing=1_000.0)
    mine = pieces[names.index(own)]
    # Keep the parts that touch the coast (drops slivers cut off by the equidistance line).
    keep = [p for p in shapely.get_parts(mine) if p.distance(coast) < 1.0]
    return shapely.union_all(keep)


def derive(geodata_dir: Path = GEODATA_DIR, country: str = "LVA") -> dict:
    """The sections as a GeoJSON FeatureCollection (dict), geometries in EPSG:4326."""
    data = read_geodata(geodata_dir)
    countries, lines_gdf, airports = data["countries"], data["border_lines"], data["airports"]

    sections = []  # (code, spec, line)
    for spec in BORDERS:
        line = border_line(lines_gdf, spec)
        for i, part in enumerate(split_line(line, spec.parts), start=1):
            sections.append((f"{spec.prefix}-{i:02d}", spec, part))

    home = countries.loc[countries["iso_a3"] == country].geometry.iloc[0]
    coast = border_line(lines_gdf, next(s for s in BORDERS if s.neighbour == "SEA"))
    sea = territorial_sea(coast, countries, country)
    external_land = shapely.union_all([ln for _, spec, ln in sections if spec.kind == "land-external"])
    neighbours = shapely.union_all(countries.loc[countries["iso_a3"].isin(["RUS", "BLR"])].geometry)
    strip = external_land.buffer(STRIP_M, quad_segs=16).intersection(neighbours)
    region = shapely.union_all([home, sea, strip])

    areas = nearest_line_partition([ln for _, _, ln in sections], region)

    rix = airports.loc[airports["iata_code"] == RIX].geometry.iloc[0]
    air = rix.buffer(AIR_RADIUS_M, quad_segs=32).intersection(region)
    areas = [a.difference(air) for a in areas]

    features, used = [], set()
    for (code, spec, line), area in zip(sections, areas, strict=False):
        name = f"{nearest_landmark(line, used)} ({spec.country_word})"
        features.append(_feature(code, spec.kind, spec.neighbour, line, area, name))
    runway = LineString([(rix.x, rix.y - RUNWAY_M / 2), (rix.x, rix.y + RUNWAY_M / 2)])
    features.append(_feature("LV-AIR-RIX", "air", "AIR", runway, air, "Rīga airport (RIX)"))
    return {
        "type": "FeatureCollection",
        "name": "latvia_sections",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }


_TO_WGS84 = Transformer.from_crs(METRIC, 4326, always_xy=True)


def _wgs84(geom):
    out = shapely.transform(geom, lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1])))
    return shapely.set_precision(shapely.make_valid(out), GRID_DEG)


def nearest_landmark(line: LineString, used: set[str]) -> str:
    """The landmark nearest the middle of ``line`` that no earlier section took."""
    mid = line.interpolate(0.5, normalized=True)
    free = [(name, ll) for name, ll in LANDMARKS.items() if name not in used]
    best = min(free, key=lambda kv: (_metric_point(*kv[1]).distance(mid), kv[0]))[0]
    used.add(best)
    return best


def _feature(code, kind, neighbour, line, area, name) -> dict:
    if kind == "land-internal":
        level, reason = None, None
    else:
        level, reason = LEVELS.get(code, SEA_LEVEL)
    area4326 = _as_multipolygon(_wgs84(area))
    props = {
        "code": code,
        "name": name,
        "kind": kind,
        "neighbour": neighbour,
        "regional_board": BOARDS[code],
        "length_km": round(line.length / 1000.0, 1) if kind != "air" else None,
        "impact_level": level,
        "impact_reason": reason,
        "area_km2": round(area.area / 1e6, 1),
        "line": _round(mapping(MultiLineString([_wgs84(line)]))) if line is not None else None,
    }
    return {"type": "Feature", "properties": props, "geometry": _round(mapping(area4326))}


def _round(obj):
    """Rounds coordinates to 7 decimals and turns tuples into lists (stable JSON)."""
    if isinstance(obj, float):
        return round(obj, 7)
    if isinstance(obj, (list, tuple)):
        return [_round(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    return obj


def write(collection: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    # One feature per line: readable diffs, still one valid JSON document.
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"')
    out.write_text(text + "\n", encoding="utf-8")
