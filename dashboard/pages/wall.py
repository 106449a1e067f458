"""The wall display at ``/wall``: dark, full screen, no controls, updates itself.

Every ``NSP_WEB_REFRESH_SECONDS`` the layers' data are replaced (never the map, so the view
is kept); a banner shows the high and very high events received in the last
``NSP_WEB_BANNER_MINUTES``, most severe first, then the newest (an event from before that
window, a late report, is counted, not shown as new); a DATA STALE sign covers the top of the screen when no feed has
delivered for ``NSP_WEB_STALE_MINUTES``. With ``NSP_WEB_ROTATION_SECONDS`` > 0 the view
rotates: national → each section with events in the window → national.
Query parameters: ``sections`` (limit the wall to these sections), ``window``, ``lang`` (``en``
or ``lv``; default ``NSP_WEB_WALL_LANGUAGE``, see :mod:`dashboard.i18n`).
Component ids start with ``wall-``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from dashboard.components import airlayer, mapview, status, unchanged
from dashboard.components.times import event_time
from dashboard.components.trend import change_mark
from dashboard.i18n import category_label, choose, kind_label, subtype_label, t
from dashboard.scope import current_scope
from dashboard.settings import national_bounds, web_settings
from dashboard.state import flag, parse_query, rotation_seconds, to_filter
from geo import picture
from nsp.vocab import CATEGORIES

dash.register_page(__name__, path="/wall", name="Wall display", title="nsp — wall")

P = "wall"
EVENT_OUTPUTS = [mapview.event_layer_id(P, c) for c in CATEGORIES]
# (component id, property) of what each of the three updates writes.
LAYER_OUTPUTS = [(i, "data") for i in EVENT_OUTPUTS] + [
    ("wall-patrols", "data"), ("wall-assets", "data"), ("wall-vessels", "data"), ("wall-totals", "children")]
SECTION_OUTPUTS = [("wall-section-lines", "data"), ("wall-section-areas", "data"), ("wall-info", "data"),
                   ("wall-sections", "children")]
ALERT_OUTPUTS = [("wall-banners", "children"), ("wall-status", "children"), ("wall-status", "className"),
                 ("wall-stale", "className")]
IMPACT_WORD = {"high": "HIGH", "very_high": "VERY HIGH"}


# ======================================================================= callbacks


def place_name(name: str) -> str:
    """A section's name without a trailing ``(…)``: the neighbour or the coast, which the
    code says already (``Krāslava (Belarus)`` is LV-BY-02). The panel's name column had room
    for four letters of the whole name; the whole name is the cell's tooltip."""
    short = re.sub(r"\s*\([^()]*\)\s*$", "", name or "")
    return short or (name or "")


def sections_panel(rows: list[dict], lang: str = "en") -> list:
    """The external sections, most severe first, then the busiest, then by code: when the
    panel is too short for all of them, it shows them in pages (nsp_wall.js), the first page
    the most severe; with paging off they are cut at the bottom, where they matter least."""
    rows = picture.by_severity([r for r in rows if r["kind"] != "land-internal"])
    items = []
    for r in rows:
        items.append(html.Div([
            html.Span(t(r["impact_level"], lang) if r["impact_level"] else "–",
                      className=f"nsp-level nsp-level-{r['impact_level'] or 'internal'}"),
            html.Span(r["code"], className="wall-sec-code"),
            html.Span(place_name(r["name"]), className="wall-sec-name", title=r["name"]),
            html.Span(f"{r['events']:,}", className="wall-sec-n"),
            html.Span(change_mark(r["change"], compact=True), className="wall-sec-d"),
        ], className="wall-sec"))
    return items


def _totals(layers: dict, mode: str, lang: str = "en") -> list:
    out = []
    for c in CATEGORIES:
        feats = layers[c]["features"]
        n = sum(f["properties"].get("n", 1) for f in feats)
        colour, _shape = mapview.CATEGORY_STYLE[c]
        out.append(html.Div([mapview.shape(_shape, 28, colour), html.Span(f"{n:,}", className="wall-tot-n"),
                             html.Span(category_label(c, lang), className="wall-tot-l")],
                            className="wall-tot"))
    return out


