"""The map: events (points or grid counts), density, patrols, own units, vessels and the
section lines and areas; the fly-to of chosen sections and of a clicked event.
"""

from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, callback, clientside_callback, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard.components import airlayer, mapview, unchanged
from dashboard.i18n import current, t
from dashboard.pages.main.shared import EVENT_OUTPUTS, P, filter_or_none, picture_at
from dashboard.scope import current_scope
from dashboard.settings import national_bounds, web_settings
from geo import picture
from nsp.vocab import CATEGORIES

# From this zoom the map's queries are limited to the visible area (the bounds).
VIEWPORT_ZOOM = 9


def pan_changes_nothing(triggered, zoom) -> bool:
    """Whether a map callback fired only because the map was panned below VIEWPORT_ZOOM,
    where the queries do not depend on the bounds (so there is nothing to fetch)."""
    return set(triggered or ()) == {"main-map.bounds"} and (zoom or 0) < VIEWPORT_ZOOM


def _map_filter(state: dict, zoom, bounds):
    f = filter_or_none(state)
    if f is not None and bounds and (zoom or 0) >= VIEWPORT_ZOOM:
        (south, west), (north, east) = bounds
        f = replace(f, bbox=(west, south, east, north))
    return f


def update_map(state: dict, _n, zoom, bounds) -> tuple:
    """The main map update: events (points, or grid counts when many) and the density layer."""
    s = web_settings()
    lang = current()
    zoom = zoom or s.zoom
    f = _map_filter(state, zoom, bounds)
    if f is None:
        return (*[mapview.EMPTY] * len(CATEGORIES), mapview.EMPTY, t("invalid time window", lang))
    scope = current_scope()
    ev = picture.events_layer(scope, f, zoom=zoom, max_features=s.max_features,
                              max_bytes=s.max_payload_bytes, cell_pixels=s.cell_pixels)
    heat = picture.heat_layer(scope, f, zoom=zoom) if state.get("heat") else mapview.EMPTY
    note = t("{n} events", lang, n=f"{s.max_features:,}+" if ev["capped"] else f"{ev['total']:,}")
    if ev["mode"] == "grid":
        note += t(" · grouped by area (zoom in or narrow the filter for single events)", lang)
    if f.rejected:  # the reverse view: say so, since these are not events of the picture
        note += t(" · only reports rejected on validation", lang)
    elif ev["rejected"]:  # left out of the picture, but never silently
        note += t(" · not shown, rejected on validation: {n}", lang, n=f"{ev['rejected']:,}")
    foreign = [] if scope.all_sections else [c for c in f.sections or () if c not in scope.sections]
    if foreign:  # e.g. a link made by someone with a wider scope: say why they are empty
        note += t(" · not in your sections, not shown: {codes}", lang, codes=", ".join(foreign))
    return (*[ev["layers"][c] for c in CATEGORIES], heat, note)


def update_operational(state: dict, _n, zoom, bounds) -> tuple:
    """The operational layer: patrol tracks, own assets, vessels (a parallel request)."""
    s = web_settings()
    zoom = zoom or s.zoom
    f = _map_filter(state, zoom, bounds)
    if f is None:
        return mapview.EMPTY, mapview.EMPTY, mapview.EMPTY
    ops = picture.operational_layer(current_scope(), f, zoom=zoom, max_tracks=s.max_tracks,
                                    trail_minutes=s.vessel_trail_minutes,
                                    asset_max_age_hours=s.asset_max_age_hours)
    return ops["patrols"], ops["assets"], ops["vessels"]


def update_sections(state: dict, _n, _version, known_bounds) -> tuple:
    """Section lines and areas (levels as at ``at``), their hideout and the bounds store."""
    at = picture_at(state)
    layer = picture.sections_layer(current_scope(), level_at=at)
    hide = {"selected": list((state or {}).get("sections") or []), "dark": False, "labels": True}
    bounds = layer["bounds"] if layer["bounds"] != known_bounds else no_update
    return layer["lines"], layer["areas"], hide, hide, bounds


# What `main-zoomed` holds when the map shows all of a restricted user's sections.
OWN_AREA = "*"


