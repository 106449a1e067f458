"""The main page's event list: the columns that matter first, and the details beside it.

The time, the impact, what happened (category and subtype in one column), where (the
section), how many persons, the source and the status come first; the confidence, the
distance to the border, the follow-ups, the patrols that observed it and the report's text
follow. The grid shows as many rows as its height holds (``paginationAutoPageSize``), not 20
of which 7 were visible. A click on a row opens the event's details beside the list, with a
small map centred on it (dashboard/pages/main/details.py).
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_leaflet as dl
from dash import html
from dash_extensions.javascript import Namespace

from dashboard.components import mapview
from dashboard.i18n import t

ns = Namespace("nsp", "floor")


def columns(lang: str) -> list[dict]:
    """The grid's columns, the ones that matter first."""
    return [
        # the ISO time sorts and filters; it is shown as every time on the page (nsp_time.js)
        {"field": "occurred_at", "headerName": t("Time (UTC)", lang), "sort": "desc", "minWidth": 105, "maxWidth": 130,
         "valueFormatter": {"function": "nspTime(params.value)"}, "tooltipField": "occurred_at"},
        # sorted by rank (low → very high), shown and filtered in words
        {"colId": "impact", "headerName": t("Impact", lang), "minWidth": 95, "maxWidth": 120,
         "valueGetter": {"function": "params.data.impact_rank"},
         "valueFormatter": {"function": "params.data.impact_text"},
         "filterValueGetter": {"function": "params.data.impact_text"},
         "cellDataType": "text", "filter": "agTextColumnFilter"},
        {"field": "kind_text", "headerName": t("Event", lang), "minWidth": 230, "tooltipField": "kind_text"},
        {"field": "section_code", "headerName": t("Section", lang), "minWidth": 100, "maxWidth": 125},
        {"field": "persons", "headerName": t("Persons", lang), "filter": "agNumberColumnFilter", "minWidth": 90,
         "maxWidth": 105},
        {"field": "source", "headerName": t("Source", lang), "minWidth": 130, "tooltipField": "source"},
        {"field": "status_text", "headerName": t("Status", lang), "minWidth": 85, "maxWidth": 100},
        {"field": "confidence", "headerName": t("Conf.", lang), "minWidth": 75, "maxWidth": 90},
        {"field": "distance_m", "headerName": t("To border (m)", lang), "filter": "agNumberColumnFilter",
         "minWidth": 120, "maxWidth": 140},
        {"field": "follow_ups", "headerName": t("Follow-ups", lang), "filter": "agNumberColumnFilter",
         "minWidth": 105, "maxWidth": 120},
        # the patrols that observed it (patrol_event; 2019/1896 Art 24(2))
        {"field": "observed_by", "headerName": t("Observed by", lang), "minWidth": 140},
        {"field": "description", "headerName": t("Report", lang), "minWidth": 260, "tooltipField": "description"},
    ]


def grid(lang: str) -> dag.AgGrid:
    return dag.AgGrid(
        id="main-events",
        columnDefs=columns(lang),
        rowData=[],
        getRowId="params.data.id",
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True},
        # compact rows: 15 in view at 1080p, and every one of the page in view
        dashGridOptions={"pagination": True, "paginationAutoPageSize": True, "animateRows": False,
                         "rowHeight": 30, "headerHeight": 34, "floatingFiltersHeight": 32,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "tooltipShowDelay": 400},
        columnSize="responsiveSizeToFit",
        className="ag-theme-alpine nsp-grid",
        style={"height": "560px"},
    )


def details_panel(lang: str) -> html.Div:
    """The details beside the list: a small map centred on the chosen event (highlighted), and
    the event in words (dashboard/components/event_details.py)."""
    return html.Div([
        html.H3(t("Event details", lang)),
        html.Div(dl.Map(id="main-detail-map", children=[
            *mapview.basemap("main-detail", False),
            dl.GeoJSON(id="main-detail-point", data=mapview.EMPTY, pointToLayer=ns("highlightPoint")),
        ], center=[56.9, 24.6], zoom=6, minZoom=5, maxZoom=14, zoomControl=True, attributionControl=False,
            className="nsp-map nsp-map-light", style={"width": "100%", "height": "100%"}),
            className="nsp-detail-map", id="main-detail-map-wrap"),
        html.Div(t("Click a row in the list to see the event's details.", lang),
                 id="main-event-details", className="nsp-details"),
    ], className="nsp-card nsp-details-card", id="main-details-card")


def highlight_layer() -> dl.GeoJSON:
    """The chosen event on the main map: a ring around it (added to the main map's layers)."""
    return dl.GeoJSON(id="main-highlight", data=mapview.EMPTY, pointToLayer=ns("highlightPoint"))
