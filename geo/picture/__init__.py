"""Data access for the situational picture: what the map, the panels and the wall draw.

Every read runs through :func:`nsp.access.read_connection` (a read replica when one is set, else the primary; the writes in `decisions` use :func:`nsp.access.connection`) under the caller's
:class:`~nsp.access.Scope`, so row-level security applies to each query. The SQL is in
``sql/queries/picture.sql``. Results are plain dicts and GeoJSON FeatureCollections that
Dash can send as they are.

The payload is bounded: an events query returns points only when at most
``max_features`` events match (and they fit in ``max_payload_bytes``); otherwise it returns
counts per grid cell, aggregated in PostGIS, with a cell size derived from the map zoom so
that the number of cells stays bounded whatever the number of events.

This package is the picture's API (``from geo import picture``; ``picture.events_layer(...)``);
its modules hold it by concern: ``common`` (the filter, the clock, running a query under a
scope), ``grid`` (counts per grid cell), ``layers`` (the map's layers), ``panels`` (event list,
chart, section table), ``feeds`` (feed health, alerts) and ``decisions`` (impact levels and
decisions on events, the picture's writes).
"""

from geo.picture.common import WINDOWS, PictureError, PictureFilter, now_utc, window_bounds
from geo.picture.decisions import (
    EVENT_ACTIONS,
    LEVEL_CHANGERS,
    EventDecisionRefused,
    LevelChangeRefused,
    can_change_levels,
    change_level,
    decide_event,
    event_decisions,
    level_history,
)
from geo.picture.feeds import (
    LAST_HOUR,
    REPORT_LIMIT,
    alert_health,
    delivery_state,
    feeds,
    high_alerts,
    is_stale,
    last_delivery,
    last_hour,
    neighbour_pulls,
    recent_high,
    sources,
)
from geo.picture.grid import CELLS_LEVEL, cell_size, grid_level
from geo.picture.layers import (
    VIEW_MARGIN_M,
    confidence_code,
    events_layer,
    heat_layer,
    operational_layer,
    payload_size,
    sections_layer,
    union_bounds,
)
from geo.picture.panels import by_severity, event_rows, export_events, section_list, section_table, timeseries

__all__ = [
    "CELLS_LEVEL",
    "EVENT_ACTIONS",
    "EventDecisionRefused",
    "LAST_HOUR",
    "LEVEL_CHANGERS",
    "LevelChangeRefused",
    "PictureError",
    "PictureFilter",
    "REPORT_LIMIT",
    "VIEW_MARGIN_M",
    "WINDOWS",
    "alert_health",
    "neighbour_pulls",
    "by_severity",
    "can_change_levels",
    "cell_size",
    "change_level",
    "confidence_code",
    "decide_event",
    "delivery_state",
    "event_decisions",
    "event_rows",
    "events_layer",
    "export_events",
    "feeds",
    "grid_level",
    "heat_layer",
    "high_alerts",
    "is_stale",
    "last_delivery",
    "last_hour",
    "level_history",
    "now_utc",
    "operational_layer",
    "payload_size",
    "recent_high",
    "section_list",
    "section_table",
    "sections_layer",
    "sources",
    "timeseries",
    "union_bounds",
    "window_bounds",
]
