"""The filter controls: their state and its query string (the URL follows it), the custom
window, the downloads' links, the clock and the reset button.
"""

from __future__ import annotations

from urllib.parse import urlencode

from dash import Input, Output, callback, clientside_callback

from dashboard.settings import web_settings
from dashboard.state import build_query, parse_query


def controls_to_state(window, start, end, at, category, impact, source, sections, heat,
                      rejected=None, replay=None) -> tuple[dict, str]:
    """The state of the filter controls, and the query string that encodes it."""
    raw = {"window": window, "start": start, "end": end, "at": at, "replay": replay,
           "category": ",".join(category or []),
           "impact": ",".join(impact or []), "source": ",".join(source or []),
           "sections": ",".join(sections or []), "heat": "1" if heat else "0",
           "rejected": "1" if rejected else "0"}
    state = parse_query(urlencode({k: v for k, v in raw.items() if v}), web_settings().default_window)
    return state, build_query(state)


def reset_filters(_clicks) -> tuple:
    w = web_settings().default_window
    return w, None, None, None, [], [], [], [], [], [], 0, "known"


STATE_INPUTS = [Input("main-window", "value"), Input("main-start", "value"), Input("main-end", "value"),
                Input("main-at", "value"), Input("main-category", "value"), Input("main-impact", "value"),
                Input("main-source", "value"), Input("main-sections", "value"), Input("main-heat", "value"),
                Input("main-rejected", "value"), Input("main-replay-mode", "value")]


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    callback(Output("main-state", "data"), Output("main-query", "data"), *STATE_INPUTS,
             prevent_initial_call=True)(controls_to_state)

    # The URL follows the state without a page reload (replaceState: the view is not rebuilt).
    clientside_callback(
        """function(q) { if (q && window.location.search !== q) {
            window.history.replaceState(null, "", window.location.pathname + q); } return ""; }""",
        Output("main-url-synced", "data"), Input("main-query", "data"),
    )

    clientside_callback(
        """function(q) { if (!q) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
            return ["/export/events.csv" + q, "/export/events.geojson" + q]; }""",
        Output("main-download-csv", "href"),
        Output("main-download-geojson", "href"),
        Input("main-query", "data"), prevent_initial_call=True,
    )

    clientside_callback(
        """function(w) { return w === "custom" ? "nsp-f nsp-f-custom" : "nsp-f nsp-f-custom nsp-hidden"; }""",
        Output("main-custom", "className"), Input("main-window", "value"),
    )

    callback(
        Output("main-window", "value"), Output("main-start", "value"), Output("main-end", "value"),
        Output("main-at", "value"), Output("main-category", "value"), Output("main-impact", "value"),
        Output("main-source", "value"), Output("main-sections", "value"), Output("main-heat", "value"),
        Output("main-rejected", "value"), Output("main-replay", "value", allow_duplicate=True),
        Output("main-replay-mode", "value"), Input("main-reset", "n_clicks"), prevent_initial_call=True,
    )(reset_filters)
