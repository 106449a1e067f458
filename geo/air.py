"""The air picture: aircraft and UAVs with short trails, an altitude label, and a UAV's
operator where its Remote ID said (the air layer of the map and the wall,
dashboard/components/airlayer.py; docs/howto/watch-officer.md).

Read under the user's scope (row-level security), as every layer of the picture.
"""

from __future__ import annotations

import json
from datetime import datetime

from nsp import access
from nsp.access import Scope

# An aircraft covers 10 km in a minute or two: its trail is the last few minutes, not the
# vessels' hour. A drone's, likewise.
AIR_TRAIL_MINUTES = 10
AIR_LIMIT = 1000
FL_FROM_FT = 6000  # at and above: a flight level ("FL370"); below: feet ("3500 ft")

AIR_SQL = """
SELECT p.object_id, p.kind, max(o.name) AS name, max(o.callsign) AS callsign,
       ST_AsGeoJSON(ST_MakeLine(p.geom ORDER BY p.observed_at), 5) AS trail,
       max(p.observed_at) AS observed_at,
       (array_agg(ST_X(p.geom) ORDER BY p.observed_at DESC))[1] AS lon,
       (array_agg(ST_Y(p.geom) ORDER BY p.observed_at DESC))[1] AS lat,
       (array_agg(p.speed_kn ORDER BY p.observed_at DESC))[1] AS speed_kn,
       (array_agg(p.course_deg ORDER BY p.observed_at DESC))[1] AS course_deg,
       (array_agg(p.attrs ORDER BY p.observed_at DESC))[1] AS attrs
  FROM asset_position p
  LEFT JOIN tracked_object o USING (object_id)
 WHERE p.kind IN ('aircraft', 'uav')
   AND p.observed_at <= %(at)s AND p.observed_at > %(at)s - make_interval(mins => %(trail_min)s)
   AND (%(sections)s::text[] IS NULL OR p.section_code = ANY (%(sections)s::text[]))
 GROUP BY p.object_id, p.kind
 ORDER BY max(p.observed_at) DESC
 LIMIT %(limit)s
"""


def altitude_label(kind: str, attrs: dict) -> str | None:
    """An aircraft's altitude as a pilot reads it (``FL370``, ``3500 ft``); a UAV's in metres
    (``120 m``, geodetic, else its height over ground as ``80 m AGL``); None when unknown."""
    attrs = attrs or {}
    if kind == "uav":
        if isinstance(attrs.get("altitude_m"), int | float):
            return f"{round(attrs['altitude_m'])} m"
        if isinstance(attrs.get("height_m"), int | float):
            return f"{round(attrs['height_m'])} m AGL"
        return None
    if attrs.get("on_ground"):
        return "GND"
    ft = attrs.get("altitude_ft")
    if not isinstance(ft, int | float) or isinstance(ft, bool):
        return None
    return f"FL{round(ft / 100):03d}" if ft >= FL_FROM_FT else f"{round(ft)} ft"


def features(rows: list[dict], at: datetime) -> list[dict]:
    """GeoJSON features of the layer: per object a trail (``trail``) and its last fix; a UAV's
    operator (``op``) as a point of its own, linked by the drone's id."""
    out = []
    for r in rows:
        attrs = r["attrs"] or {}
        props = {"id": r["object_id"], "kind": r["kind"],
                 "cs": r["callsign"] or r["name"] or attrs.get("callsign") or r["object_id"],
                 "alt": altitude_label(r["kind"], attrs), "t": r["observed_at"].isoformat(),
                 "age": int((at - r["observed_at"]).total_seconds() // 60),
                 "kn": r["speed_kn"], "trk": r["course_deg"], "sq": attrs.get("squawk"),
                 "reg": attrs.get("registry")}
        props = {k: v for k, v in props.items() if v is not None}
        trail = json.loads(r["trail"])
        if trail["type"] == "LineString":
            out.append({"type": "Feature", "geometry": trail, "properties": props | {"trail": True}})
        out.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                    "properties": props})
        op_lon, op_lat = attrs.get("operator_lon"), attrs.get("operator_lat")
        if r["kind"] == "uav" and isinstance(op_lon, int | float) and isinstance(op_lat, int | float):
            out.append({"type": "Feature", "geometry": {"type": "LineString",
                                                        "coordinates": [[op_lon, op_lat], [r["lon"], r["lat"]]]},
                        "properties": {"id": r["object_id"], "kind": "operator", "link": True}})
            out.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [op_lon, op_lat]},
                        "properties": {"id": r["object_id"], "kind": "operator", "cs": props["cs"]}})
    return out


def air_layer(scope: Scope, at: datetime, sections: list[str] | None = None,
              trail_minutes: int = AIR_TRAIL_MINUTES, limit: int = AIR_LIMIT) -> dict:
    """Aircraft and UAVs heard in the ``trail_minutes`` up to ``at``, as a FeatureCollection."""
    if not scope.all_sections:
        sections = list(scope.restrict(sections))
    params = {"at": at, "trail_min": trail_minutes, "limit": limit, "sections": sections}
    with access.connection(scope) as conn:
        rows = conn.execute(AIR_SQL, params, prepare=False).fetchall()
    return {"type": "FeatureCollection", "features": features(rows, at)}
