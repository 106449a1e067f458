"""Partner shares: the part of the picture a neighbouring centre (or the European picture) gets.

``nsp shares add NAME --sections ... --layers events,own_assets --min-impact high --delay 15m
--detail full|no-personal-data`` stores a share (table ``partner_share``, migration 0160) and
prints, once, its token (for pulls) and its signing secret (for pushes). A share is a scope:

- its partner reads under ``Scope(user="share:NAME", role="kiosk", sections=<its sections>)``,
  so row-level security holds it to the sections it names (never more), restricted objects
  included (kiosk scopes of some sections never see them);
- only its layers (``events``, ``own_assets``, ``border_sections``);
- nothing newer than now − delay, and no event below its lowest impact;
- ``no-personal-data``: events keep only category, subtype, time, place (rounded to the
  share's ``place_decimals``), persons, impact and section; own units only their type, time,
  place (rounded) and section, under an id that does not name them.

The partner **pulls** it from ``/ogc`` with the share's token (dashboard/share_auth.py makes
the share the request's scope; dashboard/ogc.py applies :func:`bounds` and :func:`shape`), or
nsp **pushes** it (:func:`push`) as one GeoJSON FeatureCollection signed as the webhook alerts
are (``X-NSP-Signature: sha256=<HMAC-SHA256 of the body with the share's secret>``). Every
pull and every push writes an ``audit_log`` row (``share_pull``, ``share_push``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.delivery.alerts import POST_ERRORS, check_url, post, post_error, sign
from nsp import access, db, vocab
from nsp.errors import NspError
from nsp.passwords import token_sha256
from nsp.queries import queries
from nsp.settings import geo_settings

LAYERS = ("events", "own_assets", "border_sections")
DETAILS = ("full", "no-personal-data")
TOKEN_PREFIX = "nsps_"
#: what no-personal-data keeps of an event and of an own unit's position (besides the place)
EVENT_FIELDS = ("category", "subtype", "occurred_at", "persons", "impact", "section_code")
ASSET_FIELDS = ("object_type", "observed_at", "section_code")
#: the OGC collections each layer opens (border_lines come with border_sections)
COLLECTIONS = {"events": ("events",), "own_assets": ("own_assets",),
               "border_sections": ("border_sections", "border_lines")}
FEED_LIMIT = 100000  # features of one layer in a pushed feed at most
ASSET_HOURS = 24  # a pushed own unit's latest position within this long before now − delay


class ShareError(NspError):
    """A share that cannot be made, found or sent (names the share and the reason)."""


@dataclass(frozen=True)
class Share:
    name: str
    partner: str
    sections: tuple[str, ...]
    layers: tuple[str, ...]
    min_impact: str | None
    delay: timedelta
    detail: str
    place_decimals: int

    @classmethod
    def from_row(cls, row: dict) -> Share:
        return cls(row["name"], row["partner"], tuple(row["sections"]), tuple(row["layers"]),
                   row["min_impact"], row["delay"], row["detail"], row["place_decimals"])

    @property
    def scope(self) -> access.Scope:
        return access.Scope(user=f"share:{self.name}", role="kiosk", sections=self.sections)

    @property
    def impacts(self) -> tuple[str, ...] | None:
        """The impacts the share passes (None: all)."""
        if self.min_impact is None:
            return None
        return tuple(i for i in vocab.IMPACTS if vocab.IMPACT_RANK[i] >= vocab.IMPACT_RANK[self.min_impact])

    def collections(self) -> tuple[str, ...]:
        return tuple(c for layer in self.layers for c in COLLECTIONS[layer])

    def until(self, now: datetime | None = None) -> datetime:
        return (now or datetime.now(UTC)) - self.delay


# ------------------------------------------------------------------ what a partner gets


def bounds(share: Share, collection: str, t0, t1, impact: list[str] | None):
    """(t0, t1, impact filter) of a read by ``share``: t1 at most now − delay (a position's
    window moved back with it), the impacts at least the share's lowest."""
    until = share.until()
    if collection in ("own_assets", "vessels") and t0 is not None and t1 is None:
        t0 = t0 - share.delay
    t1 = until if t1 is None or t1 > until else t1
    allowed = share.impacts
    if allowed is not None and collection == "events":
        impact = [i for i in (impact or allowed) if i in allowed]
        if not impact:
            impact = ["-"]  # asked only for impacts the share does not pass: nothing
    return t0, t1, impact


