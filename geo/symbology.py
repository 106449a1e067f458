"""How a section's impact level is drawn, shared by the dashboard (dashboard/components/mapview.py,
dashboard/assets/nsp_map.js) and the weekly snapshot's map (geo/snapshot/mapview.py).

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
