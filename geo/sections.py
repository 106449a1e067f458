"""Border sections: load a sections file into PostGIS, set impact levels, look up a point.

The sections file (GeoJSON, GeoPackage or Shapefile; any country) has one feature per
section. The feature geometry is the section's area of responsibility (Polygon or
MultiPolygon); the properties are

=================  ========  ====================================================
``code``           required  unique, ``[A-Z0-9][A-Z0-9-]{1,31}``
``name``           required  what an officer calls it
``kind``           required  ``land-external``, ``sea-external``, ``air``, ``land-internal``
``neighbour``      optional  ISO 3166-1 alpha-3, or ``SEA`` / ``AIR``
``regional_board`` optional  the regional board responsible
``length_km``      optional  length of the border line; measured when missing
``impact_level``   optional  ``low``, ``medium``, ``high``, ``critical``; none for internal
``impact_reason``  optional  why; recorded with the initial level
``line``           required  the border line (LineString or MultiLineString) as a GeoJSON
                             object or as GeoJSON or WKT text, in the file's CRS;
                             optional for ``air``
=================  ========  ====================================================

Other properties are kept in ``border_section.props``. The whole file is validated
before anything is written, and written in one transaction.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pyogrio
import pyproj
import shapely
from psycopg.types.json import Jsonb
from shapely.geometry.base import BaseGeometry

from nsp import db
from nsp.access import audit
from nsp.errors import NspError
from nsp.queries import queries
from nsp.settings import geo_settings
from nsp.vocab import LEVELS

KINDS = ("land-external", "sea-external", "air", "land-internal")
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
REQUIRED = ("code", "name", "kind")
KNOWN = (*REQUIRED, "neighbour", "regional_board", "length_km", "impact_level", "impact_reason", "line")
# A Shapefile cuts field names to 10 characters; these are read as the full names.
SHAPEFILE_NAMES = {"regional_b": "regional_board", "impact_lev": "impact_level", "impact_rea": "impact_reason"}
POLYGONAL = ("Polygon", "MultiPolygon")
AREA_OF_USE_MARGIN_DEG = 2.0  # sea areas and strips reach beyond a CRS's area of use
LINEAR = ("LineString", "MultiLineString")


class SectionError(NspError):
    """A border-section operation was refused (unknown code, bad level, no reason...)."""


class SectionFileError(SectionError):
    """A sections file is unusable; names the file, the feature and the field."""

    def __init__(self, path, reason: str, index: int | None = None, code: str | None = None,
                 field_name: str | None = None):
        self.path, self.index, self.code, self.field = str(path), index, code, field_name
        where = [self.path]
        if index is not None:
            where.append(f"feature {index}" + (f" (code {code})" if code else ""))
        if field_name:
            where.append(f"field {field_name!r}")
        super().__init__(f"{', '.join(where)}: {reason}")


@dataclass
class Section:
    code: str
    name: str
    kind: str
    neighbour: str | None
    regional_board: str | None
    length_km: float | None
    impact_level: str | None
    impact_reason: str | None
    area: BaseGeometry  # EPSG:4326
    line: BaseGeometry | None  # EPSG:4326
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    path: str
    inserted: list[str]
    updated: list[str]
    removed: list[str]
    levels_recorded: int
    events_relocated: int
    positions_relocated: int
    patrols_relocated: int
    metric_srid: int

    @property
    def count(self) -> int:
        return len(self.inserted) + len(self.updated)


# ------------------------------------------------------------------------ reading


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _text(value) -> str | None:
    return None if _missing(value) else str(value).strip()


def _parse_line(value) -> BaseGeometry:
    """A GeoJSON object (dict), GeoJSON text or WKT text (or a geometry from a lines layer)."""
    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, dict):
        return shapely.geometry.shape(value)
    text = str(value).strip()
    if text.startswith("{"):
        return shapely.geometry.shape(json.loads(text))
    return shapely.from_wkt(text)


def _geometry_problem(geom, allowed: tuple[str, ...]) -> str | None:
    if geom is None or geom.is_empty:
        return "geometry is empty"
    if geom.geom_type not in allowed:
        return f"geometry is a {geom.geom_type}, expected {' or '.join(allowed)}"
    if not geom.is_valid:
        return f"invalid geometry: {shapely.is_valid_reason(geom)}"
    return None


def _read_layer(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    try:
        return gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise SectionFileError(path, f"cannot read the file: {db.first_line(exc)}") from exc


def _layers(path: Path) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, ValueError) as exc:
        raise SectionFileError(path, f"cannot read the file: {db.first_line(exc)}") from exc


def _check_geojson_crs(path: Path) -> None:
    """GDAL reads a GeoJSON ``crs`` member it does not know as WGS 84, silently: refuse it."""
    if path.suffix.lower() not in (".geojson", ".json"):
        return
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return  # reported by the reader with GDAL's message
    crs = doc.get("crs") if isinstance(doc, dict) else None
    if crs is None:
        return  # RFC 7946: WGS 84
    name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
    try:
        pyproj.CRS.from_user_input(name)
    except (pyproj.exceptions.CRSError, TypeError) as exc:
        raise SectionFileError(path, f"unknown coordinate reference system {name!r} in the crs member") from exc


def _read_frame(path: Path) -> gpd.GeoDataFrame:
    """The sections layer (``sections`` if the file has one, else the first), with the
    ``line`` column taken from a lines layer when the file has none (see the README)."""
    layers = _layers(path)
    if not layers:
        raise SectionFileError(path, "the file has no layers")
    gdf = _read_layer(path, "sections" if "sections" in layers else layers[0])
    gdf = gdf.rename(columns={k: v for k, v in SHAPEFILE_NAMES.items()
                              if k in gdf.columns and v not in gdf.columns})
    if "line" in gdf.columns or gdf.crs is None or "code" not in gdf.columns:
        return gdf
    sibling = path.with_name(f"{path.stem}_lines{path.suffix}")
    if "lines" in layers:
        src, lines = f"{path} (layer lines)", _read_layer(path, "lines")
    elif sibling.exists():
        src, lines = str(sibling), _read_layer(sibling)
    else:
        return gdf
    if lines.crs is None:
        raise SectionFileError(src, "the lines layer has no coordinate reference system (CRS)")
    if "code" not in lines.columns:
        raise SectionFileError(src, "the field is missing from the lines layer", field_name="code")
    by_code: dict[str, BaseGeometry] = {}
    for i, (code, geom) in enumerate(zip(lines["code"], lines.to_crs(gdf.crs).geometry, strict=False), start=1):
        code = _text(code)
        if code is None or code in by_code:
            raise SectionFileError(src, "missing or duplicate code in the lines layer",
                                   index=i, code=code, field_name="code")
        by_code[code] = geom
    unknown = sorted(set(by_code) - {_text(c) for c in gdf["code"]})
    if unknown:
        raise SectionFileError(src, f"lines for codes that have no section: {', '.join(unknown)}")
    gdf["line"] = [by_code.get(_text(c)) for c in gdf["code"]]
    return gdf


def read_sections(path: Path | str) -> list[Section]:
    """Reads and validates a sections file; geometries come back in EPSG:4326.

    Raises :class:`SectionFileError` naming the first problem found (feature numbers
    count from 1, in file order)."""
    path = Path(path)
    if not path.exists():
        raise SectionFileError(path, "no such file")
    _check_geojson_crs(path)
    gdf = _read_frame(path)
    if gdf.crs is None:
        raise SectionFileError(path, "the file has no coordinate reference system (CRS); "
                               "add one (a .prj for a Shapefile, a crs member for GeoJSON)")
    if len(gdf) == 0:
        raise SectionFileError(path, "the file has no features")
    for name in REQUIRED + ("line",):
        if name not in gdf.columns:
            raise SectionFileError(path, "the field is missing from the file", index=1,
                                   code=_text(gdf.iloc[0].get("code")), field_name=name)

    seen: dict[str, int] = {}
    raw: list[tuple[dict, BaseGeometry, BaseGeometry | None]] = []
    for i, (_, row) in enumerate(gdf.iterrows(), start=1):
        code = _text(row.get("code"))

        def fail(reason, field_name=None, _i=i, _code=code):
            raise SectionFileError(path, reason, index=_i, code=_code, field_name=field_name)

        for name in REQUIRED:
            if _missing(row.get(name)):
                fail("a value is required", name)
        if not CODE_RE.match(code):
            fail(f"code {code!r} must match {CODE_RE.pattern}", "code")
        if code in seen:
            fail(f"duplicate code (also feature {seen[code]})", "code")
        seen[code] = i
        kind = _text(row["kind"])
        if kind not in KINDS:
            fail(f"kind {kind!r} is not one of {', '.join(KINDS)}", "kind")
        level = _text(row.get("impact_level"))
        if level is not None:
            level = level.lower()
            if level not in LEVELS:
                fail(f"impact level {level!r} is not one of {', '.join(LEVELS)}", "impact_level")
            if kind == "land-internal":
                fail("an internal border (land-internal) has no impact level", "impact_level")
        length = row.get("length_km")
        if not _missing(length):
            try:
                length = float(length)
            except (TypeError, ValueError):
                fail(f"length {length!r} is not a number", "length_km")
            if not math.isfinite(length) or length < 0:
                fail(f"length {length!r} must be a non-negative number", "length_km")
        else:
            length = None
        problem = _geometry_problem(row.geometry, POLYGONAL)
        if problem:
            fail(problem, "geometry")
        line = None
        if _missing(row.get("line")):
            if kind != "air":
                fail("a border line is required (optional only for air sections)", "line")
        else:
            try:
                line = _parse_line(row["line"])
            except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
                fail(f"cannot read the border line: {db.first_line(exc)}", "line")
            problem = _geometry_problem(line, LINEAR)
            if problem:
                fail(problem, "line")
        props = {k: _json_value(row[k]) for k in gdf.columns if k not in KNOWN and k != "geometry"}
        fields = dict(code=code, name=_text(row["name"]), kind=kind,
                      neighbour=_text(row.get("neighbour")),
                      regional_board=_text(row.get("regional_board")), length_km=length,
                      impact_level=level, impact_reason=_text(row.get("impact_reason")), props=props)
        raw.append((fields, row.geometry, line))

    areas = _to_4326(path, [a for _, a, _ in raw], gdf.crs, "geometry", raw)
    line_idx = [k for k, (_, _, ln) in enumerate(raw) if ln is not None]
    lines = _to_4326(path, [raw[k][2] for k in line_idx], gdf.crs, "line", [raw[k] for k in line_idx])
    line_by_idx = dict(zip(line_idx, lines, strict=False))
    return [
        Section(area=areas[k], line=line_by_idx.get(k), **fields)
        for k, (fields, _, _) in enumerate(raw)
    ]


def _json_value(v):
    if _missing(v):
        return None
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    if isinstance(v, (str, int, float, bool, dict, list)):
        return v
    return str(v)


def _to_4326(path, geoms, crs, field_name, raw) -> list[BaseGeometry]:
    if not geoms:
        return []
    out = gpd.GeoSeries(geoms, crs=crs).to_crs(4326)
    use = crs.area_of_use
    for k, g in enumerate(out):
        problem = _geometry_problem(g, POLYGONAL if field_name == "geometry" else LINEAR)
        if problem is None and not all(map(math.isfinite, g.bounds)):
            problem = "coordinates cannot be transformed to EPSG:4326"
        if problem is None and use is not None and not shapely.box(*g.bounds).within(
            shapely.box(use.west, use.south, use.east, use.north).buffer(AREA_OF_USE_MARGIN_DEG)
        ):
            problem = (f"the coordinates lie outside the area of use of {crs.to_string()} "
                       f"({use.name}): is the declared CRS the right one?")
        if problem:
            raise SectionFileError(path, f"after re-projection to EPSG:4326: {problem}",
                                   index=k + 1, code=raw[k][0]["code"], field_name=field_name)
    return list(out)


# ------------------------------------------------------------------------ loading


def _check_metric(srid: int) -> None:
    try:
        crs = pyproj.CRS.from_epsg(srid)
    except pyproj.exceptions.CRSError as exc:
        raise SectionError(f"metric SRID {srid} (NSP_GEO_METRIC_SRID) is not an EPSG code") from exc
    units = {a.unit_name for a in crs.axis_info}
    if not crs.is_projected or units != {"metre"}:
        raise SectionError(f"SRID {srid} (NSP_GEO_METRIC_SRID) is not a projected CRS in metres "
                           f"({crs.name}); lengths and distances need one")


def load(url: str | None = None, path: Path | str | None = None, actor: str = "system",
         metric_srid: int | None = None) -> LoadResult:
    """Validates the sections file and replaces the database's sections with it.

    Upsert by code; sections missing from the file are removed. A new section's level
    from the file is recorded as an ``impact_level_change`` by ``actor``; an existing
    section keeps its current level (levels are decisions, changed with
    :func:`set_impact_level`, not by reloading a file). Events, asset positions and
    patrols are re-assigned to the new sections in the same transaction.
    """
    path = Path(path) if path else geo_settings().sections_path
    srid = metric_srid or geo_settings().metric_srid
    _check_metric(srid)
    sections = read_sections(path)
    inserted, updated, levels = [], [], 0
    with db.connect(url) as conn, conn.transaction():
        if conn.execute(queries["srid_known"], {"srid": srid}).fetchone() is None:
            raise SectionError(f"metric SRID {srid} (NSP_GEO_METRIC_SRID) is unknown to PostGIS")
        conn.execute(queries["sections_lock"])
        for s in sections:
            row = conn.execute(queries["section_upsert"], {
                "code": s.code, "name": s.name, "kind": s.kind, "neighbour": s.neighbour,
                "regional_board": s.regional_board, "length_km": s.length_km,
                "line": shapely.to_wkb(s.line) if s.line is not None else None,
                "area": shapely.to_wkb(s.area), "srid": srid, "props": Jsonb(s.props),
            }).fetchone()
            (inserted if row["inserted"] else updated).append(s.code)
            if s.impact_level and row["impact_level"] is None:
                conn.execute(queries["impact_level_insert"], {
                    "code": s.code, "level": s.impact_level, "decided_by": actor,
                    "reason": s.impact_reason or f"initial level from {path.name}",
                })
                levels += 1
        removed = [r["code"] for r in conn.execute(
            queries["sections_delete_missing"], {"codes": [s.code for s in sections]})]
        conn.execute(queries["set_metric_srid"], {"srid": srid})
        conn.execute(queries["section_grid_rebuild"])  # the ingest merge's lookup grid
        n_events = conn.execute(queries["events_relocate"]).rowcount
        n_positions = conn.execute(queries["positions_relocate"]).rowcount
        n_patrols = conn.execute(queries["patrols_relocate"]).rowcount
        result = LoadResult(str(path), inserted, updated, removed, levels, n_events,
                            n_positions, n_patrols, srid)
        audit(conn, actor, "sections_load", str(path), {
            "inserted": len(inserted), "updated": len(updated), "removed": removed,
            "levels_recorded": levels, "metric_srid": srid,
        })
    return result


# ------------------------------------------------------------------- levels, lookup


def set_impact_level(conn, code: str, level: str, decided_by: str, reason: str) -> dict:
    """Records a decision on a section's impact level (Art 34) and returns the change.

    The reason is mandatory; internal borders have no level. Runs in the caller's
    transaction (or autocommit)."""
    level = (level or "").strip().lower()
    if level not in LEVELS:
        raise SectionError(f"impact level {level!r} is not one of {', '.join(LEVELS)}")
    if not reason or not reason.strip():
        raise SectionError(f"a reason is required to change the impact level of {code}")
    if not decided_by or not decided_by.strip():
        raise SectionError("the person deciding the change (decided_by) is required")
    with conn.transaction():
        section = conn.execute(queries["section_get"], {"code": code}).fetchone()
        if section is None:
            raise SectionError(f"no border section {code!r}")
        section = dict(section) if not isinstance(section, dict) else section
        if section["kind"] == "land-internal":
            raise SectionError(f"{code} is an internal border and has no impact level")
        try:
            change = conn.execute(queries["impact_level_insert"], {
                "code": code, "level": level, "decided_by": decided_by.strip(), "reason": reason.strip(),
            }).fetchone()
        except psycopg.errors.InsufficientPrivilege as exc:  # row-level security (nsp.access)
            raise SectionError(f"{decided_by} may not change the impact level of {code}") from exc
        audit(conn, decided_by.strip(), "impact_level_change", code,
              {"from": section["impact_level"], "to": level, "reason": reason.strip()})
    return dict(change)


def list_sections(conn) -> list[dict]:
    return [dict(r) for r in conn.execute(queries["sections_list"])]


def locate(conn, lon: float, lat: float) -> dict | None:
    """The section holding the point and the distance (m) to its border line, or None."""
    row = conn.execute(queries["section_locate"], {"lon": float(lon), "lat": float(lat)}).fetchone()
    return dict(row) if row else None


def history(conn, code: str) -> list[dict]:
    if conn.execute(queries["section_get"], {"code": code}).fetchone() is None:
        raise SectionError(f"no border section {code!r}")
    return [dict(r) for r in conn.execute(queries["impact_level_history"], {"code": code})]
