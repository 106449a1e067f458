"""The replay slider: the "as at" time in minutes before the moment the page was opened
(0 = live). Playing moves it forward one step per tick; "as at" shows only what had been
received by then, so the replay is the picture as the centre saw it.
"""

from __future__ import annotations

from datetime import timedelta

from dash import Input, Output, State, callback, no_update

from dashboard.i18n import current, t
from dashboard.settings import web_settings
from dashboard.state import format_time, parse_time


def replay_value(at: str | None, origin: str) -> int:
    """Slider position of an "as at" time (0 when live or in the future)."""
    t, o = parse_time(at), parse_time(origin)
    if t is None or o is None or t >= o:
        return 0
    return -int((o - t).total_seconds() // 60)


def replay_to_at(minutes, origin: str) -> str | None:
    """The "as at" time of a slider position (None, live, at 0)."""
    o = parse_time(origin)
    if minutes is None or minutes >= 0 or o is None:
        return None
    return format_time(o + timedelta(minutes=minutes)).replace("T", " ")


def replay_step(trigger: str | None, value, running: bool) -> tuple:
    """Play/pause and each tick: (slider value, interval disabled, button label).

    Play from live starts a day back; each tick moves one step (and changes nothing else);
    reaching now goes live and stops.
    """
    s = web_settings()
    lang = current()
    play, pause = "▶ " + t("Replay", lang), "❚❚ " + t("Pause", lang)
    value = value or 0
    if trigger == "main-replay-play":
        if running:
            return value, True, play
        return (value if value < 0 else -24 * 60), False, pause
    if not running:
        return no_update, no_update, no_update
    value = min(0, value + s.replay_step_minutes)
    # A tick moves the slider only: it never turns the replay back on. A tick that was on its
    # way when Pause was clicked, and answers after it, would otherwise re-enable the interval.
    return (value, no_update, no_update) if value < 0 else (0, True, play)


def replay_marks(days: int, lang: str = "en") -> dict:
    return {-d * 24 * 60: (f"-{d}d" if d else t("now", lang)) for d in range(days, -1, -1)}


def _replay_click(_clicks, value, disabled):
    return replay_step("main-replay-play", value, not disabled)


def _replay_tick(_ticks, value, disabled):
    return replay_step("main-replay-tick", value, not disabled)


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    callback(Output("main-at", "value", allow_duplicate=True), Input("main-replay", "value"),
             State("main-replay-origin", "data"), prevent_initial_call=True)(replay_to_at)
    # Two callbacks, not one with both inputs: Dash drops the answer of a callback that is called
    # again before it has answered (plotly/dash#941, #1613; and its ctx may name the wrong input,
    # #1243), so a tick that fired while a click on Pause was on its way could swallow the click
    # and the replay went on (the Chromium test failed so, twice in one session).
    for _fn, _input, _dup in ((_replay_click, Input("main-replay-play", "n_clicks"), False),
                              (_replay_tick, Input("main-replay-tick", "n_intervals"), True)):
        callback(
            Output("main-replay", "value", allow_duplicate=_dup), Output("main-replay-tick", "disabled", allow_duplicate=_dup),
            Output("main-replay-play", "children", allow_duplicate=_dup),
            _input, State("main-replay", "value"), State("main-replay-tick", "disabled"), prevent_initial_call=True,
        )(_fn)