def _rounded(geometry: dict | None, decimals: int) -> dict | None:
    if not geometry or geometry.get("type") != "Point":
        return geometry
    lon, lat = geometry["coordinates"][:2]
    return {"type": "Point", "coordinates": [round(lon, decimals), round(lat, decimals)]}


def shape(share: Share, collection: str, feature: dict) -> dict:
    """``feature`` as ``share`` may pass it on: unchanged for ``full``; for
    ``no-personal-data`` only the fields the European picture needs, the place rounded."""
    if share.detail == "full" or collection not in ("events", "own_assets"):
        return feature
    props = feature["properties"]
    if collection == "events":
        kept = {k: props.get(k) for k in EVENT_FIELDS}
        fid = feature["id"]
    else:
        kept = {k: props.get(k) for k in ASSET_FIELDS}
        # the unit's id (a call sign, a device name) can name a person: a digest per share
        fid = "unit-" + hashlib.sha256(f"{share.name}\0{feature['id']}".encode()).hexdigest()[:16]
    return {**feature, "id": fid, "geometry": _rounded(feature["geometry"], share.place_decimals),
            "properties": kept}


# ------------------------------------------------------------------ management (nsp shares)


def add_share(conn, name: str, *, sections: list[str], layers: list[str], min_impact: str | None = None,
              delay: timedelta = timedelta(0), detail: str = "full", place_decimals: int = 2,
              partner: str = "", actor: str = "system") -> tuple[str, str]:
    """Store a share; return (token, signing secret), shown once (only the token's hash is kept)."""
    layers = list(dict.fromkeys(layers))
    bad = [x for x in layers if x not in LAYERS]
    if bad or not layers:
        raise ShareError(f"share {name!r}: layers {', '.join(bad) or '(none)'}: one or more of {', '.join(LAYERS)}")
    if detail not in DETAILS:
        raise ShareError(f"share {name!r}: detail {detail!r}: one of {', '.join(DETAILS)}")
    if min_impact is not None and min_impact not in vocab.IMPACTS:
        raise ShareError(f"share {name!r}: min impact {min_impact!r}: one of {', '.join(vocab.IMPACTS)}")
    if not 0 <= place_decimals <= 6:
        raise ShareError(f"share {name!r}: place decimals {place_decimals}: 0 to 6")
    if delay < timedelta(0):
        raise ShareError(f"share {name!r}: the delay cannot be negative")
    sections = list(dict.fromkeys(s.strip().upper() for s in sections if s.strip()))
    if not sections:
        raise ShareError(f"share {name!r}: name its sections (--sections); a share never has them all")
    known = {r["code"] for r in conn.execute("SELECT code FROM border_section WHERE code = ANY(%s)",
                                              (sections,)).fetchall()}
    unknown = [s for s in sections if s not in known]
    if unknown:
        raise ShareError(f"share {name!r}: no section {', '.join(unknown)} (see `nsp sections list`)")
    if conn.execute("SELECT 1 FROM partner_share WHERE name = %s", (name,)).fetchone():
        raise ShareError(f"share {name!r} exists (revoke it, or choose another name)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    secret = secrets.token_urlsafe(32)
    try:
        conn.execute(
            "INSERT INTO partner_share (name, partner, sections, layers, min_impact, delay, detail, "
            "place_decimals, token_sha256, push_secret, created_by) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (name, partner, sections, layers, min_impact, delay, detail, place_decimals,
             token_sha256(token), secret, actor))
    except psycopg.errors.CheckViolation as exc:
        raise ShareError(f"share {name!r}: {db.first_line(exc)} (a name of a-z, 0-9, - and _)") from exc
    access.audit(conn, actor, "share_add", name, {
        "partner": partner, "sections": sections, "layers": layers, "min_impact": min_impact,
        "delay_seconds": int(delay.total_seconds()), "detail": detail, "place_decimals": place_decimals})
    return token, secret


