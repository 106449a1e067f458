"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) at ``/ogc``, for GIS clients.

QGIS ("WFS / OGC API - Features" layers), ArcGIS, GDAL's OAPIF driver and scripts read the
live picture here: the border sections (areas and lines, with levels), the events, the
patrols, and the latest position of each own unit and each vessel. Every read runs under
the caller's scope (``access.connection(scope)``, row-level security), exactly as the
dashboard's: a sector commander sees only their sections' features.

Who is asking: a browser's session (the login page), or a personal access token
(dashboard/tokens.py: ``Authorization: Bearer``, or Basic authentication with the token as
password) — the login gate of dashboard/auth.py decides before any route here runs.

The conformance classes are implemented here rather than with pygeoapi: pygeoapi is a
Flask app with its own configuration, provider plugins that open their own database
connections and no notion of the request's user, so it could not read under nsp's scope
without replacing the parts that matter. The requirement ids of OGC 17-069r4 are named in
the docstrings (``/req/core/...``, ``/req/geojson/...``, ``/req/oas30/...``) and in
tests/integration/test_ogc.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from dashboard.scope import current_scope
from dashboard.settings import web_settings
from dashboard.share_auth import current_share
from geo import shares
from nsp import access, vocab
from nsp.queries import queries

blueprint = Blueprint("nsp_ogc", __name__, url_prefix="/ogc")

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
COMMON_PARAMS = {"limit", "cursor", "bbox", "bbox-crs", "crs", "datetime", "f"}


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    query: str  # the block of sql/queries/ogc.sql
    geometry: str  # the GeoJSON geometry type, for the OpenAPI document and the queryables
    temporal: str | None = None  # what datetime selects on, None: no datetime filter
    # Simple property filters (Part 3 queryables): name -> allowed values (None: any text)
    queryables: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # fixed parameters of the query
    latest: bool = False  # the latest position per object: an open start is the map's max age
    key: tuple[str, ...] = ("id",)  # the row's values a next page starts after (the block's ORDER BY)
    uuid_ids: bool = False  # feature ids are UUIDs (looked up by primary key)
    omit: tuple[str, ...] = ()  # columns of the query that are not this collection's properties


AIR_PROPERTIES = ("altitude_ft", "altitude_m", "squawk", "registry", "operator_lon", "operator_lat")


COLLECTIONS = {c.id: c for c in (
    Collection("border_sections", "Border sections",
               "The border sections (areas) with their impact level in force (Regulation 2019/1896 Art 34).",
               "ogc_border_sections", "MultiPolygon"),
    Collection("border_lines", "Border lines",
               "The border line of each section that has one, with the section's impact level.",
               "ogc_border_lines", "MultiLineString"),
    Collection("events", "Events",
               "Reported events (first reports; follow-ups counted in follow_ups), newest first. "
               "datetime selects on occurred_at.",
               "ogc_events", "Point", temporal="occurred_at", key=("occurred_at", "id"), uuid_ids=True,
               queryables={"category": vocab.CATEGORIES, "impact": vocab.IMPACTS, "section_code": None}),
    Collection("patrols", "Patrols",
               "Patrol tracks; datetime selects the patrols whose time meets it.",
               "ogc_patrols", "MultiLineString", temporal="started_at/ended_at", key=("ended_at", "id"),
               uuid_ids=True),
    Collection("own_assets", "Own assets",
               "The latest position of each own unit within datetime; without a start, within the "
               "dashboard's asset age (NSP_WEB_ASSET_MAX_AGE_HOURS) before the end.",
               "ogc_latest_positions", "Point", temporal="observed_at", params={"kind": "own"},
               latest=True, omit=AIR_PROPERTIES),
    Collection("vessels", "Vessels",
               "The latest position of each vessel (AIS) within datetime; without a start, within the "
               "dashboard's asset age (NSP_WEB_ASSET_MAX_AGE_HOURS) before the end.",
               "ogc_latest_positions", "Point", temporal="observed_at", params={"kind": "vessel"},
               latest=True, omit=AIR_PROPERTIES),
    Collection("aircraft", "Aircraft",
               "The latest position of each aircraft (ADS-B: SBS-1, aircraft.json, raw Mode S) within "
               "datetime, with its altitude (feet), squawk and state of registry (ISO 3166-1 alpha-2, from its "
               "24-bit address); without a start, within the dashboard's "
               "asset age (NSP_WEB_ASSET_MAX_AGE_HOURS) before the end.",
               "ogc_latest_positions", "Point", temporal="observed_at", params={"kind": "aircraft"},
               latest=True, omit=("altitude_m", "operator_lon", "operator_lat")),
    Collection("uavs", "UAVs",
               "The latest position of each UAV (Remote ID, counter-UAS tracks) within datetime, with its "
               "height (metres) and, where its Remote ID gave one, its operator's position; without a "
               "start, within the dashboard's asset age (NSP_WEB_ASSET_MAX_AGE_HOURS) before the end.",
               "ogc_latest_positions", "Point", temporal="observed_at", params={"kind": "uav"},
               latest=True, omit=("altitude_ft", "squawk", "registry")),
)}


