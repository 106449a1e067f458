"""Leaflet inlined into a Folium page, so the page opens with no network at all.

Folium's default template links Leaflet, jQuery, Bootstrap and Font Awesome from
CDNs. The snapshot map needs Leaflet only: :func:`strip_cdn` empties the map's
JS/CSS lists and :func:`inline_leaflet` puts the vendored copy
(``static/leaflet``, BSD-2-Clause) into the page head, its images as ``data:`` URIs.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

import folium
from branca.element import Element

STATIC = Path(__file__).resolve().parent / "static"
LEAFLET = STATIC / "leaflet"

# Any external URL; the SVG namespace is a name, not a link, and stays.
EXTERNAL_URL = re.compile(r"(?i)(?:\bhttps?:)?//(?!www\.w3\.org/)[a-z0-9.-]+\.[a-z]{2,}")


@lru_cache
def leaflet_css() -> str:
    css = (LEAFLET / "leaflet.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)

    def data_uri(m: re.Match) -> str:
        png = (LEAFLET / m.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode() + ")"

    return re.sub(r"url\((images/[a-z0-9-]+\.png)\)", data_uri, css)


@lru_cache
def leaflet_js() -> str:
    js = (LEAFLET / "leaflet.js").read_text()
    # The attribution prefix links to leafletjs.com; keep the credit as plain text.
    js = js.replace('<a href="https://leafletjs.com" title="A JavaScript library for interactive maps">', "<span>")
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    js = js.replace("https://leafletjs.com", "leafletjs.com")
    return js.replace("Leaflet</a>", "Leaflet</span>")


def strip_cdn(m: folium.Map) -> None:
    """No CDN links: Leaflet comes inline, and nothing else is used."""
    m.default_js = []
    m.default_css = []


def inline_leaflet(m: folium.Map) -> None:
    head = m.get_root().header
    head.add_child(Element(f"<style>{leaflet_css()}</style>"), name="nsp_leaflet_css", index=0)
    # A </script> inside the library would end the element early; Leaflet has none.
    assert "</script" not in leaflet_js()
    head.add_child(Element(f"<script>{leaflet_js()}</script>"), name="nsp_leaflet_js", index=1)


def external_urls(text: str) -> list[str]:
    """Every external URL in ``text`` (used by the tests and as a last check)."""
    return EXTERNAL_URL.findall(text)
