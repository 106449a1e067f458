"""The neighbour picture: what partner centres share with this one (the inbound side of
geo/shares.py).

``nsp neighbours add NAME --country LT [--secret S] [--pull-url URL --token T]`` registers a
partner (table ``neighbour``, migration 0161). Its shared feed arrives

- pushed: ``POST /api/ingest/neighbours/NAME`` with the GeoJSON that ``nsp shares push`` sends,
  signed with the partner's share secret (ingest/delivery/neighbours_api.py checks the signature); or
- pulled: ``nsp neighbours pull NAME`` reads the partner's OGC API (its share's layers) with
  the share's token, following the next links; and the worker's periodic task
  (``ingest.tasks.pull_neighbours``, :func:`pull_due`) pulls each partner with a pull URL
  every ``--pull-interval``. How each pull went is kept on the partner's row (``pulled_at``,
  ``pull_ok_at``, ``pull_error``, ``pull_failures``; migration 0190), audited
  (``neighbour_pull`` / ``neighbour_pull_failed``) and shown by ``nsp neighbours list`` and on
  the main page's feeds panel: a partner that cannot be reached is a recorded failure, never
  a failed job.

Either way :func:`load` replaces the partner's features in ``neighbour_feature`` with the feed
(a share is sent whole), each marked with the partner's country. A feature that cannot be read
(no geometry, a layer not shared, no id) is put in ``quarantine`` with its raw text and
reason (source ``neighbour:NAME``); the good ones load. The neighbour picture is kept apart
from this centre's tables: it is in no section's figures, and users read it only (scopes of
every section; row-level security).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import UTC, datetime, timedelta

import psycopg

from geo.shares import LAYERS
from nsp import access, db
from nsp.errors import NspError

log = logging.getLogger("nsp.neighbours")

OGC_LAYERS = {"events": "events", "own_assets": "own_assets", "border_sections": "border_sections"}
PAGE = 1000


class NeighbourError(NspError):
    """A neighbour that cannot be registered, found or read (names it and the reason)."""


DEFAULT_PULL_INTERVAL = timedelta(minutes=5)
MIN_PULL_INTERVAL = timedelta(seconds=10)


def add_neighbour(conn, name: str, country: str, *, secret: str | None = None, pull_url: str | None = None,
                  token: str | None = None, actor: str = "system",
                  pull_interval: timedelta = DEFAULT_PULL_INTERVAL) -> None:
    country = country.strip().upper()
    if pull_interval < MIN_PULL_INTERVAL:
        raise NeighbourError(f"neighbour {name!r}: a pull interval of at least {MIN_PULL_INTERVAL.seconds} s")
    if conn.execute("SELECT 1 FROM neighbour WHERE name = %s", (name,)).fetchone():
        raise NeighbourError(f"neighbour {name!r} exists")
    if not (secret or pull_url):
        raise NeighbourError(f"neighbour {name!r}: give --secret (pushes) or --pull-url and --token (pulls)")
    try:
        conn.execute("INSERT INTO neighbour (name, country, secret, pull_url, pull_token, created_by, pull_interval) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (name, country, secret, pull_url, token, actor, pull_interval))
    except psycopg.errors.CheckViolation as exc:
        raise NeighbourError(f"neighbour {name!r}: a name of a-z, 0-9, - and _ and a country code such as "
                             f"LT or LTU ({exc.__class__.__name__})") from exc
    access.audit(conn, actor, "neighbour_add", name, {"country": country, "push": bool(secret),
                                                        "pull_url": pull_url,
                                                        "pull_interval_s": pull_interval.total_seconds()})


def set_neighbour(conn, name: str, *, secret: str | None = None, pull_url: str | None = None,
                  token: str | None = None, pull_interval: timedelta | None = None, actor: str = "system") -> None:
    """Change what a partner gave (a new token, secret or URL) or how often it is pulled; a
    new token or URL is pulled at the next run of the schedule. Audited (``neighbour_set``,
    what changed but never the secret or token)."""
    get_neighbour(conn, name)
    if pull_interval is not None and pull_interval < MIN_PULL_INTERVAL:
        raise NeighbourError(f"neighbour {name!r}: a pull interval of at least {MIN_PULL_INTERVAL.seconds} s")
    changes = {k: v for k, v in (("secret", secret), ("pull_url", pull_url), ("pull_token", token),
                                 ("pull_interval", pull_interval)) if v is not None}
    if not changes:
        raise NeighbourError(f"neighbour {name!r}: nothing to change (--secret, --pull-url, --token, --pull-interval)")
    due_now = "pull_url" in changes or "pull_token" in changes
    conn.execute("UPDATE neighbour SET " + ", ".join(f"{k} = %({k})s" for k in changes)
                 + (", pulled_at = NULL" if due_now else "") + " WHERE name = %(name)s", {**changes, "name": name})
    access.audit(conn, actor, "neighbour_set", name,
                 {"changed": sorted(changes), "pull_url": pull_url,
                  "pull_interval_s": pull_interval.total_seconds() if pull_interval is not None else None})


def get_neighbour(conn, name: str) -> dict:
    row = conn.execute("SELECT * FROM neighbour WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise NeighbourError(f"no neighbour named {name!r} (see `nsp neighbours list`)")
    return row


def list_neighbours(conn) -> list[dict]:
    return conn.execute(
        "SELECT n.name, n.country, n.pull_url, n.secret IS NOT NULL AS push, n.loaded_at, n.pull_interval, "
        "       n.pulled_at, n.pull_ok_at, n.pull_error, n.pull_failures, "
        "       (SELECT count(*) FROM neighbour_feature f WHERE f.neighbour = n.name) AS features "
        "  FROM neighbour n ORDER BY n.name").fetchall()


def _time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _check(feature, layer_default: str | None) -> tuple[str, str, dict, dict] | str:
    """(layer, id, geometry, properties) of a shared feature, or why it cannot be loaded."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "not a GeoJSON Feature"
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        return "properties is not an object"
    layer = props.get("layer") or layer_default
    if layer not in LAYERS:
        return f"layer {layer!r}: one of {', '.join(LAYERS)}"
    fid = feature.get("id", props.get("id"))
    if fid is None or str(fid) == "":
        return "no id"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or "coordinates" not in geometry:
        return "no geometry"
    return layer, str(fid), geometry, props