class BadRequest(Exception):
    """A query parameter the API cannot take (/req/core/query-param-invalid): HTTP 400."""


class NotFound(Exception):
    """An unknown collection or feature: HTTP 404."""


# ------------------------------------------------------------------ responses


def _url(path: str = "", **params) -> str:
    base = request.host_url.rstrip("/") + blueprint.url_prefix + path
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}?{query}" if query else base


def _response(body: dict, mimetype: str = JSON, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=json_default), status=status,
                    mimetype=mimetype)


def json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _error(status: int, code: str, description: str) -> Response:
    """The exception body of OGC API (/rec/core/...): code and description, as JSON."""
    return _response({"code": code, "description": description}, status=status)


@blueprint.errorhandler(BadRequest)
def _bad_request(exc):
    return _error(400, "InvalidParameterValue", str(exc))


@blueprint.errorhandler(NotFound)
def _not_found(exc):
    return _error(404, "NotFound", str(exc))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _check_format(allowed=("json",)) -> str | None:
    """``f``: json (application/json) or, for features, geojson."""
    f = request.args.get("f")
    if f is not None and f not in allowed:
        raise BadRequest(f"f={f!r}: this API answers {' or '.join(allowed)} only")
    return f


def _check_crs(name: str) -> None:
    """``bbox-crs`` and ``crs`` (Part 2): the collections are in CRS84 only."""
    crs = request.args.get(name)
    if crs is not None and crs != CRS84:
        raise BadRequest(f"{name}={crs!r}: only {CRS84} is supported")


def _check_known(allowed: set[str]) -> None:
    """/req/core/query-param-unknown: a parameter the API does not define is an error."""
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}; "
                         f"this resource takes {', '.join(sorted(allowed)) or 'none'}")


# ------------------------------------------------------------------ parameters


