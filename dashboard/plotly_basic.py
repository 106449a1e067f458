"""The charts' plotly.js: its basic bundle (scatter, bar, pie) instead of the full one.

``dcc.Graph`` loads plotly.js when a page first draws a chart, from Dash's URL for the bundle
the ``plotly`` package ships (``plotly.min.js``, 4.8 MB: 3-D, maps, finance and the rest).
nsp's one chart, the main view's events over time, is a stacked bar chart, which the basic
bundle (1.2 MB) draws. The app serves that bundle, of the same plotly.js version, at Dash's URL:
a main view loaded the first time fetches 3.6 MB less, and its browser spends about a tenth
less CPU on each load (the full bundle's evaluation). A page without a chart (the wall) loads
neither. The file: ``dashboard/vendor/plotly-basic.min.js`` (see its README for where it
comes from).
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response, send_file

#: Dash's URL for plotly.js (dash.Dash._setup_plotlyjs, with serve_locally).
URL = "/_dash-component-suites/plotly/package_data/plotly.min.js"
BUNDLE = Path(__file__).resolve().parent / "vendor" / "plotly-basic.min.js"


def version() -> str:
    """The plotly.js version the vendored bundle names in its header."""
    with BUNDLE.open("rb") as f:
        head = f.read(400).decode("ascii", "replace")
    found = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", head)
    if not found:
        raise ValueError(f"{BUNDLE}: no plotly.js basic bundle header")
    return found.group(1)


def serve() -> Response:
    """The basic bundle (an ETag and its date, so a browser that holds it gets a 304)."""
    return send_file(BUNDLE, mimetype="text/javascript", conditional=True, etag=True)
