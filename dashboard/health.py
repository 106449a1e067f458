"""``GET /healthz``: for load balancers, container health checks and monitoring.

Open without login, so it says nothing operational: whether the database answers with the
schema this code expects, and whether the feeds still deliver (the wall's DATA STALE rule,
``NSP_WEB_STALE_MINUTES``). No counts, no times, no hosts.

- 200 ``{"status": "ok", ...}``: the database answers, no migration is pending, a feed
  delivered within the stale limit and no expected feed is late;
- 200 ``{"status": "degraded", ...}``: the same, but no feed has delivered for longer
  (``"deliveries": "stale"``) or ever (``"none"``), or a queued job (a dropped file, an
  export) has waited more than ``QUEUE_BEHIND_MINUTES`` (``"queue": "behind"``: no worker
  runs, or they cannot keep up), or a feed with an expected interval (``nsp feeds expect``)
  has not delivered within it (``"feeds": "late"``; which one is not said here: ``nsp feeds
  list``), or a webhook alert was given up in the last 24 hours or has waited more than
  10 minutes (``"alerts": "failing"``: ``nsp alerts log``), or no ``nsp worker`` has sent a
  heartbeat within ``NSP_QUEUE_STALLED_SECONDS`` (``"workers": "none"``: none runs, or they are
  still waiting for the database after an outage), or a read replica (``NSP_DB_READ_URL``) is
  past ``NSP_DB_READ_MAX_LAG_SECONDS`` behind or does not answer (``"replica": "behind"``; its
  reads are on the primary meanwhile; ``"none"``: no replica configured); the picture is served
  but old;
- 503 ``{"status": "down", ...}``: the database does not answer within
  ``CONNECT_TIMEOUT_S`` seconds, or migrations are pending (run ``nsp db migrate``).
"""

from __future__ import annotations

import logging

import psycopg
from flask import Blueprint, jsonify

from dashboard.settings import web_settings
from geo.picture import is_stale
from nsp import db, replica
from nsp.queries import queries
from nsp.queue import queue_settings

CONNECT_TIMEOUT_S = 3
QUEUE_BEHIND_MINUTES = 10
# The oldest job that is due and still waits (procrastinate records when each was deferred).
OLDEST_WAITING = """
SELECT min(ev.at) AS since
  FROM procrastinate_jobs j
  JOIN procrastinate_events ev ON ev.job_id = j.id AND ev.type = 'deferred'
 WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
"""
# Workers whose heartbeat is fresh (procrastinate_workers; a worker waiting for the database
# after an outage, or none started, has none).
LIVE_WORKERS = """
SELECT count(*) AS n FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)
"""
blueprint = Blueprint("nsp_health", __name__)
log = logging.getLogger(__name__)


def check() -> tuple[dict, int]:
    """The health document and its HTTP status."""
    try:
        with db.connect(db.database_url(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            done = db.applied_migrations(conn)
            pending = sum(1 for m in db.migrations() if m.name not in done)
            if pending:
                return {"status": "down", "database": "ok", "migrations_pending": pending}, 503
            last = conn.execute(queries["picture_last_delivery"]).fetchone()["last_delivery"]
            waiting = conn.execute(OLDEST_WAITING).fetchone()["since"]
            late = conn.execute(queries["picture_feeds_late"]).fetchall()
            alert_trouble = conn.execute(queries["alerts_trouble"]).fetchone()
            live = conn.execute(LIVE_WORKERS, (queue_settings().stalled_seconds,)).fetchone()["n"]
    except (psycopg.Error, db.DatabaseError) as exc:
        log.warning("health check: database unreachable: %s", db.first_line(exc))
        return {"status": "down", "database": "unreachable"}, 503
    deliveries = "none" if last is None else "stale" if is_stale(last, web_settings().stale_minutes) else "fresh"
    queue = "behind" if waiting is not None and is_stale(waiting, QUEUE_BEHIND_MINUTES) else "ok"
    feeds = "late" if late else "ok"
    alerts = "failing" if alert_trouble["failed"] or alert_trouble["late"] else "ok"
    workers = "ok" if live else "none"
    rep = replica.state().status
    status = "ok" if ((deliveries, feeds, queue, alerts, workers) == ("fresh", "ok", "ok", "ok", "ok")
                      and rep != "behind") else "degraded"
    return {"status": status, "database": "ok", "migrations_pending": 0, "deliveries": deliveries,
            "feeds": feeds, "queue": queue, "alerts": alerts, "workers": workers, "replica": rep}, 200


@blueprint.route("/healthz")
def healthz():
    body, code = check()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, code