def parse_bbox(text: str) -> list[float]:
    """/req/core/fc-bbox-definition: minx,miny,maxx,maxy (or with minz/maxz), WGS 84 lon/lat."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadRequest(f"bbox={text!r}: four (or six) comma-separated numbers expected") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or any(v != v for v in values):  # NaN
        raise BadRequest(f"bbox={text!r}: four (or six) comma-separated numbers expected")
    minx, miny, maxx, maxy = values
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90 and -180 <= minx <= 180 and -180 <= maxx <= 180):
        raise BadRequest(f"bbox={text!r}: longitude must be within ±180 and latitude within ±90")
    if miny > maxy:
        raise BadRequest(f"bbox={text!r}: the lower latitude is above the upper one")
    if minx > maxx:
        raise BadRequest(f"bbox={text!r}: boxes across the antimeridian are not supported")
    return values


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _instant(text: str, end: bool) -> datetime:
    """An RFC 3339 date-time (with a time zone; ``Z``) or a date (its whole UTC day)."""
    if _DATE.match(text):
        day = date.fromisoformat(text)
        if end:
            return datetime.combine(day, time.max, UTC)
        return datetime.combine(day, time.min, UTC)
    try:
        value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"datetime: {text!r} is not an RFC 3339 date-time or date") from None
    if value.tzinfo is None:
        raise BadRequest(f"datetime: {text!r} has no time zone (add Z for UTC)")
    return value


def parse_datetime(text: str) -> tuple[datetime | None, datetime | None]:
    """/req/core/fc-time-definition: an instant, an interval ``a/b``, or a half-bounded one
    (``../b``, ``a/..``; an empty end is taken as open too). Both ends are inclusive; a
    date as an instant is its whole day."""
    if "/" not in text:
        if _DATE.match(text):
            return _instant(text, False), _instant(text, True)
        t = _instant(text, False)
        return t, t
    start_text, _, end_text = text.partition("/")
    if "/" in end_text:
        raise BadRequest(f"datetime={text!r}: an interval has one '/'")
    open_ = ("", "..")
    if start_text in open_ and end_text in open_:
        raise BadRequest(f"datetime={text!r}: at least one end of the interval must be given")
    t0 = None if start_text in open_ else _instant(start_text, False)
    t1 = None if end_text in open_ else _instant(end_text, True)
    if t0 and t1 and t0 > t1:
        raise BadRequest(f"datetime={text!r}: the interval ends before it starts")
    return t0, t1


def _int(name: str, default: int, lo: int, hi: int | None = None) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name}={text!r}: an integer expected") from None
    if value < lo:
        raise BadRequest(f"{name}={value}: at least {lo}")
    # /req/core/fc-limit-response-1: above the maximum, the maximum is used
    return min(value, hi) if hi is not None else value


def encode_cursor(c: Collection, row: dict) -> str:
    """The next page's ``cursor``: the last feature's key, as URL-safe base64 of JSON."""
    key = [json_default(row[k]) if not isinstance(row[k], str) else row[k] for k in c.key]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(c: Collection, text: str) -> list[str]:
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (isinstance(key, list) and len(key) == len(c.key) and all(isinstance(v, str) for v in key)):
        raise BadRequest(f"cursor={text!r}: not a cursor of this collection (follow the next link)")
    for value, name in zip(key, c.key, strict=False):
        if name.endswith("_at"):
            _instant(value, False)
        elif name == "id" and c.uuid_ids and not _UUID.fullmatch(value):
            raise BadRequest(f"cursor={text!r}: not a cursor of this collection (follow the next link)")
    return key


def _values(c: Collection, name: str) -> list[str] | None:
    text = request.args.get(name)
    if text is None:
        return None
    values = [v.strip() for v in text.split(",") if v.strip()]
    allowed = c.queryables[name]
    bad = [v for v in values if allowed is not None and v not in allowed]
    if not values or bad:
        raise BadRequest(f"{name}={text!r}: one or more (comma-separated) of {', '.join(allowed or ['a value'])}")
    return values


# ------------------------------------------------------------------ features


def _feature(c: Collection, row: dict) -> dict:
    props = {k: v for k, v in row.items() if k not in ("id", "geometry") and k not in c.omit}
    feature = {"type": "Feature", "id": row["id"],
               "geometry": json.loads(row["geometry"]) if row["geometry"] else None,
               "properties": props}
    share = current_share()  # a partner share's detail (geo/shares.py)
    return shares.shape(share, c.id, feature) if share else feature


def _visible() -> dict[str, Collection]:
    """The collections of the request: all, or a partner share's layers only."""
    share = current_share()
    return {k: c for k, c in COLLECTIONS.items() if share is None or k in share.collections()}


