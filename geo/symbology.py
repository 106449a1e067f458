"""How an event's category and a section's impact level are drawn, shared by the dashboard
(dashboard/components/mapview.py, dashboard/assets/nsp_map.js) and the weekly snapshot's map
(geo/snapshot/mapview.py).

The level reads without colour too, for colour-blind readers (expectations: "shape or pattern,
not colour alone"): the line is wider the higher the level, and the section's label carries
one bar more per level.
"""

from __future__ import annotations

from nsp.vocab import CATEGORIES, LEVELS

# nsp.vocab.LEVELS, lowest first.
LEVEL_COLOURS = dict(zip(LEVELS, ("#2e9e44", "#f2c80f", "#f07f09", "#d7191c"), strict=True))
LEVEL_WEIGHTS = dict(zip(LEVELS, (3, 5, 7, 9), strict=True))
LEVEL_BARS = {level: "▂▄▆█"[:i + 1] for i, level in enumerate(LEVELS)}
# A section without a level (an internal border).
NO_LEVEL_COLOUR = "#6b7280"

# An event's category: a colour and a shape (the shape alone tells them apart). The colours are
# Paul Tol's "bright" scheme, colour-blind safe and clear of the level colours above (an orange
# marker on a section of high level was hard to see in the snapshot's earlier Okabe-Ito set).
CATEGORY_STYLE = dict(zip(CATEGORIES, (("#4477AA", "triangle"), ("#AA3377", "square"), ("#66CCEE", "diamond"),
                                        ("#BBBBBB", "circle")), strict=True))

# Own units (patrols, vehicles, boats, aircraft) are drawn in a shape family of their own, apart
# from every event shape above: the friendly frame of APP-6 / MIL-STD-2525 (a rectangle of 3:2,
# "friend" light blue), with the infantry cross inside. Width and height in pixels at scale 1; a
# silent unit (no report for a while) is drawn in the silent fill.
OWN_UNIT_STYLE = {"shape": "friendly-frame", "fill": "#80E0FF", "stroke": "#0b3c5d", "strokeWidth": 1.5,
                  "width": 21, "height": 14, "silentFill": "#c5ccd4"}
EVENT_SHAPES = frozenset(shape for _colour, shape in CATEGORY_STYLE.values())

# The air layer (geo/air.py, dashboard/assets/nsp_air.js): aircraft and UAVs in shape families
# apart from the events' and the own units'. An aircraft is an arrowhead pointing along its
# track; a UAV the quadcopter outline (four rotors round a cross), never turned, so that it
# reads as a drone at any heading; a UAV's operator a small ring tied to it by a dashed line.
# Each carries a label: call sign (or UAS id) and altitude (geo.air.altitude_label).
AIR_STYLE = {
    "aircraft": {"shape": "arrowhead", "fill": "#1f2933", "stroke": "#ffffff", "size": 18, "trail": "#1f2933"},
    "uav": {"shape": "quadcopter", "fill": "#d4006a", "stroke": "#ffffff", "size": 20, "trail": "#d4006a"},
    "operator": {"shape": "ring", "fill": "#ffffff", "stroke": "#d4006a", "size": 10, "link": "#d4006a"},
}
AIR_SHAPES = frozenset(style["shape"] for style in AIR_STYLE.values())


def for_browser() -> dict:
    """The symbols the browser's scripts draw with (served in /vocab.js, dashboard/app.py)."""
    return {"categoryStyle": CATEGORY_STYLE, "levelColours": LEVEL_COLOURS, "levelWeights": LEVEL_WEIGHTS,
            "levelBars": LEVEL_BARS, "ownUnit": OWN_UNIT_STYLE, "air": AIR_STYLE}
