"""Vector basemap tiles (Mapbox Vector Tiles, MVT) drawn to PNG on the server, with one plain style.

A centre's own basemap may be vector tiles (planetiler or tilemaker output, a Protomaps
extract, GDAL's MVT driver): the maps draw images, so :func:`render` decodes a tile with
``mapbox-vector-tile`` and draws it with Pillow — water, land cover and land use, roads and
railways, buildings, boundaries and place names — on a transparent 256 px image that lies over
the Natural Earth basemap and under the picture. Shapes are drawn at twice the size and
reduced (smooth edges); names are drawn at the final size, with a halo.

The layers are recognised by the names of the three common schemas — OpenMapTiles
(``water``, ``waterway``, ``landcover``, ``landuse``, ``park``, ``transportation``,
``building``, ``boundary``, ``place``), Shortbread (``ocean``, ``water_polygons``,
``water_lines``, ``land``, ``sites``, ``streets``, ``buildings``, ``boundaries``,
``place_labels``) and Protomaps (``earth``, ``water``, ``landcover``, ``landuse``, ``roads``,
``transit``, ``buildings``, ``boundaries``, ``places``) — and of nsp's own geodata folder
(``countries``, ``lakes``, ``rivers``, ``places``), with a feature's ``class`` or ``kind``
choosing among roads and land uses. Layers of other names are not drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

# Pillow and mapbox-vector-tile are imported when a vector file is used (most centres serve none)

SIZE = 256  # the served tile, in pixels
SCALE = 2  # shapes are drawn at SIZE * SCALE and reduced

# colours: muted, so the picture's sections and events stay the strongest marks on the map
LAND = (243, 241, 236, 255)
WATER = (181, 208, 232, 255)
WATERWAY = (156, 192, 224, 255)
GREEN = (214, 230, 200, 255)
URBAN = (233, 229, 222, 255)
BUILDING = (217, 210, 201, 255)
BUILDING_EDGE = (196, 187, 176, 255)
BOUNDARY = (150, 135, 165, 255)
RAIL = (150, 150, 150, 255)
CASING = (190, 182, 170, 255)
ROAD = {"major": (245, 196, 128, 255), "medium": (255, 255, 255, 255), "minor": (255, 255, 255, 255),
        "path": (205, 196, 184, 255)}
# width in px at zoom 12 (a line's casing is 2 px wider); × 2**((z - 12) / 2), within limits
ROAD_WIDTH = {"major": 2.6, "medium": 2.0, "minor": 1.1, "path": 0.7}
# the zoom from which each road class and each place class is drawn
ROAD_FROM = {"major": 5, "medium": 8, "minor": 11, "path": 13}
PLACE_FROM = {"city": 0, "town": 8, "village": 11, "hamlet": 13}
PLACE_PX = {"city": 13, "town": 11, "village": 10, "hamlet": 9}
BUILDINGS_FROM = 13
TEXT, HALO = (51, 51, 51, 255), (255, 255, 255, 230)

EARTH_LAYERS = {"earth", "countries"}
WATER_LAYERS = {"water", "ocean", "water_polygons", "lakes"}
WATERWAY_LAYERS = {"waterway", "water_lines", "rivers"}
LAND_LAYERS = {"landcover", "landuse", "park", "land", "sites"}
ROAD_LAYERS = {"transportation", "streets", "roads", "transit"}
BUILDING_LAYERS = {"building", "buildings"}
BOUNDARY_LAYERS = {"boundary", "boundaries"}
PLACE_LAYERS = {"place", "place_labels", "places"}

GREEN_KINDS = {"wood", "forest", "grass", "park", "meadow", "farmland", "scrub", "heath", "wetland",
               "nature_reserve", "national_park", "protected_area", "garden", "recreation_ground",
               "cemetery", "golf_course", "orchard", "vineyard", "allotments", "village_green", "pitch"}
MAJOR = {"motorway", "trunk", "highway", "motorway_link", "trunk_link"}
MEDIUM = {"primary", "secondary", "major_road", "medium_road", "primary_link", "secondary_link"}
PATH = {"path", "track", "footway", "cycleway", "bridleway", "steps", "pedestrian"}
RAIL_KINDS = {"rail", "transit", "railway", "light_rail", "subway", "tram", "narrow_gauge"}


class VectorTileError(ValueError):
    """A vector tile that cannot be decoded; the message says why."""


@dataclass(frozen=True)
class Drawn:
    """What a tile's drawing held, for the log and the tests: shapes per role and the names."""

    png: bytes
    counts: dict
    names: tuple[str, ...]