def _collection(cid: str) -> Collection:
    c = _visible().get(cid)
    if c is None:
        raise NotFound(f"no collection {cid!r}; the collections are {', '.join(_visible())}")
    return c


_COLUMNS = re.compile(r"^SELECT .*?\n(?=  FROM )", re.DOTALL)
_ORDER = re.compile(r"\n ORDER BY (?!.*\n ORDER BY ).*\Z", re.DOTALL)


def count_query(name: str) -> str:
    """The block ``name`` as ``SELECT count(*)`` of the same rows, without the order and the
    page (the layout sql/queries/ogc.sql keeps): no geometry is written, nothing sorted."""
    text = queries[name]
    counted = _ORDER.sub("", _COLUMNS.sub("SELECT count(*) AS n\n", text, count=1), count=1)
    if not counted.startswith("SELECT count(*)") or "%(limit)s" in counted:
        raise ValueError(f"query {name!r} does not have the layout count_query expects")
    return counted


def select_items(c: Collection, *, id=None, bbox=None, t0=None, t1=None, limit=1, after=None,  # noqa: A002
                 filters: dict | None = None) -> tuple[list[dict], int | None]:
    """A page of features (``limit`` + 1 rows, the last one telling that there is more) and,
    on the first page (``after`` None), the number of features that match: counted only
    when the page is full (else it is what came back)."""
    filters = dict(filters or {})
    share = current_share()
    if share is not None:  # a partner share: its delay and lowest impact (geo/shares.py)
        t0, t1, impact = shares.bounds(share, c.id, t0, t1, filters.get("impact"))
        if "impact" in c.queryables:
            filters["impact"] = impact
    params = {"id": id, "bbox": bbox, "t0": t0, "t1": t1, "limit": limit + 1, "after": after,
              **{name: None for name in c.queryables}, **filters, **c.params}
    with access.read_connection(current_scope()) as conn:
        rows = conn.execute(queries[c.query], params, prepare=False).fetchall()
        matched = None
        if after is None:
            matched = len(rows) if len(rows) <= limit else conn.execute(
                count_query(c.query), params, prepare=False).fetchone()["n"]
    return rows, matched


def _collection_doc(c: Collection) -> dict:
    """/req/core/sfc-md-success: id, title, links (items, self), extent, itemType, crs."""
    with access.read_connection(current_scope()) as conn:
        box = conn.execute(queries["ogc_extent"]).fetchone()
    extent = {}
    if box and box["xmin"] is not None:
        extent["spatial"] = {"bbox": [[round(box[k], 6) for k in ("xmin", "ymin", "xmax", "ymax")]],
                             "crs": CRS84}
    if c.temporal:
        extent["temporal"] = {"interval": [[None, None]],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    doc = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            {"href": _url(f"/collections/{c.id}"), "rel": "self", "type": JSON, "title": c.title},
            {"href": _url(f"/collections/{c.id}/items"), "rel": "items", "type": GEOJSON,
             "title": f"{c.title} (GeoJSON)"},
            {"href": _url(f"/collections/{c.id}/queryables"),
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": SCHEMA,
             "title": "The properties this collection can be filtered by"},
        ],
    }
    if extent:
        doc["extent"] = extent
    return doc


# ------------------------------------------------------------------ routes


@blueprint.get("")
@blueprint.get("/")
def landing():
    """/req/core/root-op, /req/core/root-success: the landing page and its links."""
    _check_known({"f"})
    _check_format()
    return _response({
        "title": "nsp — national situational picture",
        "description": "The live picture as OGC API - Features: border sections, events, patrols, "
                       "own assets and vessels, as far as your account may see them.",
        "links": [
            {"href": _url(), "rel": "self", "type": JSON, "title": "This document"},
            {"href": _url("/api"), "rel": "service-desc", "type": OPENAPI, "title": "The API definition"},
            {"href": _url("/conformance"), "rel": "conformance", "type": JSON,
             "title": "The conformance classes implemented"},
            {"href": _url("/collections"), "rel": "data", "type": JSON, "title": "The collections"},
        ],
    })


