"""The filter state of the main view, and its URL query string (both ways).

``/?sections=LV-BY-02,LV-BY-03&window=24h&category=unauthorised_border_crossing`` reproduces a
view. Parameters (all optional; lists are comma-separated):

=========  ==================================================================
window     ``1h``, ``6h``, ``24h`` (default ``NSP_WEB_DEFAULT_WINDOW``), ``7d`` or ``custom``
start,end  the custom range, ISO 8601 (``2026-11-20T06:00``; UTC unless an offset is given)
at         the picture as it was at this time (ISO 8601): the window ends there, and
           sections show the level they had then
replay     how ``at`` shows the past: ``known`` (the default), as known then, only what had
           been received by then, with the decisions taken by then; ``happened``, as happened,
           every event that occurred by then from all reports held now (late ones too)
category   event categories (``unauthorised_border_crossing``, ``cross_border_crime``,
           ``crisis_situation``, ``other``)
impact     ``low``, ``medium``, ``high``, ``very_high``
source     feed sources (as recorded on the events)
sections   border section codes; the map zooms to them and every panel is limited to them
heat       ``1`` shows the density (heatmap) layer
rejected   ``1`` shows only the reports their source rejected on validation, which the
           picture otherwise leaves out
=========  ==================================================================

Hand-edited links are common (a commander types "my sector, last 24h"), so a link never
breaks the page:

- a few other names are read as the parameter they mean (``section``, ``sector``, ``categories``,
  ``impacts``, ``sources``, ``from``/``to``, ``density``), section codes in any case
  (``lv-by-01``), and the page rewrites the address to the names above;
- what is still not understood (an unknown parameter, ``window=12h``, ``category=smuggling``,
  a time that is not ISO 8601) is left out, and ``parse_query`` lists it in ``ignored`` so
  that the page can say so: a filter silently dropped would look like one applied.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from geo.picture import WINDOWS, PictureFilter, window_bounds
from nsp.vocab import CATEGORIES, IMPACTS, REPLAY_MODES

KEYS = ("window", "start", "end", "at", "replay", "category", "impact", "source", "sections", "heat", "rejected")
# Other names a hand-written link uses for a parameter.
ALIASES = {"section": "sections", "sector": "sections", "sectors": "sections", "categories": "category",
           "impacts": "impact", "sources": "source", "from": "start", "to": "end", "density": "heat",
           "mode": "replay", "as": "replay"}
# Other words a hand-written link uses for a replay mode.
REPLAY_ALIASES = {"as-known": "known", "received": "known", "as-happened": "happened", "occurred": "happened"}
OTHER_KEYS = ("lang",)  # read by the page itself (its language), not part of the filter
_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
_SOURCE = re.compile(r"^[\w.:@/-]{1,100}$")


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (``2026-12-04 14:00``, ``2026-12-04T14:00``) or day first (``04.12.2026 14:00``);
    naive times are UTC. None if invalid."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:  # day first, as written in Latvia: 04.12.2026 14:00
            value = datetime.strptime(text.strip(), "%d.%m.%Y %H:%M")
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """For the URL (and, with a space for the T, the time fields): minutes, UTC, no offset."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else None


def _list(values: list[str], allowed=None, pattern=None, dropped: list[str] | None = None) -> list[str]:
    out: list[str] = []
    for v in ",".join(values).split(","):
        v = v.strip()
        if not v or v in out:
            continue
        if (allowed is not None and v not in allowed) or (pattern is not None and not pattern.match(v)):
            if dropped is not None:
                dropped.append(v)
            continue
        out.append(v)
    return out


def default_state(window: str = "24h") -> dict:
    return {"window": window, "start": None, "end": None, "at": None, "replay": "known", "category": [],
            "impact": [], "source": [], "sections": [], "heat": False, "rejected": False}


def parse_query(search: str | None, default_window: str = "24h", ignored: list[str] | None = None) -> dict:
    """The state encoded in a query string (``?a=b&...``), with invalid values dropped; each
    dropped one is added to ``ignored`` as ``name=value``, when a list is given."""
    ignored = [] if ignored is None else ignored
    q: dict[str, list[str]] = {}
    for key, values in parse_qs((search or "").lstrip("?"), keep_blank_values=False).items():
        name = ALIASES.get(key.lower(), key.lower())
        if name in KEYS:
            q.setdefault(name, []).extend(values)
        elif name not in OTHER_KEYS:
            ignored.extend(f"{key}={v}" for v in values)
    state = default_state(default_window)
    window = (q.get("window") or [default_window])[0]
    state["window"] = window if window in WINDOWS or window == "custom" else default_window
    if window != state["window"]:
        ignored.append(f"window={window}")
    for key in ("start", "end", "at"):
        text = (q.get(key) or [None])[0]
        state[key] = format_time(parse_time(text))
        if text and state[key] is None:
            ignored.append(f"{key}={text}")
    if state["window"] == "custom" and not (state["start"] and state["end"]
                                            and state["start"] < state["end"]):
        state["window"] = default_window
        ignored.append("window=custom")
    replay = (q.get("replay") or ["known"])[0].strip().lower()
    state["replay"] = REPLAY_ALIASES.get(replay, replay)
    if state["replay"] not in REPLAY_MODES:
        state["replay"] = "known"
        ignored.append(f"replay={replay}")
    for key, allowed, pattern in (("category", CATEGORIES, None), ("impact", IMPACTS, None),
                                  ("source", None, _SOURCE), ("sections", None, _CODE)):
        values = [v.upper() for v in q.get(key, [])] if key == "sections" else q.get(key, [])
        dropped: list[str] = []
        state[key] = _list(values, allowed=allowed, pattern=pattern, dropped=dropped)
        ignored.extend(f"{key}={v}" for v in dropped)
    for key in ("heat", "rejected"):
        value = (q.get(key) or ["0"])[0].lower()
        state[key] = flag(value, False)
        if value not in _FLAGS:
            ignored.append(f"{key}={value}")
    return state


def flag(text: str | None, default: bool) -> bool:
    """A yes / no in a query (1, true, yes, on; 0, false, no, off; any case), else ``default``."""
    return _FLAGS.get((text or "").strip().lower(), default)


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
    if state.get("replay", "known") != "known":  # kept without a time too: the switch's position
        pairs.append(("replay", state["replay"]))
    for key in ("category", "impact", "source"):
        if state.get(key):
            pairs.append((key, ",".join(state[key])))
    for key in ("heat", "rejected"):
        if state.get(key):
            pairs.append((key, "1"))
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
        replay=state.get("replay") if state.get("replay") in REPLAY_MODES else "known",
        categories=tuple(state.get("category") or ()) or None,
        impacts=tuple(state.get("impact") or ()) or None,
        sources=tuple(state.get("source") or ()) or None,
        sections=tuple(state.get("sections") or ()) or None,
        rejected=bool(state.get("rejected")),
    )


def rotation_seconds(asked: str | None, default: int) -> int:
    """A wall's rotation period: ``?rotate=30`` in its URL (0 stops it; at least 5 s), else
    NSP_WEB_ROTATION_SECONDS. Each wall of a centre, opened by its own kiosk link, can differ."""
    if asked is None or not asked.strip().isdigit():
        return default
    n = int(asked)
    return 0 if n == 0 else max(n, 5)