def _kind(props: dict) -> str:
    return str(props.get("class") or props.get("kind") or props.get("type") or "").lower()


def _road_class(layer: str, props: dict) -> str | None:
    """major, medium, minor, path or rail for a feature of a road layer."""
    kind = _kind(props)
    detail = str(props.get("kind_detail") or props.get("subclass") or "").lower()
    if layer == "transit" or kind in RAIL_KINDS or detail in RAIL_KINDS:
        return "rail"
    if kind in MAJOR or detail in MAJOR:
        return "major"
    if kind in MEDIUM or detail in MEDIUM:
        return "medium"
    if kind in PATH or detail in PATH:
        return "path"
    if kind in ("ferry", "aerialway", "pier", "busway", "bus_guideway"):
        return None
    return "minor"


def _place_class(props: dict) -> str:
    kind = _kind(props)
    if kind in ("city", "capital", "state_capital", "country", "state", "region"):
        return "city"
    if kind in ("town", "village", "hamlet"):
        return kind
    if kind in ("suburb", "neighbourhood", "quarter", "locality", "isolated_dwelling"):
        return "hamlet" if kind != "locality" else _locality(props)
    pop = props.get("pop_max") or props.get("population") or 0
    try:
        pop = float(pop)
    except (TypeError, ValueError):
        pop = 0
    return "city" if pop >= 100_000 else "town" if pop >= 10_000 else "village" if pop > 0 else "hamlet"


def _locality(props: dict) -> str:
    """Protomaps' localities by their population rank (0 to 17)."""
    rank = props.get("population_rank")
    if not isinstance(rank, int | float):
        return "village"
    return "city" if rank >= 10 else "town" if rank >= 8 else "village" if rank >= 6 else "hamlet"


def _parts(geometry: dict, kind: str) -> list:
    """The parts of a GeoJSON geometry of ``kind`` (Polygon, LineString or Point) as lists."""
    t, c = geometry.get("type"), geometry.get("coordinates")
    if not c:
        return []
    if t == kind:
        return [c]
    if t == "Multi" + kind:
        return list(c)
    return []


def _width(role: str, z: int) -> float:
    factor = min(max(2 ** ((z - 12) / 2), 0.35), 3.0)
    return ROAD_WIDTH[role] * factor


def _joint(width: float) -> str | None:
    return "curve" if width >= 8 else None