@blueprint.get("/conformance")
def conformance():
    """/req/core/conformance-op, /req/core/conformance-success."""
    _check_known({"f"})
    _check_format()
    return _response({"conformsTo": CONFORMANCE})


@blueprint.get("/api")
def api():
    """/req/oas30/oas-definition-1: the OpenAPI 3.0 definition of this API."""
    _check_known({"f"})
    _check_format()
    return _response(openapi(), mimetype="application/vnd.oai.openapi+json")


@blueprint.get("/collections")
def collections():
    """/req/core/fc-md-op, /req/core/fc-md-success: every collection's description."""
    _check_known({"f"})
    _check_format()
    return _response({
        "links": [{"href": _url("/collections"), "rel": "self", "type": JSON, "title": "The collections"}],
        "collections": [_collection_doc(c) for c in _visible().values()],
    })


@blueprint.get("/collections/<cid>")
def collection(cid: str):
    """/req/core/sfc-md-op, /req/core/sfc-md-success; 404 for an unknown collection."""
    c = _collection(cid)
    _check_known({"f"})
    _check_format()
    return _response(_collection_doc(c))


@blueprint.get("/collections/<cid>/queryables")
def queryables(cid: str):
    """Part 3 /req/queryables/get-queryables-op: the properties items can be filtered by,
    as a JSON Schema (each also a query parameter of items: /req/queryables-query-parameters)."""
    c = _collection(cid)
    _check_known({"f"})
    _check_format()
    props = {name: ({"type": "string", "enum": list(allowed)} if allowed else {"type": "string"})
             | {"title": name} for name, allowed in c.queryables.items()}
    return _response({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": _url(f"/collections/{c.id}/queryables"),
        "type": "object", "title": c.title, "properties": props, "additionalProperties": False,
    }, mimetype=SCHEMA)


@blueprint.get("/collections/<cid>/items")
def items(cid: str):
    """/req/core/fc-op, /req/core/fc-response, /req/core/fc-limit-*, /req/core/fc-bbox-*,
    /req/core/fc-time-*, /req/core/fc-links, /req/core/fc-timeStamp, /req/core/fc-numberMatched,
    /req/core/fc-numberReturned; /req/geojson/content."""
    c = _collection(cid)
    _check_known(COMMON_PARAMS | set(c.queryables))
    f = _check_format(("json", "geojson"))
    _check_crs("bbox-crs")
    _check_crs("crs")
    limit = _int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = decode_cursor(c, request.args["cursor"]) if "cursor" in request.args else None
    bbox = parse_bbox(request.args["bbox"]) if "bbox" in request.args else None
    t0 = t1 = None
    if "datetime" in request.args:
        t0, t1 = parse_datetime(request.args["datetime"])
        if c.temporal is None:
            t0 = t1 = None  # /req/core/fc-time-response: no temporal property, no filter
    if c.latest and t0 is None:
        # as the map: positions older than NSP_WEB_ASSET_MAX_AGE_HOURS before the end are not
        # the object's current place (and the query reads a bounded part of asset_position)
        t0 = (t1 or datetime.now(UTC)) - timedelta(hours=web_settings().asset_max_age_hours)
    filters = {name: _values(c, name) for name in c.queryables}
    # Keyset pages (the next link carries the last feature's key), so that each page costs the
    # same however deep; numberMatched on the first page only, as counting every match again
    # for each page would make reading a long history quadratic (/req/core/fc-numberMatched:
    # optional).
    rows, matched = select_items(c, bbox=bbox, t0=t0, t1=t1, limit=limit, after=after, filters=filters)
    more = len(rows) > limit
    rows = rows[:limit]
    args = {k: v for k, v in request.args.items() if k not in ("cursor", "f")}
    args["limit"] = str(limit)
    links = [
        {"href": _url(f"/collections/{c.id}/items", **args, cursor=request.args.get("cursor"), f=f), "rel": "self",
         "type": JSON if f == "json" else GEOJSON, "title": "This page"},
        {"href": _url(f"/collections/{c.id}/items", **args, cursor=request.args.get("cursor"),
                      f="geojson" if f == "json" else "json"), "rel": "alternate",
         "type": GEOJSON if f == "json" else JSON, "title": "This page, as " + ("GeoJSON" if f == "json" else "JSON")},
        {"href": _url(f"/collections/{c.id}"), "rel": "collection", "type": JSON, "title": c.title},
    ]
    body = {"type": "FeatureCollection", "timeStamp": _now()}
    if matched is not None:
        body["numberMatched"] = matched
    if more:
        links.append({"href": _url(f"/collections/{c.id}/items", **args, cursor=encode_cursor(c, rows[-1]), f=f),
                      "rel": "next", "type": JSON if f == "json" else GEOJSON, "title": "The next page"})
    body["numberReturned"] = len(rows)
    body["features"] = [_feature(c, r) for r in rows]
    body["links"] = links
    return _response(body, mimetype=JSON if f == "json" else GEOJSON)


