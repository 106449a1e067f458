"""Counting events per grid cell: the cell size of a zoom, and the split of a window between
the precomputed cells (whole UTC days) and the events themselves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from geo.picture import viewcells
from geo.picture.common import PictureError, PictureFilter, point_feature, run
from nsp.vocab import IMPACTS


def cell_size(zoom: float, cell_pixels: int, lat: float = 57.0) -> tuple[float, float]:
    """Grid cell in degrees (lon, lat) that is about ``cell_pixels`` wide on a Web Mercator map."""
    zoom = max(0.0, min(float(zoom), 18.0))
    cell_x = 360.0 / (256.0 * 2**zoom) * cell_pixels
    return cell_x, cell_x * math.cos(math.radians(lat))


def grid_features(rows: list[dict]) -> dict[str, list[dict]]:
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(
            point_feature(r["lon"], r["lat"], {
                "agg": True,
                "cat": r["category"],
                "n": r["n"],
                "p": int(r["persons"]),
                "imp": IMPACTS[(r["max_impact"] or 1) - 1],
            })
        )
    return by_cat


# The finest grid of the pre-aggregate event_cell_day (sql/migrations/0008_event_cells.sql).
CELLS_LEVEL = 11


def grid_level(zoom: float, cell_pixels: int) -> int:
    """The grid whose cells are about ``cell_pixels`` wide at ``zoom`` (Web Mercator).

    Level ``L`` has cells of 360 / 2**L degrees of longitude by 360 / 2**(L + 1) of latitude
    (about square at Latvia's latitude). Powers of two, so that each level's cells are
    unions of the finer levels' cells and the pre-aggregate can serve every level up to
    :data:`CELLS_LEVEL`.
    """
    zoom = max(0.0, min(float(zoom), 18.0))
    return max(1, round(zoom + 8 - math.log2(max(1, cell_pixels))))


def day_split(start: datetime, end: datetime) -> dict:
    """Whole UTC days inside [start, end) (``day_from`` to ``day_to``, exclusive) and the
    partial days at its two edges as time ranges (``edge_lo[i]`` to ``edge_hi[i]``)."""
    midnight = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), UTC)
    first = midnight if midnight == start else midnight + timedelta(days=1)
    last = datetime.combine(end.astimezone(UTC).date(), datetime.min.time(), UTC)
    if first >= last:  # no whole day: everything from the events
        return {"day_from": first.date(), "day_to": first.date(), "edge_lo": [start], "edge_hi": [end]}
    return {"day_from": first.date(), "day_to": last.date(), "edge_lo": [start, last], "edge_hi": [first, end]}


def window_split(start: datetime, end: datetime, cells: bool) -> dict:
    """:func:`day_split` when the pre-aggregate may answer (``cells``); otherwise no whole
    day, and all of [start, end) from the events."""
    if cells:
        return day_split(start, end)
    return {"day_from": start.date(), "day_to": start.date(), "edge_lo": [start], "edge_hi": [end]}


def two_window_split(f: PictureFilter) -> dict:
    """:func:`window_split` of the window and of the previous window of the same length."""
    cells = uses_cells(f)
    cur = window_split(f.start, f.end, cells)
    prev = window_split(f.start - f.length, f.start, cells)
    return cur | {"prev_day_from": prev["day_from"], "prev_day_to": prev["day_to"],
                  "edge_lo": prev["edge_lo"] + cur["edge_lo"], "edge_hi": prev["edge_hi"] + cur["edge_hi"]}


def uses_cells(f: PictureFilter, level: int = CELLS_LEVEL) -> bool:
    """Whether the pre-aggregate can answer: it has no receipt times ("as at"), no exact
    positions (viewport), no per-impact persons or positions, no finer cells, and no rejected
    reports."""
    return (f.received_by is None and f.bbox is None and f.impacts is None and not f.rejected
            and level <= CELLS_LEVEL)


def grid_rows(conn, f: PictureFilter, params: dict, zoom: float, cell_pixels: int,
               max_cells: int) -> list[dict]:
    """Grid counts with at most ``max_cells`` cells: a coarser grid rather than dropped cells,
    so the counts on the map always add up to the number of events."""
    # Enough memory to hash-aggregate a week of events instead of sorting them on disk.
    conn.execute("SET LOCAL work_mem = '64MB'")
    level = grid_level(zoom, cell_pixels)
    while level >= 1:
        p = params | {"kx": float(2**level), "ky": float(2 ** (level + 1)), "limit": max_cells + 1}
        p |= window_split(f.start, f.end, uses_cells(f, level)) | {
            "shift": max(0, CELLS_LEVEL - level),
            "cshift": viewcells.LEVEL - level if level <= viewcells.LEVEL else None}
        # no whole day for the day cells to give: every count comes from the window's events
        name = "picture_events_grid" if p["day_from"] < p["day_to"] else "picture_events_grid_window"
        rows = run(conn, name, p, True)
        if len(rows) <= max_cells:
            return rows
        level -= 1
    raise PictureError(f"cannot aggregate the events into {max_cells} cells")
