"""QGIS styles inside the weekly GeoPackage, so that each layer opens styled as on the dashboard.

QGIS keeps a layer's default style in the GeoPackage's ``layer_styles`` table (one row per
layer, the style as QML, ``useAsDefault`` = 1); QGIS, when it opens a layer, applies that
style. The styles are made from the same values the dashboard draws with (geo/symbology.py):

* ``border_sections``: the area tinted by the impact level in force at the week's end, with
  the section code as its label;
* ``border_lines``: the line in the level's colour and width (wider the higher the level);
* ``events``: the category's colour and shape, larger the higher the impact;
* ``patrols``: a dashed dark line; ``asset_positions``: a small circle by kind of object.

The table is registered in ``gpkg_contents`` as attributes, as QGIS itself does, so GDAL
lists it too (``ogrinfo picture.gpkg`` shows ``layer_styles``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

from geo.symbology import AIR_STYLE, CATEGORY_STYLE, LEVEL_COLOURS, LEVEL_WEIGHTS, NO_LEVEL_COLOUR
from nsp.vocab import CATEGORY_SHORT, IMPACTS

# label, shape, colour: the picture's labels ("Other event" on a map of its own) and the
# dashboard's symbols (geo/symbology.py), so the week's map reads as the wall does (here, not
# in mapview.py, so that what needs the table does not import folium and pandas with the map)
CATEGORIES = {c: (label, CATEGORY_STYLE[c][1], CATEGORY_STYLE[c][0])
              for c, label in (CATEGORY_SHORT | {"other": "Other event"}).items()}

QGIS_VERSION = "3.28.0"
PX_MM = 0.26  # a CSS pixel in millimetres, as QGIS measures symbol sizes
IMPACT_SIZE_MM = dict(zip(IMPACTS, (3.0, 3.6, 4.4, 5.2), strict=True))
# asset_positions: own units navy as on the dashboard, others muted
KIND_COLOURS = {"own": "#1f3a93", "vessel": "#117733", "aircraft": "#882255", "uav": AIR_STYLE["uav"]["fill"],
                "vehicle": "#555555", "person": "#999933", "other": "#888888"}
PATROL_COLOUR = "#2b2b2b"

TABLE = """CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
    f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
    styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _options(values: dict[str, str]) -> str:
    return "".join(f'<Option name="{k}" type="QString" value={quoteattr(v)}/>' for k, v in values.items())


def _data_defined(prop: str, expression: str) -> str:
    return ('<data_defined_properties><Option type="Map"><Option name="name" type="QString" value=""/>'
            f'<Option name="properties" type="Map"><Option name="{prop}" type="Map">'
            '<Option name="active" type="bool" value="true"/>'
            f'<Option name="expression" type="QString" value={quoteattr(expression)}/>'
            '<Option name="type" type="int" value="3"/></Option></Option>'
            '<Option name="type" type="QString" value="collection"/></Option></data_defined_properties>')


def _symbol(name: str, kind: str, layer_class: str, options: dict[str, str], extra: str = "") -> str:
    return (f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{layer_class}" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">{_options(options)}</Option>{extra}</layer></symbol>')


def _fill(colour: str) -> dict[str, str]:
    return {"color": _rgba(colour, 50), "outline_color": _rgba(colour), "outline_width": "0.3",
            "outline_width_unit": "MM", "style": "solid"}


def _line(colour: str, width_px: float, dashed: bool = False) -> dict[str, str]:
    return {"line_color": _rgba(colour), "line_width": f"{width_px * PX_MM:.2f}", "line_width_unit": "MM",
            "capstyle": "round", "joinstyle": "round", "line_style": "dash" if dashed else "solid"}


def _marker(shape: str, colour: str, size_mm: float) -> dict[str, str]:
    return {"name": shape, "color": _rgba(colour), "outline_color": "255,255,255,255", "outline_width": "0.2",
            "outline_width_unit": "MM", "size": f"{size_mm:.1f}", "size_unit": "MM"}


def _categorized(attr: str, kind: str, layer_class: str, cats: list[tuple[str, str, dict]],
                 extra: str = "") -> str:
    """A categorized renderer: ``cats`` = [(value, label, symbol layer options)]; a last category
    with an empty value draws anything else (an internal border, a kind nsp does not know)."""
    categories = "".join(f'<category value={quoteattr(v)} symbol="{i}" label={quoteattr(label)} render="true"/>'
                         for i, (v, label, _o) in enumerate(cats))
    symbols = "".join(_symbol(str(i), kind, layer_class, o, extra) for i, (_v, _l, o) in enumerate(cats))
    return (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} forceraster="0" symbollevels="0" '
            f'enableorderby="0"><categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>')


