"""Static markup (dashboard/components/static.py): the page's html and dash_svg components as the
HTML React would have made of them, every text and value escaped, as one component."""

from __future__ import annotations

import dash_svg as svg
import pytest
from dash import dcc, html

from dashboard.components import mapview
from dashboard.components.static import Static, markup, static


def test_elements_attributes_and_text_are_written_as_react_writes_them():
    tree = html.Div([html.B("LV-BY-01", className="nsp-nowrap"), html.Br(), html.Small("Daugavpils"),
                     html.Td("3", colSpan=2, title="a \"quoted\" <title>")],
                    id={"type": "main-section-row", "code": "LV-BY-01"}, className="nsp-internal",
                    style={"width": 12, "opacity": 0.5, "zIndex": 3, "marginTop": 0, "--wall-label-px": "18px"},
                    **{"data-nsp-cat": "smuggling", "aria-hidden": True})
    assert markup(tree) == (
        '<div id="{&quot;code&quot;:&quot;LV-BY-01&quot;,&quot;type&quot;:&quot;main-section-row&quot;}" '
        'class="nsp-internal" style="width:12px;opacity:0.5;z-index:3;margin-top:0;--wall-label-px:18px" '
        'aria-hidden="true" data-nsp-cat="smuggling">'
        '<b class="nsp-nowrap">LV-BY-01</b><br><small>Daugavpils</small>'
        '<td colspan="2" title="a &quot;quoted&quot; &lt;title&gt;">3</td></div>')


def test_svg_attributes_keep_their_case_or_become_kebab_case():
    icon = svg.Svg(svg.Line(x1=1, x2=27.0, y1=7, y2=7, stroke="#2e9e44", strokeWidth=3, strokeDasharray="5 5",
                            strokeLinecap="round"), viewBox="0 0 28 14", width=28, className="nsp-legend-sym")
    assert markup(icon) == ('<svg class="nsp-legend-sym" viewBox="0 0 28 14" width="28">'
                            '<line stroke="#2e9e44" stroke-dasharray="5 5" stroke-linecap="round" '
                            'stroke-width="3" x1="1" x2="27" y1="7" y2="7"></line></svg>')


@pytest.mark.parametrize("hostile", ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>',
                                     '"><svg onload=alert(1)>', "</td></tr></table><b>x</b>"])
def test_a_hostile_text_or_value_is_text(hostile):
    out = markup(html.Td([hostile, html.Span("x", title=hostile)]))
    assert "<script" not in out and "<img" not in out and "<svg" not in out and "</table>" not in out
    assert out == f"<td>{_esc(hostile)}<span title=\"{_esc(hostile, True)}\">x</span></td>"


def _esc(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("'", "&#x27;") if quote else text


@pytest.mark.parametrize("href", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>", "vbscript:x"])
def test_a_script_or_data_address_is_refused(href):
    with pytest.raises(ValueError, match="address is refused"):
        markup(html.A("x", href=href))
    assert markup(html.A("x", href="/export/events.csv?window=24h")) == \
        '<a href="/export/events.csv?window=24h">x</a>'


def test_only_html_and_svg_components_are_static():
    with pytest.raises(TypeError, match="dash_core_components.Dropdown is not static markup"):
        markup(html.Div(dcc.Dropdown(id="x")))
    with pytest.raises(TypeError, match="would be lost"):
        static(html.Div("x", n_clicks=0, hidden=True))


def test_static_keeps_the_outer_element_and_is_one_component():
    legend = mapview.legend("main")
    out = static(legend)
    assert isinstance(out, Static) and out.tag == "div" and out.id == "main-legend" and out.className == "nsp-legend"
    assert out.html == markup(legend.children) and 'data-nsp-cat="unauthorised_border_crossing"' in out.html
    assert bool(out) and out.to_plotly_json()["namespace"] == "nsp_components"
    # the legend's 130-odd components are one in the page
    assert _count(legend) > 100 and _count(out) == 1


def _count(component) -> int:
    children = getattr(component, "children", None)
    kids = children if isinstance(children, (list, tuple)) else [children]
    return 1 + sum(_count(c) for c in kids if hasattr(c, "to_plotly_json"))


def test_the_pages_legend_is_made_once_per_kind_and_language_and_is_a_new_component_each_time():
    first, again = mapview.static_legend("main", lang="lv"), mapview.static_legend("main", lang="lv")
    assert first is not again and first.to_plotly_json() == again.to_plotly_json()
    assert first.to_plotly_json() == static(mapview.legend("main", lang="lv")).to_plotly_json()
    assert mapview.static_legend("wall", compact=True).html == markup(mapview.legend("wall", compact=True).children)