def _banner(e: dict, now, lang: str) -> html.Div:
    kind = kind_label(e["category"], e.get("subtype"), lang)
    return html.Div([
        html.Span(t(IMPACT_WORD.get(e["impact"], e["impact"]), lang), className="wall-banner-imp"),
        # the category, and under it the subtype in words (the whole as the tooltip)
        html.Span([html.Span(category_label(e["category"], lang)),
                   *([html.Span(sub, className="wall-banner-sub")] if (sub := subtype_label(e.get("subtype"), lang)) else [])],
                  className="wall-banner-cat", title=kind),
        html.Span(e["section_code"] or t("outside sections", lang), className="wall-banner-sec"),
        html.Span(t("{n} persons", lang, n=e["persons"]) if e["persons"] else "", className="wall-banner-p"),
        # the time, and under it what to know of the report: set by the NCC, late, arrived late
        html.Span([html.Span(event_time(e["occurred_at"], now), className="wall-banner-t"),
                   *[html.Span(note, className="wall-banner-note")
                     for note in (t("impact set by the NCC", lang) if e["set_by_ncc"] else "",
                                  status.late_report(e, lang)) if note]],
                  className="wall-banner-when"),
    ], className=f"wall-banner wall-banner-{e['impact']}", **{"data-event": e["id"]})


def _banners(alerts: dict, now, lang: str = "en") -> list:
    """The three most severe, then newest, high-impact events that are news (picture.high_alerts),
    how many more there are, and how many late reports came in (events from before the
    banner window, a feed's backlog: counted, never shown as new)."""
    shown = alerts["news"][:3]
    items = [_banner(e, now, lang) for e in shown]
    if alerts["news_total"] > len(shown):
        items.append(html.Div(t("+ {n} more high-impact events", lang, n=alerts["news_total"] - len(shown)),
                              className="wall-banner-more"))
    if alerts["late"]:
        items.append(html.Div(status.late_count(alerts["late"], lang),
                              className="wall-banner-more wall-banner-late"))
    return items


def _last_hour(hour: dict, lang: str = "en") -> html.Div:
    """The "last hour" strip (picture.last_hour): events per category that occurred in the
    last 60 minutes, by shape and count, and the newest three with their section and age —
    what happened just now, where the totals are the window's (24 h)."""
    counts = [html.Span([mapview.shape(mapview.CATEGORY_STYLE[c][1], 18, mapview.CATEGORY_STYLE[c][0]),
                         html.Span(f"{hour['counts'][c]:,}", className="wall-hour-n")],
                        className="wall-hour-cat", title=category_label(c, lang)) for c in CATEGORIES]
    newest = [html.Span([mapview.shape(mapview.CATEGORY_STYLE[e["category"]][1], 14, mapview.CATEGORY_STYLE[e["category"]][0]),
                         f" {e['section_code'] or t('outside sections', lang)} · "
                         f"{kind_label(e['category'], e.get('subtype'), lang)} · ",
                         html.B(t("{age} ago", lang, age=status.age_words(e["age"], lang)))],
                        className="wall-hour-ev", **{"data-event": e["id"]})
              for e in hour["newest"]]
    return html.Div([html.Span(t("Last hour", lang), className="wall-hour-title"), *counts,
                     *(newest or [html.Span(t("no events", lang), className="wall-hour-ev")])],
                    className="wall-hour", id="wall-hour")


def update_wall_layers(_n, state: dict) -> tuple:
    """Replace the layers' data (never the map, so the view is kept) and the totals (sent only
    where they changed: see the registration below)."""
    s = web_settings()
    scope = current_scope()
    f = to_filter(state)
    ev = picture.events_layer(scope, f, zoom=s.zoom, max_features=s.max_features,
                              max_bytes=s.max_payload_bytes, cell_pixels=s.cell_pixels)
    ops = picture.operational_layer(scope, f, zoom=s.zoom, max_tracks=s.max_tracks,
                                    trail_minutes=s.vessel_trail_minutes,
                                    asset_max_age_hours=s.asset_max_age_hours)
    return (*[ev["layers"][c] for c in CATEGORIES], ops["patrols"], ops["assets"], ops["vessels"],
            _totals(ev["layers"], ev["mode"], state.get("lang", "en")))


def update_wall_sections(_n, state: dict) -> tuple:
    """Section lines by level, the sections panel, and what the rotation visits."""
    scope = current_scope()
    f = to_filter(state)
    layer = picture.sections_layer(scope)
    rows = picture.section_table(scope, f)
    active = [r["code"] for r in rows if r["events"] > 0 and r["kind"] != "land-internal"]
    # "restricted": a wall of some sections only (a kiosk token with sections), whose overview
    # is those sections rather than the whole country
    lang = state.get("lang", "en")
    restricted = not scope.all_sections
    overview = (picture.union_bounds(layer["bounds"], list(layer["bounds"])) if restricted else None) or national_bounds()
    return (layer["lines"], layer["areas"],
            {"bounds": layer["bounds"], "active": active, "restricted": restricted, "overview": overview,
             "lang": lang},
            sections_panel(rows, lang))