def load(conn, name: str, features: list, *, origin: str, layer: str | None = None,
         actor: str = "system") -> dict:
    """Replace neighbour ``name``'s picture (of ``layer``, or of every layer the features
    name) with ``features``; quarantine the unreadable ones. The owner's connection, in the
    caller's transaction. Returns {"loaded", "quarantined"}."""
    n = get_neighbour(conn, name)
    good, bad = [], []
    for i, f in enumerate(features, 1):
        checked = _check(f, layer)
        if isinstance(checked, str):
            bad.append((i, f, checked))
        else:
            good.append(checked)
    layers = {layer} if layer else {g[0] for g in good} | {"events", "own_assets", "border_sections"}
    conn.execute("DELETE FROM neighbour_feature WHERE neighbour = %s AND layer = ANY(%s)", (name, list(layers)))
    loaded = 0
    for lay, fid, geometry, props in good:
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO neighbour_feature (neighbour, country, layer, feature_id, geom, category, impact, "
                    "persons, occurred_at, properties) VALUES (%s, %s, %s, %s, "
                    "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s, %s, %s, %s, %s::jsonb) "
                    "ON CONFLICT (neighbour, layer, feature_id) DO NOTHING",
                    (name, n["country"], lay, fid, json.dumps(geometry), props.get("category"), props.get("impact"),
                     props.get("persons") if isinstance(props.get("persons"), int) else None,
                     _time(props.get("occurred_at") or props.get("observed_at")), json.dumps(props)))
            loaded += 1
        except psycopg.Error as exc:  # an invalid geometry PostGIS refuses
            bad.append((None, {"type": "Feature", "id": fid, "geometry": geometry, "properties": props},
                        f"geometry: {str(exc).splitlines()[0]}"))
    for i, raw, reason in bad:
        conn.execute("INSERT INTO quarantine (source, file_name, format, location, record_no, raw, reason) "
                     "VALUES (%s, %s, 'geojson', %s, %s, %s, %s)",
                     (f"neighbour:{name}", origin, f"feature {i}" if i else "feature", i,
                      json.dumps(raw, default=str)[:100000], reason))
    conn.execute("UPDATE neighbour SET loaded_at = now() WHERE name = %s", (name,))
    access.audit(conn, actor, "neighbour_load", name, {"origin": origin, "loaded": loaded, "quarantined": len(bad)})
    return {"loaded": loaded, "quarantined": len(bad)}


