"""The filter state of the main view, and its URL query string (both ways).

``/?sections=LV-BY-02,LV-BY-03&window=24h&category=unauthorised_border_crossing`` reproduces a
view. Parameters (all optional; lists are comma-separated):

=========  ==================================================================
window     ``1h``, ``6h``, ``24h`` (default ``NSP_WEB_DEFAULT_WINDOW``), ``7d`` or ``custom``
start,end  the custom range, ISO 8601 (``2026-11-20T06:00``; UTC unless an offset is given)
at         the picture as it was at this time (ISO 8601): the window ends there, only what
           had been received by then is shown, and sections show the level they had then
category   event categories (``unauthorised_border_crossing``, ``cross_border_crime``,
           ``crisis_situation``, ``other``)
impact     ``low``, ``medium``, ``high``, ``very_high``
source     feed sources (as recorded on the events)
sections   border section codes; the map zooms to them and every panel is limited to them
heat       ``1`` shows the density (heatmap) layer
=========  ==================================================================

Unknown parameters and values are ignored, so a hand-edited URL never breaks the page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from geo.picture import CATEGORIES, IMPACTS, WINDOWS, PictureFilter, window_bounds

KEYS = ("window", "start", "end", "at", "category", "impact", "source", "sections", "heat")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
_SOURCE = re.compile(r"^[\w.:@/-]{1,100}$")


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (or what a datetime-local input gives); naive times are UTC. None if invalid."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """For the URL and the datetime-local inputs: minutes, UTC, no offset."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else None


def _list(values: list[str], allowed=None, pattern=None) -> list[str]:
    out: list[str] = []
    for v in ",".join(values).split(","):
        v = v.strip()
        if not v or v in out:
            continue
        if allowed is not None and v not in allowed:
            continue
        if pattern is not None and not pattern.match(v):
            continue
        out.append(v)
    return out


def default_state(window: str = "24h") -> dict:
    return {"window": window, "start": None, "end": None, "at": None, "category": [],
            "impact": [], "source": [], "sections": [], "heat": False}


def parse_query(search: str | None, default_window: str = "24h") -> dict:
    """The state encoded in a query string (``?a=b&...``), with invalid values dropped."""
    q = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    state = default_state(default_window)
    window = (q.get("window") or [default_window])[0]
    state["window"] = window if window in WINDOWS or window == "custom" else default_window
    for key in ("start", "end", "at"):
        state[key] = format_time(parse_time((q.get(key) or [None])[0]))
    if state["window"] == "custom" and not (state["start"] and state["end"]
                                            and state["start"] < state["end"]):
        state["window"] = default_window
    state["category"] = _list(q.get("category", []), allowed=CATEGORIES)
    state["impact"] = _list(q.get("impact", []), allowed=IMPACTS)
    state["source"] = _list(q.get("source", []), pattern=_SOURCE)
    state["sections"] = _list(q.get("sections", []), pattern=_CODE)
    state["heat"] = (q.get("heat") or ["0"])[0] in ("1", "true", "yes", "on")
    return state


def build_query(state: dict) -> str:
    """The query string for a state; empty values and the defaults are left out."""
    pairs: list[tuple[str, str]] = []
    if state.get("sections"):
        pairs.append(("sections", ",".join(state["sections"])))
    pairs.append(("window", state.get("window") or "24h"))
    if state.get("window") == "custom":
        for key in ("start", "end"):
            if state.get(key):
                pairs.append((key, state[key]))
    if state.get("at"):
        pairs.append(("at", state["at"]))
    for key in ("category", "impact", "source"):
        if state.get(key):
            pairs.append((key, ",".join(state[key])))
    if state.get("heat"):
        pairs.append(("heat", "1"))
    return "?" + urlencode(pairs, safe=",:")


def to_filter(state: dict, now: datetime | None = None) -> PictureFilter:
    """The PictureFilter a state asks for."""
    at = parse_time(state.get("at"))
    start, end = window_bounds(
        state.get("window") or "24h",
        parse_time(state.get("start")), parse_time(state.get("end")),
        at=at, now=now,
    )
    return PictureFilter(
        start=start,
        end=end,
        known_at=at,
        categories=tuple(state.get("category") or ()) or None,
        impacts=tuple(state.get("impact") or ()) or None,
        sources=tuple(state.get("source") or ()) or None,
        sections=tuple(state.get("sections") or ()) or None,
    )