def update_wall_alerts(_n, state: dict) -> tuple:
    """Banners for new high / very high events, the "last hour" strip under them, and the LIVE
    or DATA STALE sign."""
    s = web_settings()
    scope = current_scope()
    now = picture.now_utc()
    sections = tuple(state.get("sections") or ()) or None
    highs = picture.high_alerts(scope, now - timedelta(minutes=s.banner_minutes), sections)
    hour = picture.last_hour(scope, now, sections)
    lang = state.get("lang", "en")
    sign, sign_class = status.freshness(scope, now, lang)
    stale = "nsp-stale" in sign_class.split()
    return ([*_banners(highs, now, lang), _last_hour(hour, lang)], sign, sign_class,
            "wall-stale-cover" + ("" if stale else " nsp-hidden"))


def _part(update, outputs, digests: str) -> unchanged.Part:
    return unchanged.Part(tuple(Output(cid, prop) for cid, prop in outputs), digests, lambda state: update(0, state))


# The wall's refreshing parts (dashboard/components/unchanged.py), each a callback on the refresh.
PARTS = (_part(update_wall_layers, LAYER_OUTPUTS, "wall-layer-digests"),
         _part(update_wall_sections, SECTION_OUTPUTS, "wall-section-digests"),
         _part(update_wall_alerts, ALERT_OUTPUTS, "wall-alert-digests"))


def rotate_wall(_n, info: dict | None, step: int | None) -> tuple:
    """The next view of the rotation: the overview (national; for a wall of some sections,
    all of them), then each active section, then the overview again. The view goes to
    ``wall-target``; nsp.wall.fit (nsp_wall.js) moves the map there, clear of the banners."""
    info = info or {}
    views = [None] + [c for c in info.get("active", []) if c in info.get("bounds", {})]
    step = ((step or 0) + 1) % len(views)
    code = views[step]
    lang = info.get("lang", "en")
    if code is None and info.get("restricted") and info.get("overview"):
        view = {"bounds": info["overview"], "transition": "flyToBounds", "options": {"padding": [60, 60]}}
        return view, step, t("all sections", lang)
    if code is None:
        return {"bounds": national_bounds(), "transition": "flyToBounds"}, step, t("national", lang)
    box = picture.union_bounds(info["bounds"], [code])
    return {"bounds": box, "transition": "flyToBounds", "options": {"padding": [60, 60]}}, step, code


# ========================================================================== layout


def _initial(state: dict) -> dict:
    """The first picture, computed while the page is built (the parts in parallel), so the
    wall is complete on its first paint instead of one more round trip later; with what the
    browser holds of it, so that the first refresh sends only what changed."""
    return unchanged.first_paint([*PARTS, airlayer.part(P)], state)


def layout(**query):
    s = web_settings()
    q = {k: v for k, v in query.items() if isinstance(v, str)}
    q.setdefault("window", s.wall_window)
    state = parse_query(urlencode(q), s.wall_window)
    state["lang"] = lang = choose(q.get("lang"))
    state["sound"] = flag(q.get("sound"), s.wall_sound)
    state["rotate"] = rotation_seconds(q.get("rotate"), s.rotation_seconds)
    scope = current_scope()
    wanted = scope.restrict(state["sections"] or None)  # what this wall shows: the link's, in scope
    scope_note = ", ".join(wanted) if wanted else t("national", lang) if scope.all_sections else t("no section", lang)
    page = wall_page(s, state, scope_note)
    mapview.fill_initial(page, _initial(state))
    return page