@blueprint.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):
    """/req/core/f-op, /req/core/f-success, /req/core/f-links; 404 for an unknown feature
    (and for one outside the caller's scope: it does not exist for them)."""
    c = _collection(cid)
    _check_known({"f", "crs"})
    f = _check_format(("json", "geojson"))
    _check_crs("crs")
    rows, _ = select_items(c, id=fid) if not c.uuid_ids or _UUID.fullmatch(fid.lower()) else ([], None)
    if not rows:
        raise NotFound(f"no feature {fid!r} in collection {c.id!r}")
    feature = _feature(c, rows[0])
    feature["links"] = [
        {"href": _url(f"/collections/{c.id}/items/{fid}"), "rel": "self", "type": GEOJSON, "title": "This feature"},
        {"href": _url(f"/collections/{c.id}/items/{fid}", f="json"), "rel": "alternate", "type": JSON,
         "title": "This feature, as JSON"},
        {"href": _url(f"/collections/{c.id}"), "rel": "collection", "type": JSON, "title": c.title},
    ]
    return _response(feature, mimetype=JSON if f == "json" else GEOJSON)


# ------------------------------------------------------------------ the OpenAPI document


def _param(name: str, description: str, schema: dict, explode: bool = True, style: str = "form") -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": style, "explode": explode}


