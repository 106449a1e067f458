"""Cross-filtering on the main page: a click on what the page shows filters the view.

- a row of the section table, or a section's line on the map: that section (a second click
  on the only section chosen clears it);
- a category in the map's legend: that category (the same toggle);
- a bar of the chart: its category and its hour (or day): the window becomes that bucket.

The clicks change the filter controls, so the URL, the map and every panel follow as for a
choice in the controls. **Esc** undoes the last click-filter (the controls as they were
before it); *Reset* clears every filter. The browser side (``nsp_crossfilter.js``) turns a
click on a table row, a map line or a legend row, and the Esc key, into a "pick" in the
``main-pick`` store; the chart's clicks come as its ``clickData``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dash import Input, Output, State, callback, ctx, no_update
from dash.exceptions import PreventUpdate

from nsp.vocab import CATEGORIES

# The filter controls a click-filter changes, in this order (their "value" property).
CONTROLS = ("main-sections", "main-category", "main-window", "main-start", "main-end")
PICK_KINDS = ("section", "category", "undo")


def _controls(values) -> dict:
    return dict(zip(CONTROLS, values, strict=True))


def _toggle(chosen: list | None, value: str) -> list[str]:
    """``[value]``, or nothing when ``value`` is already the only one chosen."""
    return [] if list(chosen or []) == [value] else [value]


def _bucket(x: str, window_hours: float) -> tuple[datetime, timedelta]:
    """The chart's bucket that a bar's ``x`` falls in: hours for windows up to 48 h, else days
    (geo.picture.timeseries)."""
    at = datetime.fromisoformat(str(x).replace("Z", "")).replace(tzinfo=UTC)
    if window_hours <= 48:
        return at.replace(minute=0, second=0, microsecond=0), timedelta(hours=1)
    return at.replace(hour=0, minute=0, second=0, microsecond=0), timedelta(days=1)


def _text(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def cross_filter(trigger: str | None, pick: dict | None, click: dict | None, values: list,
                 before: dict | None, window_hours: float = 24) -> tuple:
    """The controls' new values after a click-filter, and what to restore on Esc.

    ``trigger``: ``main-pick`` (a pick: ``{"kind": "section"|"category"|"undo", "value": …}``),
    ``main-timeseries`` (a bar clicked: its ``clickData``) or ``main-reset``; ``values``: the
    controls' values now (:data:`CONTROLS`); ``before``: the values saved by the last
    click-filter. Returns the five values (or ``no_update``) and the values to save."""
    now = _controls(values)
    if trigger == "main-reset":  # Reset clears the filters itself: nothing left to undo
        return (*[no_update] * len(CONTROLS), None)
    new = dict(now)
    if trigger == "main-pick":
        kind, value = (pick or {}).get("kind"), (pick or {}).get("value")
        if kind == "undo":
            if not before:
                raise PreventUpdate
            return (*[before.get(c, now[c]) for c in CONTROLS], None)
        if kind == "section" and isinstance(value, str) and value:
            new["main-sections"] = _toggle(now["main-sections"], value)
        elif kind == "category" and value in CATEGORIES:
            new["main-category"] = _toggle(now["main-category"], value)
        else:
            raise PreventUpdate
    elif trigger == "main-timeseries":
        point = ((click or {}).get("points") or [None])[0]
        if not point or not 0 <= point.get("curveNumber", -1) < len(CATEGORIES) or not point.get("x"):
            raise PreventUpdate
        start, length = _bucket(point["x"], window_hours)
        new.update({"main-category": [CATEGORIES[point["curveNumber"]]], "main-window": "custom",
                    "main-start": _text(start), "main-end": _text(start + length)})
    else:
        raise PreventUpdate
    return (*[new[c] if new[c] != now[c] else no_update for c in CONTROLS], now)


def _window_hours(state: dict | None) -> float:
    from dashboard.state import to_filter
    from geo.picture import PictureError

    try:
        return to_filter(state or {}).length.total_seconds() / 3600
    except PictureError:
        return 24


def _run(_pick, _click, _reset, pick, click, *rest):
    *values, before, state = rest
    return cross_filter(ctx.triggered_id, pick, click, values, before, _window_hours(state))


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    # registered when the page (view.py) imports this module
    callback(
        *[Output(c, "value", allow_duplicate=True) for c in CONTROLS],
        Output("main-crossfilter-before", "data"),
        Input("main-pick", "data"), Input("main-timeseries", "clickData"), Input("main-reset", "n_clicks"),
        State("main-pick", "data"), State("main-timeseries", "clickData"),
        *[State(c, "value") for c in CONTROLS], State("main-crossfilter-before", "data"), State("main-state", "data"),
        prevent_initial_call=True,
    )(_run)