def list_shares(conn) -> list[dict]:
    return conn.execute(
        "SELECT name, partner, sections, layers, min_impact, delay, detail, place_decimals, created_at, "
        "created_by, last_used_at, revoked_at, CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' "
        "END AS state FROM partner_share ORDER BY name").fetchall()


def revoke_share(conn, name: str, actor: str = "system") -> None:
    row = conn.execute("UPDATE partner_share SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL "
                       "RETURNING name", (name,)).fetchone()
    if row is None:
        raise ShareError(f"no active share named {name!r} (see `nsp shares list`)")
    access.audit(conn, actor, "share_revoke", name, {})


def get_share(conn, name: str) -> tuple[Share, str]:
    """An active share and its signing secret (the owner's connection)."""
    row = conn.execute("SELECT * FROM partner_share WHERE name = %s AND revoked_at IS NULL", (name,)).fetchone()
    if row is None:
        raise ShareError(f"no active share named {name!r} (see `nsp shares list`)")
    return Share.from_row(row), row["push_secret"]


# ------------------------------------------------------------------ push


def _geometry(text: str | None) -> dict | None:
    return json.loads(text) if text else None


def feed(share: Share, now: datetime | None = None) -> dict:
    """The share as one GeoJSON FeatureCollection, read under the share's scope: every layer's
    features (each with ``layer``), as a pull of each collection would give them."""
    now = now or datetime.now(UTC)
    features = []
    base = {"id": None, "bbox": None, "after": None, "limit": FEED_LIMIT, "category": None,
            "impact": None, "section_code": None}
    with access.connection(share.scope) as conn:
        for layer in share.layers:
            if layer == "events":
                t0, t1, impact = bounds(share, "events", None, None, None)
                rows = conn.execute(queries["ogc_events"], {**base, "t0": t0, "t1": min(t1, now),
                                                            "impact": impact}, prepare=False).fetchall()
            elif layer == "own_assets":
                t1 = share.until(now)
                t0 = t1 - timedelta(hours=ASSET_HOURS)
                rows = conn.execute(queries["ogc_latest_positions"], {**base, "t0": t0, "t1": t1, "kind": "own"},
                                    prepare=False).fetchall()
            else:
                rows = conn.execute(queries["ogc_border_sections"], base, prepare=False).fetchall()
            for r in rows:
                f = {"type": "Feature", "id": r["id"], "geometry": _geometry(r["geometry"]),
                     "properties": {k: v for k, v in r.items() if k not in ("id", "geometry")}}
                f = shape(share, layer, f)
                f["properties"]["layer"] = layer
                features.append(f)
    return {"type": "FeatureCollection", "share": share.name, "country": geo_settings().country,
            "detail": share.detail, "timeStamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "features": features}


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def push(name: str, url: str, timeout: float = 30.0, actor: str = "system") -> dict:
    """POST share ``name`` to ``url`` as signed GeoJSON once; audited whatever the answer.
    Returns {"status", "features"}; raises ShareError when the partner did not take it."""
    why = check_url(url)
    if why:
        raise ShareError(f"share {name!r}: --url {url!r}: {why}")
    with db.connect() as conn:
        share, secret = get_share(conn, name)
    body = json.loads(json.dumps(feed(share), default=_json_default))
    delivery = secrets.token_hex(8)
    n = len(body["features"])
    try:
        status = post(url, secret, body, delivery, timeout)
        error = None
    except POST_ERRORS as exc:
        status, error = None, post_error(exc)[0]
    with db.connect() as conn, conn.transaction():
        access.audit(conn, actor, "share_push", name, {"url": url, "delivery": delivery, "features": n,
                                                       "status": status, "error": error})
    if error:
        raise ShareError(f"share {name!r}: push to {url} failed: {error}")
    return {"status": status, "features": n, "delivery": delivery}


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` (X-NSP-Signature) is the share secret's HMAC of ``body``."""
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature)