def wall_page(s, state: dict, scope_note: str) -> html.Div:
    lang = state.get("lang", "en")
    rotate = state.get("rotate", s.rotation_seconds)
    return html.Div([
        dcc.Store(id="wall-state", data=state),
        # what the browser holds of each refreshing part (dashboard/components/unchanged.py)
        *unchanged.stores(*(part.digests for part in PARTS), airlayer.digests_id(P)),
        dcc.Store(id="wall-info"),
        dcc.Store(id="wall-step", data=0),
        dcc.Store(id="wall-target"),  # the rotation's view; none: the overview (wall-info)
        dcc.Store(id="wall-sound-heard"),  # the banners that chimed (nsp_sound.js)
        dcc.Interval(id="wall-refresh", interval=s.refresh_seconds * 1000),
        dcc.Interval(id="wall-rotate", interval=max(rotate, 1) * 1000, disabled=rotate <= 0),
        html.Div(mapview.build_map(P, dark=True, controls=False), className="wall-map"),
        html.Div([
            html.Div([html.Div(t("NATIONAL SITUATIONAL PICTURE", lang), className="wall-title"),
                      html.Div(t("{scope} · last {window}", lang, scope=scope_note, window=state["window"]),
                               id="wall-subtitle",
                               className="wall-subtitle")], className="wall-head-left"),
            html.Div(id="wall-status", className="nsp-status"),
            html.Div([html.Div(id="wall-clock-local", className="wall-clock-big", **{"data-nsp-clock": "wall-local"}),
                      html.Div(id="wall-clock-utc", className="wall-clock-small", **{"data-nsp-clock": "wall-utc"})],
                     className="wall-clock"),  # ticked by dashboard/assets/nsp_clock.js
        ], className="wall-head"),
        html.Div([html.Div(t("DATA STALE", lang), className="wall-stale-big"),
                  html.Div(t("no feed has delivered data — the picture is not current", lang),
                           className="wall-stale-small")],
                 id="wall-stale", className="wall-stale-cover nsp-hidden"),
        html.Div(id="wall-banners", className="wall-banners"),
        html.Div([html.Div([t("Border sections", lang),
                            html.Span(id="wall-sections-page", className="wall-sec-page"),  # nsp_wall.js
                            html.Span(t("events, against the {window} before", lang, window=state["window"]),
                                      className="wall-panel-note")], className="wall-panel-title"),
                  html.Div(id="wall-sections", className="wall-sections"),
                  # the category key of the compact legend below (mapview.legend)
                  html.Div([t("Events, last {window}", lang, window=state["window"]),
                            html.Span(t("shape = category", lang), className="wall-panel-note wall-panel-note-inline")],
                           className="wall-panel-title"),
                  html.Div(id="wall-totals", className="wall-totals"),
                  html.Div(id="wall-view", className="wall-view"),
                  html.Div(mapview.static_legend(P, compact=True, lang=lang), className="wall-legend")], className="wall-panel"),
    ], className="nsp-page wall-page", lang=lang,
        style={"--wall-label-px": f"{s.wall_label_px}px", "--wall-count-px": f"{s.wall_count_px}px"}, **{
        "data-nsp-words": mapview.map_words(lang),  # nsp_map.js's tooltips
        "data-nsp-sound": "1" if state.get("sound") else "0",  # a chime for a new banner (nsp_sound.js)
        "data-nsp-page-ms": s.wall_page_seconds * 1000,  # the section list's pages (nsp_wall.js)
        "data-nsp-page-words": t("{range} of {n}", lang),
        "data-nsp-refresh-ms": s.refresh_seconds * 1000,  # nsp_watchdog.js, and its words:
        "data-nsp-offline": t("NO CONNECTION — the picture is from {time}; retrying", lang),
        "data-nsp-signed-out": t("SIGNED OUT — the picture is from {time}; open the kiosk link again", lang)})


# ===================================================================== registration

# Three callbacks on the same tick (the browser sends them in parallel); the first picture
# comes with the layout, so they start with the first refresh. Each answers only what changed
# (dashboard/components/unchanged.py): Leaflet rebuilds a layer given the same data, every
# marker and line replaced; the wall's page holds from the start what its layout brought.
for _part_of, _fn in zip(PARTS, (update_wall_layers, update_wall_sections, update_wall_alerts), strict=True):
    unchanged.callback(list(_part_of.outputs), Input("wall-refresh", "n_intervals"), State("wall-state", "data"),
                       digests=_part_of.digests, prevent_initial_call=True)(_fn)
airlayer.register("wall")  # aircraft and UAVs (dashboard/components/airlayer.py)

callback(
    Output("wall-target", "data"), Output("wall-step", "data"), Output("wall-view", "children"),
    Input("wall-rotate", "n_intervals"), State("wall-info", "data"), State("wall-step", "data"),
    prevent_initial_call=True,
)(rotate_wall)

# The map's view, fitted below the header and the banners: again when a banner comes or goes,
# so no banner hides a border (the initial fit, build_map's boundsOptions, knows only the header).
clientside_callback(
    "function(banners, target, info) { return window.nsp.wall.fit(target, info); }",
    Output("wall-map", "viewport"),
    Input("wall-banners", "children"), Input("wall-target", "data"), State("wall-info", "data"),
)

clientside_callback(
    "function(banners) { return window.nsp.sound.banners(banners); }",
    Output("wall-sound-heard", "data"), Input("wall-banners", "children"),
)

clientside_callback(
    mapview.wall_cluster_js(len(EVENT_OUTPUTS)),
    [Output(cid, "superClusterOptions") for cid in EVENT_OUTPUTS],
    Input("wall-state", "data"),
)
