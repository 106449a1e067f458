"""Data access for the situational picture: what the map, the panels and the wall draw.

Every read runs through :func:`nsp.access.connection` under the caller's
:class:`~nsp.access.Scope`, so row-level security applies to each query. The SQL is in
``sql/queries/picture.sql``. Results are plain dicts and GeoJSON FeatureCollections that
Dash can send as they are.

The payload is bounded: an events query returns points only when at most
``max_features`` events match (and they fit in ``max_payload_bytes``); otherwise it returns
counts per grid cell, aggregated in PostGIS, with a cell size derived from the map zoom so
that the number of cells stays bounded whatever the number of events.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson
from psycopg import sql
from psycopg.rows import tuple_row

from nsp import access
from nsp.access import Scope
from nsp.errors import NspError
from nsp.queries import queries

CATEGORIES = ("unauthorised_border_crossing", "cross_border_crime", "crisis_situation", "other")
CATEGORY_LABELS = {
    "unauthorised_border_crossing": "Unauthorised border crossing",
    "cross_border_crime": "Cross-border crime",
    "crisis_situation": "Crisis situation",
    "other": "Other (suspect vehicles, vessels, UAVs, persons)",
}
# The labels without their explanation in brackets: legends, lists, alerts.
CATEGORY_SHORT = {c: label.split(" (")[0] for c, label in CATEGORY_LABELS.items()}
IMPACTS = ("low", "medium", "high", "very_high")
IMPACT_WORDS = {"low": "low", "medium": "medium", "high": "high", "very_high": "very high"}
LEVELS = ("low", "medium", "high", "critical")
# Subtypes in words: those nsp gives itself (Cursor on Target: ingest/cot.py, suspect_subtype
# and ALERTS) and the scenario's. A feed may send any other code: it is shown with its
# underscores as spaces (subtype_words).
SUBTYPE_WORDS = {
    "suspect_person": "suspect person", "suspect_vehicle": "suspect vehicle",
    "suspect_person_or_vehicle": "suspect person or vehicle", "suspect_ground_object": "suspect ground object",
    "suspect_uav": "suspect UAV", "suspect_aircraft": "suspect aircraft", "suspect_vessel": "suspect vessel",
    "suspect_subsurface": "suspect subsurface object", "suspect_space_object": "suspect space object",
    "suspect_object": "suspect object", "uav_sighting": "UAV sighting",
    "crossing_attempt": "crossing attempt", "group_crossing_attempt": "group crossing attempt",
    "cigarette_smuggling": "cigarette smuggling", "alcohol_smuggling": "alcohol smuggling",
    "fuel_smuggling": "fuel smuggling", "balloon_smuggling": "balloon smuggling", "follow_up": "follow-up",
    "emergency_911": "emergency", "emergency_ring_the_bell": "emergency (ring the bell)",
    "emergency_troops_in_contact": "troops in contact", "emergency_cancelled": "emergency cancelled",
    "alert_custom": "alert", "geofence_breach": "geofence breach", "alert": "alert",
}
WINDOWS = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
# Who may change a section's impact level (the NCC owns the decision, Art 34).
LEVEL_CHANGERS = ("watch_officer", "system")
# The first report of a high or very high event is due within 24 hours of the authority
# becoming aware (Implementing Regulation (EU) 2021/581): later is a late report, which the
# alert bar, the wall's banners, the weekly summary and the monthly indicators say (the
# export's queries take it as %(report_limit)s).
REPORT_LIMIT = timedelta(hours=24)


class PictureError(NspError):
    """A request for the picture that cannot be served (bad window, refused change)."""


class LevelChangeRefused(PictureError):
    pass


class EventDecisionRefused(PictureError):
    pass


def now_utc() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------- the filter


@dataclass(frozen=True)
class PictureFilter:
    """What the user asked for. ``None`` means no restriction on that field."""

    start: datetime
    end: datetime
    known_at: datetime | None = None  # "as at": only what had been received by then
    categories: tuple[str, ...] | None = None
    impacts: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    sections: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None  # lon_min, lat_min, lon_max, lat_max
    # only the reports their source rejected on validation (which the picture leaves out)
    rejected: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def scoped(self, scope: Scope) -> PictureFilter:
        """The filter intersected with the user's sections (RLS enforces it again)."""
        if scope.all_sections:
            return self
        return replace(self, sections=tuple(scope.restrict(self.sections)))

    def params(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "prev_start": self.start - self.length,
            "known_at": self.known_at,
            "level_at": self.known_at,
            "categories": list(self.categories) if self.categories else None,
            "impacts": list(self.impacts) if self.impacts else None,
            "sources": list(self.sources) if self.sources else None,
            # () is not "no filter": it is what is left when every section asked for lies
            # outside the user's scope (scoped), and it matches nothing.
            "sections": list(self.sections) if self.sections is not None else None,
            "bbox": list(self.bbox) if self.bbox else None,
            "rejected": self.rejected,  # picture_event_filter
        }


