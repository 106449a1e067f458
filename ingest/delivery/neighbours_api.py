"""``POST /api/ingest/neighbours/<name>``: a partner centre pushes its share here (geo/neighbours.py).

The body is the GeoJSON FeatureCollection ``nsp shares push`` sends, signed with the share's
secret (``X-NSP-Signature: sha256=<HMAC-SHA256 of the body>``, as the webhook alerts); the
neighbour was registered with that secret (``nsp neighbours add NAME --country LT --secret S``).
A wrong or missing signature gets 401 and an audit row; a body that is not a
FeatureCollection 400; else the partner's picture is replaced and the counts returned.
Under ``/api/ingest`` (NSP_AUTH_TOKEN_AUTH_PREFIXES): no session, no CSRF check — the
signature is the authentication.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from geo import neighbours
from geo.shares import verify
from nsp import access, db

blueprint = Blueprint("neighbours_api", __name__)
MAX_BYTES = 64 * 1024 * 1024


@blueprint.post("/api/ingest/neighbours/<name>")
def receive(name: str):
    body = request.get_data(cache=False)
    if len(body) > MAX_BYTES:
        return jsonify({"error": f"body larger than {MAX_BYTES} bytes"}), 413
    with db.connect() as conn, conn.transaction():
        row = conn.execute("SELECT secret FROM neighbour WHERE name = %s", (name,)).fetchone()
        if row is None or not row["secret"] or not verify(row["secret"], body, request.headers.get("X-NSP-Signature")):
            access.audit(conn, f"neighbour:{name}", "neighbour_push_refused", name,
                         {"reason": "unknown neighbour" if row is None else "bad signature"}, request.remote_addr)
            return jsonify({"error": "unknown neighbour or bad signature"}), 401
    try:
        doc = json.loads(body)
    except ValueError as exc:
        return jsonify({"error": f"not JSON: {exc}"}), 400
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return jsonify({"error": "not a GeoJSON FeatureCollection"}), 400
    origin = f"push {request.headers.get('X-NSP-Delivery', '')} from {request.remote_addr}"
    with db.connect() as conn, conn.transaction():
        done = neighbours.load(conn, name, doc["features"], origin=origin, actor=f"neighbour:{name}")
    return jsonify(done), 200
