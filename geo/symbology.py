"""How an event's category and a section's impact level are drawn, shared by the dashboard
(dashboard/components/mapview.py, dashboard/assets/nsp_map.js) and the weekly snapshot's map
(geo/snapshot/mapview.py).

The level reads without colour too, for colour-blind readers (expectations: "shape or pattern,
not colour alone"): the line is wider the higher the level, and the section's label carries
one bar more per level.
"""

from __future__ import annotations

LEVELS = ("low", "medium", "high", "critical")
LEVEL_COLOURS = {"low": "#2e9e44", "medium": "#f2c80f", "high": "#f07f09", "critical": "#d7191c"}
LEVEL_WEIGHTS = {"low": 3, "medium": 5, "high": 7, "critical": 9}
LEVEL_BARS = {"low": "▂", "medium": "▂▄", "high": "▂▄▆", "critical": "▂▄▆█"}
# A section without a level (an internal border).
NO_LEVEL_COLOUR = "#6b7280"

# An event's category: a colour and a shape (the shape alone tells them apart). The colours are
# Paul Tol's "bright" scheme, colour-blind safe and clear of the level colours above (an orange
# marker on a section of high level was hard to see in the snapshot's earlier Okabe-Ito set).
CATEGORY_STYLE = {
    "unauthorised_border_crossing": ("#4477AA", "triangle"),
    "cross_border_crime": ("#AA3377", "square"),
    "crisis_situation": ("#66CCEE", "diamond"),
    "other": ("#BBBBBB", "circle"),
}