def window_bounds(
    window: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """[start, end) of a quick window (1h, 6h, 24h, 7d) ending now or at ``at``, or a custom range."""
    if window == "custom":
        if start is None or end is None:
            raise PictureError("a custom window needs both a start and an end")
        if end <= start:
            raise PictureError(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        return start, end
    if window not in WINDOWS:
        raise PictureError(f"unknown window {window!r}; one of {', '.join(WINDOWS)} or custom")
    stop = at or now or now_utc()
    return stop - WINDOWS[window], stop


# ------------------------------------------------------------------------ helpers


# Blocks of picture.sql that other blocks include by name: {filter}, {observed_by}.
INCLUDED = {"filter": "picture_event_filter", "observed_by": "picture_observed_by"}


def _composed(name: str) -> sql.Composed:
    """The block ``name`` with the blocks it includes (:data:`INCLUDED`) written in."""
    return sql.SQL(queries[name]).format(**{k: sql.SQL(queries[v]) for k, v in INCLUDED.items()})


def _run(conn, name: str, params: dict, with_filter: bool = False) -> list[dict]:
    query = _composed(name) if with_filter else queries[name]
    # Unprepared on purpose: the NULL-means-no-filter conditions fold away only when
    # the planner sees the actual values.
    return conn.execute(query, params, prepare=False).fetchall()


def _fc(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _point(lon: float, lat: float, props: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
        "properties": props,
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def cell_size(zoom: float, cell_pixels: int, lat: float = 57.0) -> tuple[float, float]:
    """Grid cell in degrees (lon, lat) that is about ``cell_pixels`` wide on a Web Mercator map."""
    zoom = max(0.0, min(float(zoom), 18.0))
    cell_x = 360.0 / (256.0 * 2**zoom) * cell_pixels
    return cell_x, cell_x * math.cos(math.radians(lat))


def payload_size(obj) -> int:
    """Bytes of ``obj`` as compact JSON (what Dash sends)."""
    return len(orjson.dumps(obj, default=str))


# ------------------------------------------------------------------- events layer


def confidence_code(reliability: str | None, credibility: int | None) -> str:
    """The report's confidence as the admiralty code writes it (``B2``: source usually
    reliable, information probably true); ``?`` for the half a feed did not give, ``–``
    when it gave neither (``??`` read as a broken character)."""
    if reliability is None and credibility is None:
        return "–"
    return f"{reliability or '?'}{credibility or '?'}"


def subtype_words(code: str | None) -> str:
    """A subtype code in English words: ``suspect_uav`` → ``suspect UAV``; a code nsp does not
    know keeps its own words (``border_post_damage`` → ``border post damage``)."""
    if not code:
        return ""
    return SUBTYPE_WORDS.get(code) or " ".join(code.replace("_", " ").split())


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


def _grid_features(rows: list[dict]) -> dict[str, list[dict]]:
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(
            _point(r["lon"], r["lat"], {
                "agg": True,
                "cat": r["category"],
                "n": r["n"],
                "p": int(r["persons"]),
                "imp": IMPACTS[(r["max_impact"] or 1) - 1],
            })
        )
    return by_cat


# The finest grid of the pre-aggregate event_cell_day (sql/migrations/0008_event_cells.sql).
CELLS_LEVEL = 11


def grid_level(zoom: float, cell_pixels: int) -> int:
    """The grid whose cells are about ``cell_pixels`` wide at ``zoom`` (Web Mercator).

    Level ``L`` has cells of 360 / 2**L degrees of longitude by 360 / 2**(L + 1) of latitude
    (about square at Latvia's latitude). Powers of two, so that each level's cells are
    unions of the finer levels' cells and the pre-aggregate can serve every level up to
    :data:`CELLS_LEVEL`.
    """
    zoom = max(0.0, min(float(zoom), 18.0))
    return max(1, round(zoom + 8 - math.log2(max(1, cell_pixels))))


def _day_split(start: datetime, end: datetime) -> dict:
    """Whole UTC days inside [start, end) (``day_from`` to ``day_to``, exclusive) and the
    partial days at its two edges as time ranges (``edge_lo[i]`` to ``edge_hi[i]``)."""
    midnight = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), UTC)
    first = midnight if midnight == start else midnight + timedelta(days=1)
    last = datetime.combine(end.astimezone(UTC).date(), datetime.min.time(), UTC)
    if first >= last:  # no whole day: everything from the events
        return {"day_from": first.date(), "day_to": first.date(), "edge_lo": [start], "edge_hi": [end]}
    return {"day_from": first.date(), "day_to": last.date(), "edge_lo": [start, last], "edge_hi": [first, end]}


def _split(start: datetime, end: datetime, cells: bool) -> dict:
    """:func:`_day_split` when the pre-aggregate may answer (``cells``); otherwise no whole
    day, and all of [start, end) from the events."""
    if cells:
        return _day_split(start, end)
    return {"day_from": start.date(), "day_to": start.date(), "edge_lo": [start], "edge_hi": [end]}


def _two_window_split(f: PictureFilter) -> dict:
    """:func:`_split` of the window and of the previous window of the same length."""
    cells = _uses_cells(f)
    cur = _split(f.start, f.end, cells)
    prev = _split(f.start - f.length, f.start, cells)
    return cur | {"prev_day_from": prev["day_from"], "prev_day_to": prev["day_to"],
                  "edge_lo": prev["edge_lo"] + cur["edge_lo"], "edge_hi": prev["edge_hi"] + cur["edge_hi"]}


def _uses_cells(f: PictureFilter, level: int = CELLS_LEVEL) -> bool:
    """Whether the pre-aggregate can answer: it has no receipt times ("as at"), no exact
    positions (viewport), no per-impact persons or positions, no finer cells, and no rejected
    reports."""
    return (f.known_at is None and f.bbox is None and f.impacts is None and not f.rejected
            and level <= CELLS_LEVEL)


def _grid_rows(conn, f: PictureFilter, params: dict, zoom: float, cell_pixels: int,
               max_cells: int) -> list[dict]:
    """Grid counts with at most ``max_cells`` cells: a coarser grid rather than dropped cells,
    so the counts on the map always add up to the number of events."""
    # Enough memory to hash-aggregate a week of events instead of sorting them on disk.
    conn.execute("SET LOCAL work_mem = '64MB'")
    level = grid_level(zoom, cell_pixels)
    while level >= 1:
        p = params | {"kx": float(2**level), "ky": float(2 ** (level + 1)), "limit": max_cells + 1}
        p |= _split(f.start, f.end, _uses_cells(f, level)) | {"shift": max(0, CELLS_LEVEL - level)}
        rows = _run(conn, "picture_events_grid", p, True)
        if len(rows) <= max_cells:
            return rows
        level -= 1
    raise PictureError(f"cannot aggregate the events into {max_cells} cells")


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
    with access.connection(scope) as conn:
        points = None
        if f.bbox is not None:
            # A viewport (zoom 9 and more) mostly holds few enough events to draw: fetch one
            # more than the limit straight away instead of counting first, which scanned the
            # window twice (zoom 12, 7 days, 1M events: 65 ms count + 58 ms points).
            points = _run(conn, "picture_events_points", params | {"limit": max_features + 1}, True)
            total = len(points)
        else:
            total = _run(conn, "picture_events_count", params, True)[0]["n"]
        mode = "points"
        layers: dict[str, list[dict]] = defaultdict(list)
        if total <= max_features:
            if points is None:
                points = _run(conn, "picture_events_points", params, True)
            for r in points:
                layers[r["category"]].append(_point(r["lon"], r["lat"], _event_props(r)))
            out = {c: _fc(layers.get(c, [])) for c in CATEGORIES}
            size = payload_size(out)
            if size > max_bytes:
                mode = "grid"
        else:
            mode = "grid"
        if mode == "grid":
            rows = _grid_rows(conn, f, params, zoom, cell_pixels, max_features)
            by_cat = _grid_features(rows)
            out = {c: _fc(by_cat.get(c, [])) for c in CATEGORIES}
            size = payload_size(out)
        rejected = 0 if f.rejected else _run(conn, "picture_events_count", params | {"rejected": True}, True)[0]["n"]
    return {"mode": mode, "total": total, "capped": total > max_features, "layers": out, "bytes": size,
            "rejected": rejected}


def heat_layer(scope: Scope, f: PictureFilter, zoom: float = 7, cell_pixels: int = 24,
               limit: int = 5000) -> dict:
    """Event density: counts per grid cell over all categories (drawn as graded circles)."""
    f = f.scoped(scope)
    with access.connection(scope) as conn:
        rows = _grid_rows(conn, f, f.params(), zoom, cell_pixels, limit)
    cells: dict[tuple[int, int], dict] = {}
    for r in rows:  # the categories of a cell together
        c = cells.setdefault((r["cx"], r["cy"]), {"n": 0, "lon": 0.0, "lat": 0.0})
        c["lon"] += r["lon"] * r["n"]
        c["lat"] += r["lat"] * r["n"]
        c["n"] += r["n"]
    top = max((c["n"] for c in cells.values()), default=1)
    feats = [
        _point(c["lon"] / c["n"], c["lat"] / c["n"], {"n": c["n"], "w": round(c["n"] / top, 3)})
        for c in cells.values()
    ]
    return _fc(feats)


def event_rows(scope: Scope, f: PictureFilter, limit: int = 1000) -> list[dict]:
    """Rows of the event list, newest first, times as ISO strings."""
    f = f.scoped(scope)
    with access.connection(scope) as conn:
        rows = _run(conn, "picture_event_list", f.params() | {"limit": limit}, True)
    for r in rows:
        r["occurred_at"] = _iso(r["occurred_at"])
        r["received_at"] = _iso(r["received_at"])
        r["confidence"] = confidence_code(r.pop("source_reliability"), r.pop("credibility"))
        d = r.pop("distance_to_border_m")
        r["distance_m"] = None if d is None else round(d)
        r["lon"] = round(r["lon"], 5)
        r["lat"] = round(r["lat"], 5)
    return rows


def export_events(scope: Scope, f: PictureFilter, chunk: int = 5000) -> Iterator[tuple[list[str], list[tuple]]]:
    """Every event of ``f`` in the scope, oldest first: ``(column names, rows)`` per chunk of
    ``chunk`` rows (one with no rows when there are none, for the header). A server-side
    cursor, so memory holds one chunk whatever the window; the connection is held until the
    generator is exhausted or closed."""
    f = f.scoped(scope)
    query = _composed("picture_event_export")
    with access.connection(scope) as conn, conn.cursor(name="nsp_event_export", row_factory=tuple_row) as cur:
        cur.itersize = chunk
        cur.execute(query, f.params())
        columns = [d.name for d in cur.description]
        rows = cur.fetchmany(chunk)
        yield columns, rows
        while rows := cur.fetchmany(chunk):
            yield columns, rows


def timeseries(scope: Scope, f: PictureFilter) -> tuple[str, list[dict]]:
    """Events per hour (windows up to 48 h) or per day, by category."""
    f = f.scoped(scope)
    bucket = "hour" if f.length <= timedelta(hours=48) else "day"
    with access.connection(scope) as conn:
        if bucket == "day":
            days = _split(f.start, f.end, _uses_cells(f))
            rows = _run(conn, "picture_timeseries_days", f.params() | days, True)
        else:
            rows = _run(conn, "picture_timeseries", f.params() | {"bucket": bucket}, True)
    return bucket, rows


# ---------------------------------------------------------------------- sections


# A view of some sections (a sector commander's, a wall's rotation) shows this far beyond their
# border lines: the ground on the other side from which crossings, smuggling and UAVs come.
# The sections' areas lie on the home side only, and a view fitted to them put the border at
# the map's very edge.
VIEW_MARGIN_M = 10_000


def sections_layer(scope: Scope, level_at: datetime | None = None) -> dict:
    """Section lines (coloured by level), areas, and each section's bounds for zooming: its
    area and :data:`VIEW_MARGIN_M` around its line."""
    with access.connection(scope) as conn:
        rows = _run(conn, "picture_sections_geo", {"level_at": level_at, "margin_m": VIEW_MARGIN_M})
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
    return {"lines": _fc(lines), "areas": _fc(areas), "bounds": bounds}


def section_list(scope: Scope) -> list[dict]:
    """Code, name, kind and current level of every section the scope sees."""
    with access.connection(scope) as conn:
        return _run(conn, "picture_section_list", {})


def section_table(scope: Scope, f: PictureFilter) -> list[dict]:
    """Per section: level, events and persons in the window, change vs the previous window."""
    f = f.scoped(scope)
    with access.connection(scope) as conn:
        rows = _run(conn, "picture_section_stats", f.params() | _two_window_split(f), True)
    for r in rows:
        r["change"] = r["events"] - r["events_prev"]
        r["last_event"] = _iso(r["last_event"])
    return rows


def by_severity(rows: list[dict]) -> list[dict]:
    """Section rows most severe level first, then the most events, then by code; internal
    borders (no level) last. The order of the main page's table and the wall's list: what
    needs attention is on top, and what a short panel cuts off at the bottom matters least."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    return sorted(rows, key=lambda r: (r["kind"] == "land-internal", -rank.get(r["impact_level"], -1),
                                       -r["events"], r["code"]))


def union_bounds(bounds: dict, codes) -> list[list[float]] | None:
    """The [[south, west], [north, east]] box around the given sections."""
    boxes = [bounds[c] for c in codes or () if c in bounds]
    if not boxes:
        return None
    return [[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
            [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]]


# ------------------------------------------------------------------ operational layer


def operational_layer(scope: Scope, f: PictureFilter, zoom: float = 7, max_tracks: int = 400,
                      trail_minutes: int = 60, asset_max_age_hours: int = 24,
                      limit: int = 2000) -> dict:
    """Patrol tracks of the window, own assets' latest positions, vessels with short trails."""
    f = f.scoped(scope)
    at = f.end
    tolerance = cell_size(zoom, 1)[0]  # one screen pixel
    p = f.params() | {"at": at, "tolerance": tolerance, "limit": max_tracks,
                      "max_age_h": asset_max_age_hours, "trail_min": trail_minutes}
    with access.connection(scope) as conn:
        patrols = _run(conn, "picture_patrols", p)
        assets = _run(conn, "picture_assets_latest", p | {"limit": limit})
        vessels = _run(conn, "picture_vessel_trails", p | {"limit": limit})
    patrol_fc = _fc([
        {"type": "Feature", "geometry": json.loads(r["track"]), "properties": {
            "unit": r["unit"], "mode": r["mode"], "from": _iso(r["started_at"]),
            "to": _iso(r["ended_at"]), "km": None if r["length_km"] is None else round(r["length_km"], 1),
            "ev": r["events"]}}
        for r in patrols
    ])
    asset_fc = _fc([
        _point(r["lon"], r["lat"], {
            "id": r["object_id"], "name": r["name"], "cs": r["callsign"] or r["object_id"],
            "type": r["object_type"], "st": r["status"], "t": _iso(r["observed_at"]),
            "age": int((at - r["observed_at"]).total_seconds() // 60), "sec": r["section_code"]})
        for r in assets
    ])
    vessel_feats = []
    for r in vessels:
        props = {"id": r["object_id"], "name": r["name"], "mmsi": r["mmsi"], "t": _iso(r["observed_at"]),
                 "sog": r["speed_kn"], "cog": r["course_deg"],
                 "age": int((at - r["observed_at"]).total_seconds() // 60)}
        trail = json.loads(r["trail"])
        if trail["type"] == "LineString":
            vessel_feats.append({"type": "Feature", "geometry": trail, "properties": props | {"trail": True}})
        vessel_feats.append(_point(r["lon"], r["lat"], props))
    return {"patrols": patrol_fc, "assets": asset_fc, "vessels": _fc(vessel_feats),
            "truncated_patrols": len(patrols) >= max_tracks}


# --------------------------------------------------------------------- the wall


def last_delivery(scope: Scope) -> datetime | None:
    """When a feed last delivered anything (last finished batch or received event)."""
    return delivery_state(scope)[0]


def delivery_state(scope: Scope) -> tuple[datetime | None, list[dict]]:
    """(last delivery of any feed, the late feeds) in one round trip: the LIVE / DATA STALE
    sign. A late feed has an expected interval (``nsp feeds expect``) and no completed delivery
    within it (rows: source, expected_every, last_delivery; the longest silent first). Feeds
    span all sections, so only scopes of every section are told which are late."""
    with access.connection(scope) as conn:
        last = _run(conn, "picture_last_delivery", {})[0]["last_delivery"]
        late = _run(conn, "picture_feeds_late", {}) if scope.all_sections else []
    return last, late


def is_stale(last: datetime | None, stale_minutes: int, now: datetime | None = None) -> bool:
    return last is None or (now or now_utc()) - last > timedelta(minutes=stale_minutes)


def recent_high(scope: Scope, since: datetime, sections=None, limit: int = 20) -> list[dict]:
    """High and very high events received after ``since``, or set to that impact by the NCC
    after it (``set_by_ncc``), newest first.

    ``alerted_at`` (the later of the two) keeps its microseconds (ISO 8601), so that it can be
    passed back as the next ``since`` (the main page's alert acknowledges up to it).
    ``late_minutes`` is the time from occurrence to the first report when that is more than
    :data:`REPORT_LIMIT` (a late single-event report), else None; ``arrived_late_minutes`` the
    time from occurrence to its arrival here when the report was in time but reached the NCC
    more than :data:`REPORT_LIMIT` after the event (a feed's backlog), else None."""
    sections = scope.restrict(list(sections) if sections else None)  # [] matches nothing
    with access.connection(scope) as conn:
        rows = _run(conn, "picture_recent_high", {"since": since, "sections": sections,
                                                  "limit": limit})
    for r in rows:
        report, arrival = r.pop("reported_at") - r["occurred_at"], r["received_at"] - r["occurred_at"]
        r["late_minutes"] = report.total_seconds() / 60 if report > REPORT_LIMIT else None
        r["arrived_late_minutes"] = (arrival.total_seconds() / 60
                                     if r["late_minutes"] is None and arrival > REPORT_LIMIT else None)
        r["occurred_at"] = _iso(r["occurred_at"])
        r["received_at"] = r["received_at"].astimezone(UTC).isoformat()
        r["alerted_at"] = r["alerted_at"].astimezone(UTC).isoformat()
    return rows


def feeds(scope: Scope, days: int = 7) -> list[dict]:
    """The feeds (sources) that delivered in the last ``days``, longest silent first: the last
    completed delivery, and in the last 24 h the files, refused records and failed files.
    For users who see every section; others get nothing (the feeds span all sections)."""
    if not scope.all_sections:
        return []
    with access.connection(scope) as conn:
        return _run(conn, "picture_feeds", {"days": days})


def alert_health(scope: Scope) -> dict | None:
    """Webhook alerts in counts (subscriptions, sent_24h, waiting, waiting_long, failed_24h) for
    scopes of every section; None for others, and when no subscription is active."""
    if not scope.all_sections:
        return None
    with access.connection(scope) as conn:
        row = _run(conn, "picture_alert_health", {})[0]
    return row if row["subscriptions"] or row["waiting"] or row["failed_24h"] else None


def sources(scope: Scope) -> list[str]:
    with access.connection(scope) as conn:
        return [r["source"] for r in _run(conn, "picture_sources", {})]


# --------------------------------------------------------------- impact levels


def can_change_levels(scope: Scope | None) -> bool:
    """Whether the user may change a section's impact level (watch officers; the system)."""
    return scope is not None and scope.role in LEVEL_CHANGERS


def level_history(scope: Scope, sections=None, limit: int = 50) -> list[dict]:
    sections = scope.restrict(list(sections) if sections else None)  # [] matches nothing
    with access.connection(scope) as conn:
        rows = _run(conn, "picture_level_history", {"sections": sections, "limit": limit})
    for r in rows:
        r["decided_at"] = _iso(r["decided_at"])
    return rows


def change_level(scope: Scope, code: str, level: str, reason: str) -> None:
    """Record a decision to set ``code``'s impact level, by the scope's user, with a reason."""
    if not can_change_levels(scope):
        raise LevelChangeRefused(f"{scope.user} ({scope.role}) may not change impact levels")
    if not code:
        raise LevelChangeRefused("choose a border section")
    if level not in LEVELS:
        raise LevelChangeRefused(f"unknown impact level {level!r}; one of {', '.join(LEVELS)}")
    if not reason or not reason.strip():
        raise LevelChangeRefused("a reason is required for every change of impact level")
    if not scope.allows(code):
        raise LevelChangeRefused(f"section {code} is outside {scope.user}'s sections")
    try:
        from geo import sections as sections_mod
        setter = getattr(sections_mod, "set_impact_level", None)
    except ImportError:
        setter = None
    with access.connection(scope) as conn:
        if setter is not None:  # validates, inserts and writes the audit row
            setter(conn, code, level, scope.user, reason.strip())
            return
        _run(conn, "picture_insert_level_change",
             {"code": code, "level": level, "decided_by": scope.user, "reason": reason.strip()})
        audit = getattr(access, "audit", None)
        if audit is not None:
            audit(conn, scope.user, "impact_level_change", code, {"to": level, "reason": reason.strip()})


# ------------------------------------------------------------------- the owner's decisions

EVENT_ACTIONS = ("impact", "close", "reopen")


def _is_uuid(text: str | None) -> bool:
    """Whether ``text`` can be an event's id (checked before it reaches a query, where a bad
    one would abort the transaction)."""
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def decide_event(scope: Scope, event_id: str, action: str, reason: str, impact: str | None = None) -> dict:
    """The NCC's decision on an event (2021/581 Art 17: change its impact level; Art 9:
    close it, or reopen it), by the scope's user, with a reason: applied to the event,
    kept in event_decision and in the audit log, in one transaction, with the webhook alerts
    a raised impact calls for (0021). Only on a first report (a follow-up describes the
    response to it). Returns the decision as recorded, and how many alerts it queued."""
    if not (scope is not None and scope.can_close_events):
        raise EventDecisionRefused(f"{scope.user} ({scope.role}) may not decide on events")
    if action not in EVENT_ACTIONS:
        raise EventDecisionRefused(f"unknown decision {action!r}; one of {', '.join(EVENT_ACTIONS)}")
    if not reason or not reason.strip():
        raise EventDecisionRefused("a reason is required for every decision on an event")
    if action == "impact" and impact not in IMPACTS:
        raise EventDecisionRefused(f"unknown impact {impact!r}; one of {', '.join(IMPACTS)}")
    with access.connection(scope) as conn:
        found = _run(conn, "picture_event_for_decision", {"id": event_id}) if _is_uuid(event_id) else []
        if not found:
            raise EventDecisionRefused(f"no event {event_id} in {scope.user}'s sections")
        e = found[0]
        if e["parent_id"] is not None:
            raise EventDecisionRefused("this is a follow-up report: decide on its first report")
        before, after = {"impact": (e["impact"], impact), "close": (e["status"], "closed"),
                         "reopen": (e["status"], "open")}[action]
        if before == after:
            what = "impact" if action == "impact" else "status"
            raise EventDecisionRefused(f"the event's {what} is already {IMPACT_WORDS.get(after, after)}")
        params = {"id": e["id"], "action": action, "from": before, "to": after, "reason": reason.strip(),
                  "section_code": e["section_code"], "decided_by": scope.user}
        conn.execute(queries["picture_event_apply_decision"], params)
        conn.execute(queries["picture_insert_event_decision"], params)
        queued = (conn.execute(queries["picture_queue_raised_alerts"], params).fetchone()["queued"]
                  if action == "impact" else 0)
        access.audit(conn, scope.user, f"event_{action}", e["id"],
                     {"source": e["source"], "ref": e["source_ref"], "from": before, "to": after,
                      "reason": reason.strip()})
    return {"action": action, "from": before, "to": after, "alerts_queued": queued}


def event_decisions(scope: Scope, event_id: str) -> list[dict]:
    """The decisions on one event, newest first (only in the scope's sections)."""
    if not _is_uuid(event_id):
        return []
    with access.connection(scope) as conn:
        rows = _run(conn, "picture_event_decisions", {"id": event_id})
    for r in rows:
        r["decided_at"] = _iso(r["decided_at"])
    return rows
