"""One event in full: what the details beside the main page's event list show.

Every field of the event (the report as the feed gave it, the place, the confidence, the
Annex 2 fields of a crossing), its follow-up reports, the NCC's decisions on it and the
delivery that brought it (the feed, its reference, the file and format), read under the
caller's scope (row-level security). The SQL is in ``sql/queries/details.sql``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from psycopg import sql

from geo import picture
from nsp import access
from nsp.access import Scope
from nsp.queries import queries

TIMES = ("occurred_at", "reported_at", "received_at", "updated_at", "closed_at", "stale_at", "batch_received_at")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def event_details(scope: Scope, event_id: str | None, known_at: datetime | None = None) -> dict | None:
    """The event ``event_id`` in full, or None when there is none the scope may see. Times are
    ISO 8601 UTC strings; ``known_at``: the impact and status as decided by then (a replay
    as known then). Keys: the event's columns, ``section_name``, ``batch_file``,
    ``batch_format``, ``batch_received_at``, ``observed_by``, ``follow_ups`` (id,
    occurred_at, received_at, source, description) and ``decisions`` (newest first)."""
    try:
        uuid.UUID(str(event_id))
    except ValueError:
        return None
    query = sql.SQL(queries["details_event"]).format(observed_by=sql.SQL(queries["picture_observed_by"]))
    params = {"id": event_id, "known_at": known_at}
    with access.connection(scope) as conn:
        row = conn.execute(query, params, prepare=False).fetchone()
        if row is None:
            return None
        follow_ups = conn.execute(queries["details_follow_ups"], params).fetchall()
    for key in TIMES:
        row[key] = _iso(row[key])
    for f in follow_ups:
        f["occurred_at"], f["received_at"] = _iso(f["occurred_at"]), _iso(f["received_at"])
    row["confidence"] = picture.confidence_code(row["source_reliability"], row["credibility"])
    row["lon"], row["lat"] = round(row["lon"], 5), round(row["lat"], 5)
    row["follow_ups"] = follow_ups
    decisions = picture.event_decisions(scope, event_id)
    row["decisions"] = [d for d in decisions if known_at is None or d["decided_at"] <= _iso(known_at)]
    return row
