"""The map's layers: events (points, or counts per grid cell when many), density, section
lines and areas, and the operational layer (patrol tracks, own units, vessels).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

import orjson

from geo.picture.common import PictureFilter, feature_collection, iso, point_feature, run
from geo.picture.grid import cell_size, grid_features, grid_rows
from nsp import access
from nsp.access import Scope
from nsp.vocab import CATEGORIES


def payload_size(obj) -> int:
    """Bytes of ``obj`` as compact JSON (what Dash sends)."""
    return len(orjson.dumps(obj, default=str))


def confidence_code(reliability: str | None, credibility: int | None) -> str:
    """The report's confidence as the admiralty code writes it (``B2``: source usually
    reliable, information probably true); ``?`` for the half a feed did not give, ``–``
    when it gave neither (``??`` read as a broken character)."""
    if reliability is None and credibility is None:
        return "–"
    return f"{reliability or '?'}{credibility or '?'}"


def _event_props(r: dict) -> dict:
    props = {
        "id": r["id"],
        "cat": r["category"],
        "sub": r["subtype"],
        "t": r["t"],
        "p": r["persons"],
        "imp": r["impact"],
        "conf": confidence_code(r["source_reliability"], r["credibility"]),
        "val": r["validation"],
        "st": r["status"],
        "src": r["source"],
        "sec": r["section_code"],
        "d": None if r["distance_to_border_m"] is None else round(r["distance_to_border_m"]),
    }
    # the report's text, and its follow-up reports (how many, the latest's time and text): only
    # when there are, as most events have none and every byte goes to the browser
    if r["description"]:
        props["desc"] = r["description"]
    if r["follow_ups"]:
        props.update(fu=r["follow_ups"], fut=r["follow_up_t"], fud=r["follow_up"])
    if r["observed_by"]:  # the patrols that observed it (Art 24(2))
        props["obs"] = r["observed_by"]
    return props


def events_layer(
    scope: Scope,
    f: PictureFilter,
    zoom: float = 7,
    max_features: int = 5000,
    max_bytes: int = 2_000_000,
    cell_pixels: int = 40,
) -> dict:
    """The events layer: one FeatureCollection per category, points or grid counts.

    Returns ``{"mode": "points"|"grid", "total": n, "capped": bool, "layers": {category: FC},
    "bytes": size, "rejected": n}``. ``total`` counts at most ``max_features + 1`` (``capped``
    says so). ``rejected``: the reports of the filter that their source rejected on validation,
    which the layer leaves out (at most ``max_features + 1`` too); 0 when the filter asks for
    those reports alone (``f.rejected``), which the layer then holds.
    """
    f = f.scoped(scope)
    params = f.params() | {"cap": max_features + 1, "limit": max_features}
    with access.read_connection(scope) as conn:
        # How many, counting at most max_features + 1: a viewport's (zoom 9 and more) from the
        # index of its cells alone (0170_event_view_cells.sql), which stops at the cap.
        total = run(conn, "picture_events_count", params, True)[0]["n"]
        mode = "points"
        layers: dict[str, list[dict]] = defaultdict(list)
        if total <= max_features:
            for r in run(conn, "picture_events_points", params, True):
                layers[r["category"]].append(point_feature(r["lon"], r["lat"], _event_props(r)))
            out = {c: feature_collection(layers.get(c, [])) for c in CATEGORIES}
            size = payload_size(out)
            if size > max_bytes:
                mode = "grid"
        else:
            mode = "grid"
        if mode == "grid":
            rows = grid_rows(conn, f, params, zoom, cell_pixels, max_features)
            by_cat = grid_features(rows)
            out = {c: feature_collection(by_cat.get(c, [])) for c in CATEGORIES}
            size = payload_size(out)
        rejected = 0 if f.rejected else run(conn, "picture_events_count", params | {"rejected": True}, True)[0]["n"]
    return {"mode": mode, "total": total, "capped": total > max_features, "layers": out, "bytes": size,
            "rejected": rejected}


def heat_layer(scope: Scope, f: PictureFilter, zoom: float = 7, cell_pixels: int = 24,
               limit: int = 5000) -> dict:
    """Event density: counts per grid cell over all categories (drawn as graded circles)."""
    f = f.scoped(scope)
    with access.read_connection(scope) as conn:
        rows = grid_rows(conn, f, f.params(), zoom, cell_pixels, limit)
    cells: dict[tuple[int, int], dict] = {}
    for r in rows:  # the categories of a cell together
        c = cells.setdefault((r["cx"], r["cy"]), {"n": 0, "lon": 0.0, "lat": 0.0})
        c["lon"] += r["lon"] * r["n"]
        c["lat"] += r["lat"] * r["n"]
        c["n"] += r["n"]
    top = max((c["n"] for c in cells.values()), default=1)
    feats = [
        point_feature(c["lon"] / c["n"], c["lat"] / c["n"], {"n": c["n"], "w": round(c["n"] / top, 3)})
        for c in cells.values()
    ]
    return feature_collection(feats)


# A view of some sections (a sector commander's, a wall's rotation) is their border lines with
# this margin on both sides: the ground on the other side from which crossings, smuggling and
# UAVs come, and as much of the home side. The sections' areas lie on the home side only and
# reach far inland: a view fitted to them put the border at the map's bottom edge.
VIEW_MARGIN_M = 10_000


def sections_layer(scope: Scope, level_at: datetime | None = None) -> dict:
    """Section lines (coloured by level), areas, and each section's bounds for zooming: its
    line with :data:`VIEW_MARGIN_M` around it (its area when it has no line)."""
    with access.read_connection(scope) as conn:
        rows = run(conn, "picture_sections_geo", {"level_at": level_at, "margin_m": VIEW_MARGIN_M})
    lines, areas, bounds = [], [], {}
    for r in rows:
        props = {
            "code": r["code"], "name": r["name"], "kind": r["kind"], "level": r["impact_level"],
            "neighbour": r["neighbour"], "board": r["regional_board"],
            "km": None if r["length_km"] is None else round(r["length_km"], 1),
        }
        if r["line"]:
            lines.append({"type": "Feature", "geometry": json.loads(r["line"]), "properties": props})
        areas.append({"type": "Feature", "geometry": json.loads(r["area"]), "properties": props})
        bounds[r["code"]] = [[r["ymin"], r["xmin"]], [r["ymax"], r["xmax"]]]
    return {"lines": feature_collection(lines), "areas": feature_collection(areas), "bounds": bounds}


def union_bounds(bounds: dict, codes) -> list[list[float]] | None:
    """The [[south, west], [north, east]] box around the given sections."""
    boxes = [bounds[c] for c in codes or () if c in bounds]
    if not boxes:
        return None
    return [[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
            [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]]


def operational_layer(scope: Scope, f: PictureFilter, zoom: float = 7, max_tracks: int = 400,
                      trail_minutes: int = 60, asset_max_age_hours: int = 24,
                      limit: int = 2000) -> dict:
    """Patrol tracks of the window, own assets' latest positions, vessels with short trails."""
    f = f.scoped(scope)
    at = f.end
    tolerance = cell_size(zoom, 1)[0]  # one screen pixel
    p = f.params() | {"at": at, "tolerance": tolerance, "limit": max_tracks,
                      "max_age_h": asset_max_age_hours, "trail_min": trail_minutes}
    with access.read_connection(scope) as conn:
        patrols = run(conn, "picture_patrols", p)
        assets = run(conn, "picture_assets_latest", p | {"limit": limit})
        vessels = run(conn, "picture_vessel_trails", p | {"limit": limit})
    patrol_fc = feature_collection([
        {"type": "Feature", "geometry": json.loads(r["track"]), "properties": {
            "unit": r["unit"], "mode": r["mode"], "from": iso(r["started_at"]),
            "to": iso(r["ended_at"]), "km": None if r["length_km"] is None else round(r["length_km"], 1),
            "ev": r["events"]}}
        for r in patrols
    ])
    asset_fc = feature_collection([
        point_feature(r["lon"], r["lat"], {
            "id": r["object_id"], "name": r["name"], "cs": r["callsign"] or r["object_id"],
            "type": r["object_type"], "st": r["status"], "t": iso(r["observed_at"]),
            "age": int((at - r["observed_at"]).total_seconds() // 60), "sec": r["section_code"],
            **({"end": True} if r["ended"] else {})})  # its patrol has ended: off duty, not silent
        for r in assets
    ])
    vessel_feats = []
    for r in vessels:
        props = {"id": r["object_id"], "name": r["name"], "mmsi": r["mmsi"], "t": iso(r["observed_at"]),
                 "sog": r["speed_kn"], "cog": r["course_deg"],
                 "age": int((at - r["observed_at"]).total_seconds() // 60)}
        trail = json.loads(r["trail"])
        if trail["type"] == "LineString":
            vessel_feats.append({"type": "Feature", "geometry": trail, "properties": props | {"trail": True}})
        vessel_feats.append(point_feature(r["lon"], r["lat"], props))
    return {"patrols": patrol_fc, "assets": asset_fc, "vessels": feature_collection(vessel_feats),
            "truncated_patrols": len(patrols) >= max_tracks}