def _labels(field: str) -> str:
    return ('<labeling type="simple"><settings calloutType="simple">'
            f'<text-style fieldName={quoteattr(field)} fontSize="9" fontWeight="75" textColor="30,30,30,255" '
            'isExpression="0"><text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="255,255,255,255"/>'
            '</text-style><placement placement="1"/></settings></labeling>')


def _qml(body: str, labels: str = "") -> str:
    on = ' labelsEnabled="1"' if labels else ""
    return (f"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling"{on}>{body}{labels}</qgis>')


def qml_styles() -> dict[str, str]:
    """{layer: QML} of every layer with geometry in the weekly GeoPackage."""
    levels = [(lv, f"{lv} impact level", lv) for lv in LEVEL_COLOURS]
    size = "CASE " + " ".join(f"WHEN \"impact\" = '{i}' THEN {mm}" for i, mm in IMPACT_SIZE_MM.items()) + " ELSE 3 END"
    return {
        "border_sections": _qml(_categorized(
            "impact_level", "fill", "SimpleFill",
            [(v, label, _fill(LEVEL_COLOURS[c])) for v, label, c in levels]
            + [("", "no impact level (internal border)", _fill(NO_LEVEL_COLOUR))]), _labels("code")),
        "border_lines": _qml(_categorized(
            "impact_level", "line", "SimpleLine",
            [(v, label, _line(LEVEL_COLOURS[c], LEVEL_WEIGHTS[c])) for v, label, c in levels]
            + [("", "internal border (no impact level)", _line(NO_LEVEL_COLOUR, 2, dashed=True))])),
        "events": _qml(_categorized(
            "category", "marker", "SimpleMarker",
            [(c, CATEGORY_SHORT[c], _marker(shape, colour, 3.6)) for c, (colour, shape) in CATEGORY_STYLE.items()],
            extra=_data_defined("size", size))),
        "patrols": _qml('<renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0">'
                        f'<symbols>{_symbol("0", "line", "SimpleLine", _line(PATROL_COLOUR, 2, dashed=True))}'
                        '</symbols></renderer-v2>'),
        "asset_positions": _qml(_categorized(
            "kind", "marker", "SimpleMarker",
            [(k, k, _marker("circle", colour, 1.6)) for k, colour in KIND_COLOURS.items()])),
    }


def write(gpkg: Path) -> int:
    """Store the default style of every styled layer in ``gpkg``; the number of styles."""
    styles = qml_styles()
    con = sqlite3.connect(gpkg)
    try:
        with con:
            con.execute(TABLE)
            con.execute("INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, description) "
                        "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS default layer styles')")
            # QGIS finds a layer's default style by its table *and* its geometry column's name
            # (f_table_schema = '' AND f_table_name = … AND f_geometry_column = the column GDAL
            # reports): a style row under another column name is never applied.
            columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
            con.executemany(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                "VALUES ('', '', ?, ?, ?, ?, '', 1, 'nsp: as on the dashboard', 'nsp', '')",
                [(layer, columns[layer], f"nsp {layer}", qml) for layer, qml in styles.items() if layer in columns])
    finally:
        con.close()
    return len(styles)