def openapi() -> dict:
    """The OpenAPI 3.0 definition (/req/oas30/oas-impl-1): every path, its parameters and
    responses, generated from :data:`COLLECTIONS`."""
    json_body = {"description": "OK", "content": {JSON: {"schema": {"type": "object"}}}}
    geo_body = {"description": "OK", "content": {GEOJSON: {"schema": {"type": "object"}},
                                                 JSON: {"schema": {"type": "object"}}}}
    errors = {"400": {"description": "Invalid query parameter"},
              "401": {"description": "No valid session or personal access token"},
              "404": {"description": "Unknown collection or feature"}}
    f_param = _param("f", "The format: json (or geojson for features)",
                     {"type": "string", "enum": ["json", "geojson"]})
    common = [
        _param("limit", f"Features per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
               {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        _param("cursor", "Where the page starts: set by the next link, follow it", {"type": "string"}),
        _param("bbox", "minx,miny,maxx,maxy in WGS 84 longitude/latitude",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, explode=False),
        _param("bbox-crs", "The bbox's CRS (CRS84 only)", {"type": "string", "format": "uri"}),
        _param("crs", "The features' CRS (CRS84 only)", {"type": "string", "format": "uri"}),
        _param("datetime", "An instant, or an interval a/b; ../b and a/.. are open", {"type": "string"}),
        f_param,
    ]

    def op(op_id: str, summary: str, responses: dict, params=(f_param,)) -> dict:
        return {"get": {"operationId": op_id, "summary": summary, "tags": ["nsp"],
                        "parameters": list(params), "responses": responses | errors}}

    paths = {
        "/": op("getLandingPage", "The landing page", {"200": json_body}),
        "/conformance": op("getConformance", "The conformance classes", {"200": json_body}),
        "/api": op("getApi", "This document", {"200": {"description": "OK",
                                                        "content": {OPENAPI: {"schema": {"type": "object"}}}}}),
        "/collections": op("getCollections", "The collections", {"200": json_body}),
    }
    for c in COLLECTIONS.values():
        base = f"/collections/{c.id}"
        filters = [_param(name, f"Only features whose {name} is one of these (comma-separated)",
                          {"type": "string", **({"enum": list(allowed)} if allowed else {})}, explode=False)
                   for name, allowed in c.queryables.items()]
        paths[base] = op(f"describe_{c.id}", f"{c.title}: the collection", {"200": json_body})
        paths[f"{base}/queryables"] = op(f"queryables_{c.id}", f"{c.title}: queryables",
                                         {"200": {"description": "OK", "content": {SCHEMA: {"schema": {"type": "object"}}}}})
        paths[f"{base}/items"] = op(f"items_{c.id}", f"{c.title}: features ({c.geometry})", {"200": geo_body},
                                    common + filters)
        paths[f"{base}/items/{{featureId}}"] = op(
            f"item_{c.id}", f"{c.title}: one feature", {"200": geo_body},
            [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}, f_param])
    return {
        "openapi": "3.0.3",
        "info": {"title": "nsp — OGC API - Features", "version": "1.0.0",
                 "description": "The national situational picture for GIS clients. Authenticate with a "
                                "personal access token (nsp users token NAME)."},
        "servers": [{"url": _url()}],
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                           "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"basic": []}, {"bearer": []}],
        "paths": paths,
    }


# ------------------------------------------------------------------ vector tiles

#: ``/tiles/{z}/{x}/{y}.mvt``: the sections and the events as Mapbox vector tiles (ST_AsMVT),
#: under the caller's scope, for map clients that draw tiles (QGIS's vector tiles layer,
#: MapLibre). Authenticated as /ogc (personal access token or session).
tiles_blueprint = Blueprint("nsp_tiles", __name__, url_prefix="/tiles")
MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
TILE_EVENTS = 10000  # events per tile at most (the newest)
TILE_HOURS = 24  # events of the last day unless datetime says otherwise


@tiles_blueprint.errorhandler(BadRequest)
def _tile_bad_request(exc):
    return _error(400, "InvalidParameterValue", str(exc))


@tiles_blueprint.get("/<int:z>/<int:x>/<int:y>.mvt")
def tile(z: int, x: int, y: int):
    """One tile: layers ``border_sections`` and ``events`` (the last 24 hours, or
    ``datetime``: an instant or interval as for /ogc items; at most 10,000, the newest)."""
    _check_known({"datetime"})
    if z > MAX_ZOOM or x >= 2 ** z or y >= 2 ** z:
        raise BadRequest(f"no tile {z}/{x}/{y}: zoom 0-{MAX_ZOOM}, x and y below 2^zoom")
    now = datetime.now(UTC)
    t0, t1 = parse_datetime(request.args["datetime"]) if "datetime" in request.args else (None, None)
    if t1 is None:
        t1 = now if t0 is None or t0 <= now else t0
    if t0 is None:
        t0 = t1 - timedelta(hours=TILE_HOURS)
    with access.read_connection(current_scope()) as conn:
        data = conn.execute(queries["tiles_mvt"], {"z": z, "x": x, "y": y, "t0": t0, "t1": t1,
                                                    "limit": TILE_EVENTS}, prepare=False).fetchone()["tile"]
    response = Response(bytes(data), mimetype=MVT)
    response.cache_control.private = True  # what it holds depends on who asks
    response.cache_control.max_age = 60
    return response