def zoom_to_sections(state: dict, bounds: dict | None, zoomed: list | None) -> tuple:
    """Fly to the chosen sections when the choice changes (not on every refresh); with none
    chosen, a user limited to some sections (a sector commander) flies to all of them,
    which ``bounds`` (the sections the user may see) holds, and others to the country."""
    chosen = list((state or {}).get("sections") or [])
    own_area = not chosen and not current_scope().all_sections
    if own_area:
        chosen = [OWN_AREA]
    if not bounds or chosen == (zoomed or []):
        return no_update, no_update
    box = picture.union_bounds(bounds, list(bounds) if own_area else chosen)
    if box is None:
        return {"bounds": national_bounds(), "transition": "flyToBounds"}, chosen
    # nspClearLegend: the fit keeps the sections clear of the legend box (nsp_map.js clearOfLegend)
    return {"bounds": box, "transition": "flyToBounds", "options": {"padding": [30, 30], "nspClearLegend": True}}, chosen


def fly_to_event(cell, rows) -> dict:
    """A click in the event list flies the map to that event."""
    if not cell or not rows:
        return no_update
    row = next((r for r in rows if r.get("id") == cell.get("rowId")), None)
    if row is None:
        return no_update
    return {"center": [row["lat"], row["lon"]], "zoom": 12, "transition": "flyTo"}


def _on_view(update):
    """A map callback that also fires on a pan (the bounds), unless the pan changes nothing."""
    def run(state, n, zoom, bounds, *rest):
        if pan_changes_nothing(ctx.triggered_prop_ids, zoom):
            raise PreventUpdate
        return update(state, n, zoom, bounds, *rest)
    return run


# The map's refreshing parts, which the page brings in its layout (view.py, unchanged.first_paint).
EVENTS = unchanged.Part(
    (*[Output(i, "data") for i in EVENT_OUTPUTS], Output("main-density", "data"), Output("main-map-note", "children")),
    "main-event-digests", lambda state: update_map(state, 0, None, None))
OPERATIONAL = unchanged.Part(
    (Output("main-patrols", "data"), Output("main-assets", "data"), Output("main-vessels", "data")),
    "main-ops-digests", lambda state: update_operational(state, 0, None, None))
SECTIONS = unchanged.Part(
    (Output("main-section-lines", "data"), Output("main-section-areas", "data"),
     Output("main-section-lines", "hideout"), Output("main-section-areas", "hideout"),
     Output("main-section-bounds", "data")),
    "main-section-digests", lambda state: update_sections(state, 0, 0, None))


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    # Each layer sent only when it changed (dashboard/components/unchanged.py): Leaflet rebuilds
    # a layer given the same data, every marker and line replaced at every refresh. The first
    # picture comes with the page's layout, so none of them is called as the page opens.
    unchanged.callback(
        list(EVENTS.outputs),
        Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-map", "zoom"),
        Input("main-map", "bounds"), digests=EVENTS.digests, prevent_initial_call=True,
    )(_on_view(update_map))

    airlayer.register("main")  # aircraft and UAVs (dashboard/components/airlayer.py)

    unchanged.callback(
        list(OPERATIONAL.outputs),
        Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-map", "zoom"),
        Input("main-map", "bounds"), digests=OPERATIONAL.digests, prevent_initial_call=True,
    )(_on_view(update_operational))

    unchanged.callback(  # the hideouts too: a new one rebuilds the layer
        list(SECTIONS.outputs),
        Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-levels-version", "data"),
        State("main-section-bounds", "data"), digests=SECTIONS.digests, prevent_initial_call=True,
    )(update_sections)

    callback(
        Output("main-map", "viewport"), Output("main-zoomed", "data"),
        Input("main-state", "data"), Input("main-section-bounds", "data"), State("main-zoomed", "data"),
    )(zoom_to_sections)

    callback(
        Output("main-map", "viewport", allow_duplicate=True),
        Input("main-events", "cellClicked"), State("main-events", "rowData"), prevent_initial_call=True,
    )(fly_to_event)

    clientside_callback(mapview.LAYER_SWITCH_JS, Output("main-map-wrap", "className"), Input(f"{P}-layers", "value"))
