"""The cells of ``event.cell`` that a viewport touches (sql/migrations/0170_event_view_cells.sql).

A cell is 360/8192 degrees of longitude by 360/16384 of latitude (level :data:`LEVEL` of the
map's grid). The map asks for the events of a box as those of the cells it touches, each one
range of the (cell, occurred_at) index; the cells wholly inside the box need no further test,
those on its edge the exact ``geom && box``.
"""

from __future__ import annotations

import math

LEVEL = 13
KX = 2.0**LEVEL  # cells per 360 degrees of longitude
KY = 2.0 ** (LEVEL + 1)  # and of latitude
OFFSET = 4096  # cx and cy are stored plus this, so that both are >= 0
SPAN = 16384  # cell = (cx + OFFSET) * SPAN + (cy + OFFSET)
# A box wider than this many cells (zoom 9 on a very wide screen) is read as before, by time:
# thousands of index ranges cost more than they save.
MAX_CELLS = 4096
# Margin around the box when listing its cells: the exact test compares the float4 boxes that
# PostGIS keeps (rounded outwards, about 2e-6 degrees here), so a point a hair outside the box
# may pass it; its cell must be listed.
MARGIN = 1e-4


def encode(cx: int, cy: int) -> int:
    return (cx + OFFSET) * SPAN + (cy + OFFSET)


def cell_of(lon: float, lat: float) -> int:
    """The cell of a point, as the database computes ``event.cell``."""
    return encode(math.floor(lon * KX / 360), math.floor(lat * KY / 360))


def view_cells(bbox) -> tuple[list[int] | None, list[int] | None]:
    """(every cell the box ``(west, south, east, north)`` touches, the cells wholly inside it),
    or (None, None) when there is no box or it holds more than :data:`MAX_CELLS` cells."""
    if bbox is None:
        return None, None
    west, south, east, north = bbox
    x0, x1 = math.floor((west - MARGIN) * KX / 360), math.floor((east + MARGIN) * KX / 360)
    y0, y1 = math.floor((south - MARGIN) * KY / 360), math.floor((north + MARGIN) * KY / 360)
    if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_CELLS:
        return None, None
    inside_x = {x for x in range(x0, x1 + 1) if x * 360 / KX >= west and (x + 1) * 360 / KX <= east}
    inside_y = {y for y in range(y0, y1 + 1) if y * 360 / KY >= south and (y + 1) * 360 / KY <= north}
    cells, inner = [], []
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            c = encode(x, y)
            cells.append(c)
            if x in inside_x and y in inside_y:
                inner.append(c)
    return cells, inner
