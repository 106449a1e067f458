"""The analysis layer's simplest indicator, shared by / and /wall: a section's events in the
window against the previous window of the same length (geo.picture.section_table's
``change``). The arrow's shape carries the direction, so it reads without colour."""

from __future__ import annotations

from dash import html


def change_mark(n: int, compact: bool = False) -> html.Span:
    """``▲ +3`` (more events than in the previous window), ``▼ -2`` or ``= 0``; ``compact``
    for the wall's narrow column: ``▲3``, ``▼2``, ``=``."""
    if n > 0:
        return html.Span(f"▲{n}" if compact else f"▲ +{n}", className="nsp-up")
    if n < 0:
        return html.Span(f"▼{-n}" if compact else f"▼ {n}", className="nsp-down")
    return html.Span("=" if compact else "= 0", className="nsp-flat")