def render(data: bytes, z: int) -> Drawn:
    """The MVT tile ``data`` (not compressed) at zoom ``z`` drawn to a PNG of SIZE px."""
    import mapbox_vector_tile
    from PIL import Image, ImageDraw

    try:
        layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    except Exception as exc:  # the protobuf decoder raises its own DecodeError, or others on nonsense
        raise VectorTileError(f"not a Mapbox Vector Tile ({type(exc).__name__}: {exc})") from None

    big = SIZE * SCALE
    fills: dict[str, list] = {"earth": [], "green": [], "urban": [], "water": [], "building": []}
    lines: dict[str, list] = {"waterway": [], "boundary": [], "rail": [], "path": [], "minor": [], "medium": [],
                              "major": []}
    places: list[tuple[str, str, float, float]] = []
    for name, layer in layers.items():
        extent = layer.get("extent") or 4096
        k = big / extent

        def px(ring, k=k):
            return [(x * k, y * k) for x, y in ring]

        for f in layer.get("features", ()):
            g, props = f.get("geometry") or {}, f.get("properties") or {}
            polys = _parts(g, "Polygon")
            strings = _parts(g, "LineString")
            if name in EARTH_LAYERS:
                fills["earth"] += [[px(r) for r in p] for p in polys]
            elif name in WATER_LAYERS:
                fills["water"] += [[px(r) for r in p] for p in polys]
                lines["waterway"] += [px(s) for s in strings]  # Protomaps keeps rivers in 'water'
            elif name in WATERWAY_LAYERS:
                lines["waterway"] += [px(s) for s in strings]
            elif name in LAND_LAYERS:
                role = "green" if name == "park" or _kind(props) in GREEN_KINDS else "urban"
                fills[role] += [[px(r) for r in p] for p in polys]
            elif name in BUILDING_LAYERS and z >= BUILDINGS_FROM:
                fills["building"] += [[px(r) for r in p] for p in polys]
            elif name in ROAD_LAYERS:
                role = _road_class(name, props)
                if role and z >= ROAD_FROM.get(role, 0):
                    lines[role] += [px(s) for s in strings]
            elif name in BOUNDARY_LAYERS:
                if props.get("maritime") not in (1, True, "1", "yes"):  # the sea's are not drawn
                    lines["boundary"] += [px(s) for s in strings]
            elif name in PLACE_LAYERS:
                label = props.get("name:latin") or props.get("name") or props.get("name_en")
                cls = _place_class(props)
                if label and z >= PLACE_FROM[cls]:
                    for pt in _parts(g, "Point"):
                        places.append((str(label), cls, pt[0] * k / SCALE, pt[1] * k / SCALE))

    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    colours = {"earth": LAND, "green": GREEN, "urban": URBAN, "water": WATER, "building": BUILDING}
    for role in ("earth", "urban", "green", "water", "building"):
        if not fills[role]:
            continue
        # one mask per role: each polygon's outer ring on, its holes (islands in a lake) off
        mask = Image.new("L", (big, big), 0)
        m = ImageDraw.Draw(mask)
        for rings in fills[role]:
            if len(rings[0]) >= 3:
                m.polygon(rings[0], fill=255)
            for hole in rings[1:]:
                if len(hole) >= 3:
                    m.polygon(hole, fill=0)
        img.paste(Image.new("RGBA", (big, big), colours[role]), (0, 0), mask)
        if role == "building":
            for rings in fills[role]:
                if len(rings[0]) >= 3:
                    draw.line([*rings[0], rings[0][0]], fill=BUILDING_EDGE, width=SCALE)
    for s in lines["waterway"]:
        draw.line(s, fill=WATERWAY, width=max(1, round(_width("minor", z) * SCALE)), joint=_joint(_width("minor", z) * SCALE))
    for s in lines["boundary"]:
        draw.line(s, fill=BOUNDARY, width=SCALE)
    for s in lines["rail"]:
        draw.line(s, fill=RAIL, width=max(1, round(0.9 * SCALE)))
    for role in ("path", "minor", "medium", "major"):  # the casings under all the fills of a class
        w = _width(role, z) * SCALE
        # round joints only where a line is wide enough to show a notch (they cost a pie slice a vertex)
        for s in lines[role]:
            draw.line(s, fill=CASING, width=max(1, round(w + 2 * SCALE)), joint=_joint(w + 2 * SCALE))
        for s in lines[role]:
            draw.line(s, fill=ROAD[role], width=max(1, round(w)), joint=_joint(w))
    img = img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    names = _labels(img, places)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    counts = {r: len(v) for r, v in {**fills, **lines}.items() if v}
    return Drawn(out.getvalue(), counts, names)


def _labels(img, places: list[tuple[str, str, float, float]]) -> tuple[str, ...]:
    """Place names beside their point, largest places first, none over another."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    order = {"city": 0, "town": 1, "village": 2, "hamlet": 3}
    taken: list[tuple[float, float, float, float]] = []
    drawn = []
    for label, cls, x, y in sorted(places, key=lambda p: order[p[1]]):
        if not (0 <= x < SIZE and 0 <= y < SIZE):
            continue  # the neighbouring tile's buffer: that tile draws it
        font = _font(PLACE_PX[cls])
        left, top, right, bottom = draw.textbbox((x + 4, y), label, font=font, anchor="lm", stroke_width=2)
        if any(left < b[2] and b[0] < right and top < b[3] and b[1] < bottom for b in taken):
            continue
        taken.append((left, top, right, bottom))
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=TEXT)
        draw.text((x + 4, y), label, font=font, anchor="lm", fill=TEXT, stroke_width=2, stroke_fill=HALO)
        drawn.append(label)
    return tuple(drawn)


_FONTS: dict[int, object] = {}
# DejaVu Sans (fonts-dejavu-core, in the image beside Chromium): every letter of the Baltic
# names (ā, ē, ķ, ļ, ņ, š, ž, ė, ų). Without it, Pillow's own font, which has no Š or Ž.
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")


def _font(size: int):
    from PIL import ImageFont

    if size not in _FONTS:
        for name in FONT_FILES:
            try:
                _FONTS[size] = ImageFont.truetype(name, size)
                break
            except OSError:
                continue
        else:
            _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]
