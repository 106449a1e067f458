"""The panels beside the map: the event list (and its CSV / GeoJSON export), events over
time, and the per-section table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from psycopg.rows import tuple_row

from geo.picture.common import PictureFilter, composed, iso, run
from geo.picture.grid import two_window_split, uses_cells, window_split
from geo.picture.layers import confidence_code
from nsp import access
from nsp.access import Scope
from nsp.vocab import LEVELS


def event_rows(scope: Scope, f: PictureFilter, limit: int = 1000) -> list[dict]:
    """Rows of the event list, newest first, times as ISO strings."""
    f = f.scoped(scope)
    with access.read_connection(scope) as conn:
        rows = run(conn, "picture_event_list", f.params() | {"limit": limit}, True)
    for r in rows:
        r["occurred_at"] = iso(r["occurred_at"])
        r["received_at"] = iso(r["received_at"])
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
    query = composed("picture_event_export")
    with access.read_connection(scope) as conn, conn.cursor(name="nsp_event_export", row_factory=tuple_row) as cur:
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
    with access.read_connection(scope) as conn:
        if bucket == "day":
            days = window_split(f.start, f.end, uses_cells(f))
            rows = run(conn, "picture_timeseries_days", f.params() | days, True)
        else:
            rows = run(conn, "picture_timeseries", f.params() | {"bucket": bucket}, True)
    return bucket, rows


def section_list(scope: Scope) -> list[dict]:
    """Code, name, kind and current level of every section the scope sees."""
    with access.read_connection(scope) as conn:
        return run(conn, "picture_section_list", {})


def section_table(scope: Scope, f: PictureFilter) -> list[dict]:
    """Per section: level, events and persons in the window, change vs the previous window."""
    f = f.scoped(scope)
    with access.read_connection(scope) as conn:
        rows = run(conn, "picture_section_stats", f.params() | two_window_split(f), True)
    for r in rows:
        r["change"] = r["events"] - r["events_prev"]
        r["last_event"] = iso(r["last_event"])
    return rows


def by_severity(rows: list[dict]) -> list[dict]:
    """Section rows most severe level first, then the most events, then by code; internal
    borders (no level) last. The order of the main page's table and the wall's list: what
    needs attention is on top, and what a short panel cuts off at the bottom matters least."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    return sorted(rows, key=lambda r: (r["kind"] == "land-internal", -rank.get(r["impact_level"], -1),
                                       -r["events"], r["code"]))
