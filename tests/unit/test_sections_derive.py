"""The derived Latvian sections: re-derivation matches the committed file; the partition
holds (no gaps, no overlaps) and covers land, territorial sea and the 5 km strip."""

import json

import pytest
import shapely
from shapely.geometry import shape

from geo import derive

COMMITTED = derive.DEFAULT_OUT


@pytest.fixture(scope="module")
def committed():
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def derived():
    return derive.derive()


def _metric(geom):
    return derive.gpd.GeoSeries([geom], crs=4326).to_crs(derive.METRIC).iloc[0]


@pytest.fixture(scope="module")
def areas_m(committed):
    return {f["properties"]["code"]: _metric(shape(f["geometry"])) for f in committed["features"]}


def test_rederiving_gives_the_committed_file(committed, derived):
    assert [f["properties"]["code"] for f in derived["features"]] == [
        f["properties"]["code"] for f in committed["features"]
    ]
    for new, old in zip(derived["features"], committed["features"], strict=False):
        pn, po = new["properties"], old["properties"]
        for key in ("name", "kind", "neighbour", "regional_board", "impact_level", "length_km"):
            assert pn[key] == po[key], (po["code"], key)
        assert pn["area_km2"] == pytest.approx(po["area_km2"], rel=1e-3, abs=0.2), po["code"]
        a, b = shape(new["geometry"]), shape(old["geometry"])
        assert a.symmetric_difference(b).area <= 1e-3 * b.area, po["code"]


def test_section_counts_codes_and_lengths(committed):
    props = [f["properties"] for f in committed["features"]]
    by_prefix = {}
    for p in props:
        by_prefix.setdefault(p["code"].rsplit("-", 1)[0], []).append(p)
    assert len(by_prefix["LV-RU"]) >= 6
    assert len(by_prefix["LV-BY"]) >= 4
    assert len(by_prefix["LV-SEA"]) >= 4
    assert [p["code"] for p in by_prefix["LV-RU"]] == [f"LV-RU-{i:02d}" for i in range(1, len(by_prefix["LV-RU"]) + 1)]
    for p in props:
        if p["kind"] == "air":  # the runway as its line, no length
            assert p["code"] == "LV-AIR-RIX" and p["length_km"] is None
            assert 3.1 < _metric(shape(p["line"])).length / 1000 < 3.3
            continue
        assert 20 <= p["length_km"] <= 60, p["code"]
        line = shape(p["line"])
        assert line.geom_type == "MultiLineString" and line.is_valid
        assert _metric(line).length / 1000 == pytest.approx(p["length_km"], abs=0.1)
        if p["kind"] == "land-internal":
            assert p["impact_level"] is None and p["neighbour"] in ("EST", "LTU")
        else:
            assert p["impact_level"] in ("low", "medium", "high", "critical")
            assert p["impact_reason"]
    assert len({p["name"] for p in props}) == len(props), "names are unique"


def test_russian_border_runs_north_to_south_and_belarusian_west_to_east(committed):
    lines = {f["properties"]["code"]: shape(f["properties"]["line"]) for f in committed["features"]
             if f["properties"]["line"]}
    ru = [lines[f"LV-RU-{i:02d}"].centroid.y for i in range(1, 7)]
    by = [lines[f"LV-BY-{i:02d}"].centroid.x for i in range(1, 5)]
    assert ru == sorted(ru, reverse=True)
    assert by == sorted(by)
    # consecutive sections meet end to start
    for a, b in zip(range(1, 6), range(2, 7), strict=False):
        end = lines[f"LV-RU-{a:02d}"].geoms[-1].coords[-1]
        start = lines[f"LV-RU-{b:02d}"].geoms[0].coords[0]
        assert shapely.Point(end).distance(shapely.Point(start)) < 1e-6


def test_areas_partition_land_territorial_sea_and_strip(areas_m):
    geodata = derive.read_geodata()
    countries = geodata["countries"].set_index("iso_a3").geometry
    union = shapely.union_all(list(areas_m.values()))
    total = sum(a.area for a in areas_m.values())
    # no overlaps: the sum of the areas equals the area of their union
    assert total == pytest.approx(union.area, rel=1e-3)
    codes = sorted(areas_m)
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            assert areas_m[a].intersection(areas_m[b]).area < 1e4, (a, b)  # < 1 ha
    # no gaps: Latvia's land is covered ...
    latvia = countries["LVA"]
    assert latvia.difference(union).area < 1e-4 * latvia.area
    # ... and the 5 km strip inside Russia and Belarus ...
    lines = geodata["border_lines"].set_index("neighbour").geometry
    for iso in ("RUS", "BLR"):
        strip = lines[iso].buffer(derive.STRIP_M - 50).intersection(countries[iso])
        assert strip.area > 0
        assert strip.difference(union).area < 1e-3 * strip.area, iso
    # ... and no further than 5 km (plus generalisation) into them
    for iso in ("RUS", "BLR"):
        inside = union.intersection(countries[iso])
        assert inside.area < 1.1 * lines[iso].length * derive.STRIP_M, iso
    for iso in ("EST", "LTU"):  # internal neighbours: nothing on their land
        assert union.intersection(countries[iso].buffer(-100)).area < 1e4, iso
    # ... and the sea within 12 nautical miles off the coast (away from the neighbours)
    coast = lines["SEA"]
    near_coast = coast.buffer(derive.TERRITORIAL_SEA_M - 100).difference(
        shapely.union_all(list(countries.values)).buffer(100)
    )
    neighbours = shapely.union_all([countries["EST"], countries["LTU"], *derive.approx_coasts().values()])
    away = near_coast.difference(neighbours.buffer(30_000))
    assert away.difference(union).area < 1e-3 * away.area
    # nothing beyond 12 nautical miles from the coast except land and the strip
    far = union.difference(coast.buffer(derive.TERRITORIAL_SEA_M + 10)).difference(
        shapely.union_all(list(countries.values))
    )
    assert far.area < 1e6


def test_air_section_is_carved_out_around_riga_airport(areas_m):
    air = areas_m["LV-AIR-RIX"]
    assert air.area == pytest.approx(3.1416 * derive.AIR_RADIUS_M**2, rel=0.02)
    for code, a in areas_m.items():
        if code != "LV-AIR-RIX":
            assert a.intersection(air).area < 1.0, code
