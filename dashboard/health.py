"""``GET /healthz``: for load balancers, container health checks and monitoring.

Open without login, so it says nothing operational: whether the database answers with the
schema this code expects, and whether the feeds still deliver (the wall's DATA STALE rule,
``NSP_WEB_STALE_MINUTES``). No counts, no times, no hosts.

- 200 ``{"status": "ok", ...}``: the database answers, no migration is pending, a feed
  delivered within the stale limit;
- 200 ``{"status": "degraded", ...}``: the same, but no feed has delivered for longer
  (``"deliveries": "stale"``) or ever (``"none"``); the picture is served but old;
- 503 ``{"status": "down", ...}``: the database does not answer within
  ``CONNECT_TIMEOUT_S`` seconds, or migrations are pending (run ``nsp db migrate``).
"""

from __future__ import annotations

import logging

import psycopg
from flask import Blueprint, jsonify

from dashboard.settings import web_settings
from nsp import db
from nsp.queries import queries

CONNECT_TIMEOUT_S = 3
blueprint = Blueprint("nsp_health", __name__)
log = logging.getLogger(__name__)


def check() -> tuple[dict, int]:
    """The health document and its HTTP status."""
    from geo.picture import is_stale

    try:
        with db.connect(db.database_url(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            done = db.applied_migrations(conn)
            last = conn.execute(queries["picture_last_delivery"]).fetchone()["last_delivery"]
    except (psycopg.Error, db.DatabaseError) as exc:
        log.warning("health check: database unreachable: %s", db.first_line(exc))
        return {"status": "down", "database": "unreachable"}, 503
    pending = sum(1 for m in db.migrations() if m.name not in done)
    if pending:
        return {"status": "down", "database": "ok", "migrations_pending": pending}, 503
    deliveries = "none" if last is None else "stale" if is_stale(last, web_settings().stale_minutes) else "fresh"
    status = "ok" if deliveries == "fresh" else "degraded"
    return {"status": status, "database": "ok", "migrations_pending": 0, "deliveries": deliveries}, 200


@blueprint.route("/healthz")
def healthz():
    body, code = check()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, code
