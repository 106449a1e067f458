"""The weekly summary's table of border crossings found in the tracks, per section
(sql/queries/crossings_summary.sql; the events themselves are in events.csv and picture.gpkg
like every event)."""

from __future__ import annotations

from nsp.queries import queries

COUNTS = ("n", "uav", "aircraft", "vessel", "inbound", "outbound", "suspect_uav")


def collect(conn, params: dict) -> dict:
    """``{"rows": [per section], "total": {...}}``; rows empty in a week without crossings."""
    rows = conn.execute(queries["summary_crossings"], params).fetchall()
    total = {k: sum(r[k] for r in rows) for k in COUNTS}
    return {"rows": rows, "total": total}
