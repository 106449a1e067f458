"""The events-over-time chart: events per hour or day by category, stacked.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import plotly.graph_objects as go

from dashboard.i18n import category_label, t
from dashboard.pages.main.shared import CATEGORY_COLOURS
from nsp.vocab import CATEGORIES

# A bucket in milliseconds: each bar is 80 % of it, drawn in its middle, and the axis spans
# the window. Left to plotly, one lone bar got an axis of milliseconds (11:59:59.9996 …).
BUCKET_MS = {"hour": 3600_000, "day": 86400_000}


def timeseries_figure(bucket: str, rows: list[dict], lang: str = "en", span: tuple | None = None) -> go.Figure:
    """Events per hour or day by category, stacked; ``span``: the window (start, end)."""
    fig = go.Figure()
    for c in CATEGORIES:
        pts = [r for r in rows if r["category"] == c]
        fig.add_bar(x=[r["bucket"] for r in pts], y=[r["n"] for r in pts], width=0.8 * BUCKET_MS[bucket],
                    xperiod=BUCKET_MS[bucket], xperiodalignment="middle",
                    name=category_label(c, lang), marker_color=CATEGORY_COLOURS[c],
                    marker_pattern_shape={"unauthorised_border_crossing": "", "cross_border_crime": "/",
                                          "crisis_situation": "x", "other": "."}[c])
    fig.update_layout(barmode="stack", margin={"l": 40, "r": 10, "t": 30, "b": 30}, height=240,
                      title={"text": t("Events per hour (UTC) by category" if bucket == "hour" else
                                       "Events per day (UTC) by category", lang), "font": {"size": 13}},
                      legend={"orientation": "h", "y": -0.25, "font": {"size": 11}},
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#f6f7f9", font={"family": "inherit"})
    if span:  # naive UTC, as the buckets are
        start, end = (t_.astimezone(UTC).replace(tzinfo=None) for t_ in span)
        if bucket == "day":  # whole days
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
            end = end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        else:  # whole minutes: the same figure from one refresh to the next within a minute
            whole = end.replace(second=0, microsecond=0)
            start, end = start.replace(second=0, microsecond=0), whole + timedelta(minutes=whole != end)
        fig.update_xaxes(range=[start, end])
    return fig
