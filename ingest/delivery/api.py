"""``POST /api/ingest``: a feed file over HTTP, authenticated by a per-source bearer token.

    curl -H "Authorization: Bearer $TOKEN" --data-binary @report.geojson \
         "http://127.0.0.1:8050/api/ingest?format=geojson&name=report.geojson"

The body is any supported format (sniffed, or ``?format=``); the answer is the same
summary JSON as ``nsp ingest --json``. 401 for a missing, wrong or revoked token; 413
for a body over ``NSP_API_MAX_BODY_BYTES``; 422 when the body cannot be read at all, or
when the database refuses a value it carries (sending it again cannot succeed); 400 for
an unknown ``?format=``; 503 when the batch could not be stored because the database
failed (unreachable: send it again). A bad record never fails the body: it is quarantined
and counted in the 200 answer.
Machine clients authenticate with the token, not a
session cookie, so this route is exempt from CSRF protection.

The dashboard registers it: ``server.register_blueprint(blueprint)``.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import UTC, datetime

from flask import Blueprint, jsonify, request

from ingest.delivery.settings import ApiSettings
from ingest.delivery.sources import authenticate
from ingest.delivery.tasks import summary_dict
from ingest.formats.base import IngestError, UnknownFormat, UnreadableFile
from nsp import db

log = logging.getLogger("nsp.ingest.api")

blueprint = Blueprint("ingest_api", __name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 64 * 1024


class _TooLarge(Exception):
    pass


def _error(status: int, message: str, **extra):
    resp = jsonify({"error": message, **extra})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="nsp ingest"'
    return resp


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _spool(limit: int, spool_bytes: int) -> tempfile.SpooledTemporaryFile:
    """Copy the body to a spooled temp file, refusing more than ``limit`` bytes."""
    body = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
    size = 0
    stream = request.stream
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            body.close()
            raise _TooLarge
        body.write(chunk)
    body.seek(0)
    return body


@blueprint.post("/api/ingest")
def ingest():
    from ingest.loading.pipeline import ingest_stream

    settings = ApiSettings()
    token = _bearer()
    if token is None:
        return _error(401, "missing bearer token (Authorization: Bearer <token>)")
    with db.pool().connection() as conn:
        source = authenticate(conn, token)
    if source is None:
        return _error(401, "unknown or revoked token")

    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _error(413, f"body of {request.content_length} bytes is over the limit of {limit}")
    try:
        body = _spool(limit, settings.spool_bytes)
    except _TooLarge:
        return _error(413, f"body is over the limit of {limit} bytes")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = _SAFE_NAME.sub("_", request.args.get("name", ""))[:100] or f"http-{stamp}"
    fmt = request.args.get("format") or None
    try:
        with body:
            summary = ingest_stream(body, name=name, source=source, fmt=fmt,
                                    submitted_by=f"source:{source}")
    except IngestError as exc:  # unreadable or refused content (422), unknown ?format= (400), not stored (503)
        if isinstance(exc, UnreadableFile):
            status = 400 if fmt and isinstance(exc, UnknownFormat) else 422
        else:
            status = 422 if getattr(exc, "content", False) else 503
        summary = getattr(exc, "summary", None)
        if summary is None:
            return _error(status, str(exc), source=source)
        return jsonify(summary_dict(summary)), status
    result = summary_dict(summary)
    log.info("http ingest", extra={"action": "http_ingest", "source": source, "file": name,
                                   **{k: result.get(k) for k in ("accepted", "duplicates", "quarantined", "skipped")}})
    return jsonify(result), (422 if result.get("status") == "failed" else 200)
