"""What the parts of the situational picture share: the page's id prefix, the event layers'
ids, the time windows, the filter of a state, the "as at" time and a table's header row.
"""

from __future__ import annotations

from dash import html

from dashboard.components import mapview
from dashboard.i18n import t
from dashboard.state import parse_time, to_filter
from geo.picture import PictureError
from nsp.vocab import CATEGORIES

P = "main"
EVENT_OUTPUTS = [mapview.event_layer_id(P, c) for c in CATEGORIES]
WINDOWS = ("1h", "6h", "24h", "7d")
CATEGORY_COLOURS = {c: mapview.CATEGORY_STYLE[c][0] for c in CATEGORIES}


def filter_or_none(state: dict):
    try:
        return to_filter(state or {})
    except PictureError:
        return None


def picture_at(state: dict | None):
    return parse_time((state or {}).get("at"))


def table_head(titles, lang: str) -> html.Tr:
    return html.Tr([html.Th(t(h, lang) if h else h) for h in titles])
