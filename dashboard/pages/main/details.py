"""The main page's event details (dashboard/components/event_list.py): a click on a row of
the event list opens the event beside the list, in words, with a small map centred on it;
the main map flies to it and rings it too.

The chosen event is ``main-event-chosen-id`` (also what the decision form is about). The
details follow the page's replay: as known then, the impact, status and decisions as they
were at the "as at" time.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from dashboard.components import mapview
from dashboard.components.event_details import details_view
from dashboard.i18n import current
from dashboard.scope import current_scope
from dashboard.state import parse_time
from geo import picture
from geo.event_details import event_details

DETAIL_ZOOM = 11


def show_details(event_id: str | None, state: dict | None, _decisions=None) -> tuple:
    """(the details, the ring's data on both maps, the small map's view) of the chosen event."""
    lang = current()
    now = picture.now_utc()
    if not event_id:
        return details_view(None, lang, now), mapview.EMPTY, mapview.EMPTY, no_update
    state = state or {}
    at = parse_time(state.get("at"))
    known_at = at if at is not None and state.get("replay", "known") == "known" else None
    d = event_details(current_scope(), event_id, known_at=known_at)
    if d is None:
        return details_view(None, lang, now), mapview.EMPTY, mapview.EMPTY, no_update
    ring = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [d["lon"], d["lat"]]},
        "properties": {"id": d["id"]}}]}
    view = {"center": [d["lat"], d["lon"]], "zoom": DETAIL_ZOOM}
    return details_view(d, lang, now), ring, ring, view


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    # registered when the page (view.py) imports this module
    callback(
        Output("main-event-details", "children"), Output("main-highlight", "data"),
        Output("main-detail-point", "data"), Output("main-detail-map", "viewport"),
        Input("main-event-chosen-id", "data"), State("main-state", "data"), Input("main-decisions-version", "data"),
    )(show_details)