def _get_json(url: str, token: str, timeout: float) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                               "Accept": "application/geo+json", "User-Agent": "nsp-neighbours"})
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - an operator's http(s) URL
        return json.loads(r.read())


def pull(conn, name: str, timeout: float = 30.0, actor: str = "system") -> dict:
    """Read neighbour ``name``'s share from its OGC API (every layer it offers) and load it."""
    n = get_neighbour(conn, name)
    if not n["pull_url"] or not n["pull_token"]:
        raise NeighbourError(f"neighbour {name!r} has no --pull-url and --token")
    base = n["pull_url"].rstrip("/")
    try:
        offered = {c["id"] for c in _get_json(base + "/collections", n["pull_token"], timeout)["collections"]}
        totals = {"loaded": 0, "quarantined": 0}
        for layer in (x for x in LAYERS if OGC_LAYERS[x] in offered):
            features, url = [], f"{base}/collections/{OGC_LAYERS[layer]}/items?limit={PAGE}"
            while url:
                page = _get_json(url, n["pull_token"], timeout)
                features += page.get("features", [])
                url = next((link["href"] for link in page.get("links", []) if link.get("rel") == "next"), None)
            done = load(conn, name, features, origin=base, layer=layer, actor=actor)
            totals = {k: totals[k] + done[k] for k in totals}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # unreachable, refused (HTTP errors are OSErrors), or an answer that is no OGC API's
        raise NeighbourError(f"neighbour {name!r}: pull from {base} failed: {exc}") from exc
    return totals


DUE = ("pull_url IS NOT NULL AND pull_token IS NOT NULL"
       " AND (pulled_at IS NULL OR pulled_at + pull_interval <= now())")


def pull_recorded(name: str, timeout: float = 30.0, actor: str = "system", only_if_due: bool = False) -> dict | None:
    """:func:`pull` in a transaction of its own, with how it went kept on the partner's row and
    audited: the counts; None when ``only_if_due`` and the pull is not due (or another worker
    holds it). A failed pull is recorded (``pull_error``, ``pull_failures`` + 1,
    ``neighbour_pull_failed``) and then raised."""
    try:
        with db.connect() as conn, conn.transaction():
            # a scheduled pull skips a partner another worker is pulling; one by hand waits for it
            row = conn.execute(f"SELECT name FROM neighbour WHERE name = %s {'AND ' + DUE if only_if_due else ''}"
                               f" FOR UPDATE{' SKIP LOCKED' if only_if_due else ''}", (name,)).fetchone()
            if row is None:
                if only_if_due:
                    return None
                get_neighbour(conn, name)  # no such neighbour: says so
            done = pull(conn, name, timeout, actor)
            conn.execute("UPDATE neighbour SET pulled_at = now(), pull_ok_at = now(), pull_error = NULL,"
                         " pull_failures = 0 WHERE name = %s", (name,))
            access.audit(conn, actor, "neighbour_pull", name, done)
        return done
    except NeighbourError as exc:
        with db.connect() as conn, conn.transaction():
            failures = conn.execute(
                "UPDATE neighbour SET pulled_at = now(), pull_error = %s, pull_failures = pull_failures + 1"
                " WHERE name = %s RETURNING pull_failures", (str(exc), name)).fetchone()
            if failures is not None:
                access.audit(conn, actor, "neighbour_pull_failed", name,
                             {"error": str(exc), "failures": failures["pull_failures"]})
        raise


def pull_due(timeout: float = 30.0, actor: str = "nsp worker") -> dict[str, str]:
    """Pull every partner whose pull is due (``pull_interval`` since the last try): by name,
    ``ok`` or ``failed`` (recorded, never raised: one partner down does not stop the others'
    pulls, nor fail the worker's job)."""
    with db.connect() as conn:
        names = [r["name"] for r in conn.execute(f"SELECT name FROM neighbour WHERE {DUE} ORDER BY name")]
    out = {}
    for name in names:
        try:
            done = pull_recorded(name, timeout, actor, only_if_due=True)
        except NeighbourError as exc:
            log.warning("neighbour pull failed", extra={"action": "neighbour_pull_failed", "neighbour": name,
                                                        "error": str(exc)})
            out[name] = "failed"
            continue
        if done is not None:
            log.info("neighbour pulled", extra={"action": "neighbour_pull", "neighbour": name, **done})
            out[name] = "ok"
    return out
