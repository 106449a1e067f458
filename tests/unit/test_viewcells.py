"""The cells a viewport asks for (geo/picture/viewcells.py): every cell a point of the box can
lie in, and as inner cells only those wholly inside the box."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from geo.picture import viewcells

STEP_X, STEP_Y = 360 / viewcells.KX, 360 / viewcells.KY


def _decode(cell: int) -> tuple[int, int]:
    return cell // viewcells.SPAN - viewcells.OFFSET, cell % viewcells.SPAN - viewcells.OFFSET


boxes = st.tuples(st.floats(-179, 178), st.floats(-89, 88), st.floats(0, 0.5), st.floats(0, 0.3)).map(
    lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))


@given(boxes, st.floats(0, 1), st.floats(0, 1))
def test_every_point_of_the_box_lies_in_a_listed_cell(box, u, v):
    cells, inner = viewcells.view_cells(box)
    if cells is None:
        return
    west, south, east, north = box
    for lon, lat in ((west + u * (east - west), south + v * (north - south)), (west, south), (east, north)):
        assert viewcells.cell_of(lon, lat) in cells
    assert set(inner) <= set(cells) and len(set(cells)) == len(cells)


@given(boxes)
def test_inner_cells_lie_wholly_inside_the_box(box):
    cells, inner = viewcells.view_cells(box)
    if cells is None:
        return
    west, south, east, north = box
    for cell in inner:
        cx, cy = _decode(cell)
        assert west <= cx * STEP_X and (cx + 1) * STEP_X <= east
        assert south <= cy * STEP_Y and (cy + 1) * STEP_Y <= north
    # and every cell wholly inside is one of them (the others take the exact test, slower)
    outside = set(cells) - set(inner)
    for cell in outside:
        cx, cy = _decode(cell)
        assert not (west <= cx * STEP_X and (cx + 1) * STEP_X <= east
                    and south <= cy * STEP_Y and (cy + 1) * STEP_Y <= north)


def test_the_encoding_keeps_coarser_cells_a_shift_away():
    # cx >> k is the cell of level 13 - k: what picture_events_grid reads from event.cell
    for lon, lat in ((26.7, 55.9), (-3.2, -40.1), (179.9, 89.9), (-180, -90)):
        cx, cy = _decode(viewcells.cell_of(lon, lat))
        for k in range(0, 8):
            assert cx >> k == math.floor(lon * 2 ** (13 - k) / 360)
            assert cy >> k == math.floor(lat * 2 ** (14 - k) / 360)


def test_no_box_or_too_wide_a_box_is_read_without_cells():
    assert viewcells.view_cells(None) == (None, None)
    assert viewcells.view_cells((20.0, 54.0, 30.0, 58.0)) == (None, None)  # 228 x 182 cells
    cells, inner = viewcells.view_cells((26.5, 55.6, 27.6, 56.1))  # the benchmark's zoom 10 view
    assert 500 < len(cells) <= viewcells.MAX_CELLS and 0 < len(inner) < len(cells)
