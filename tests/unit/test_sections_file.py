"""Reading and validating sections files (no database): GeoJSON, GeoPackage, Shapefile."""

import copy
import json

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import shape

from geo.sections import SectionFileError, read_sections
from nsp.errors import NspError
from nsp.settings import geo_settings

BOWTIE = {"type": "MultiPolygon", "coordinates": [[[[24, 57], [24.1, 57.1], [24.1, 57], [24, 57.1], [24, 57]]]]}


@pytest.fixture(scope="module")
def collection():
    return json.loads(geo_settings().sections_path.read_text(encoding="utf-8"))


def _write(tmp_path, coll, name="s.geojson"):
    p = tmp_path / name
    p.write_text(json.dumps(coll), encoding="utf-8")
    return p


def _refused(path) -> SectionFileError:
    with pytest.raises(SectionFileError) as info:
        read_sections(path)
    assert isinstance(info.value, NspError)
    assert str(path) in str(info.value)
    return info.value


def test_committed_file_reads(collection):
    sections = read_sections(geo_settings().sections_path)
    assert len(sections) == len(collection["features"])
    rix = next(s for s in sections if s.code == "LV-AIR-RIX")
    assert rix.line.geom_type == "MultiLineString" and rix.kind == "air" and rix.impact_level == "low"
    assert rix.length_km is None
    ru = next(s for s in sections if s.code == "LV-RU-01")
    assert ru.line.geom_type == "MultiLineString" and ru.area.geom_type == "MultiPolygon"
    assert ru.props["area_km2"] > 0  # unknown properties are kept


@pytest.mark.parametrize(
    "mutate, field, reason",
    [
        (lambda f: f["properties"].pop("name"), "name", "required"),
        (lambda f: f["properties"].update(kind="river"), "kind", "not one of"),
        (lambda f: f["properties"].update(impact_level="severe"), "impact_level", "not one of"),
        (lambda f: f["properties"].update(code="lv ru 3"), "code", "must match"),
        (lambda f: f["properties"].update(length_km=-3), "length_km", "non-negative"),
        (lambda f: f.update(geometry=BOWTIE), "geometry", "invalid geometry"),
        (lambda f: f.update(geometry={"type": "MultiPolygon", "coordinates": []}), "geometry", "empty"),
        (lambda f: f.update(geometry={"type": "Point", "coordinates": [24, 57]}), "geometry", "Point"),
        (lambda f: f["properties"].update(line=None), "line", "required"),
        (lambda f: f["properties"].update(line="LINESTRING (24 57, oops)"), "line", "cannot read"),
    ],
)
def test_a_bad_feature_is_named_with_its_field(tmp_path, collection, mutate, field, reason):
    coll = copy.deepcopy(collection)
    mutate(coll["features"][2])  # LV-RU-03, the third feature
    err = _refused(_write(tmp_path, coll))
    assert "feature 3" in str(err) and err.index == 3
    assert err.field == field and f"field {field!r}" in str(err)
    assert reason in str(err)
    if field != "code":
        assert err.code == "LV-RU-03" and "LV-RU-03" in str(err)


def test_air_section_needs_no_line(tmp_path, collection):
    coll = copy.deepcopy(collection)
    coll["features"][-1]["properties"]["line"] = None
    sections = read_sections(_write(tmp_path, coll))
    assert sections[-1].kind == "air" and sections[-1].line is None


def test_internal_section_with_a_level_is_refused(tmp_path, collection):
    coll = copy.deepcopy(collection)
    f = next(f for f in coll["features"] if f["properties"]["code"] == "LV-EE-02")
    f["properties"]["impact_level"] = "high"
    err = _refused(_write(tmp_path, coll))
    assert err.code == "LV-EE-02" and err.field == "impact_level" and "internal" in str(err)


def test_duplicate_code_names_both_features(tmp_path, collection):
    coll = copy.deepcopy(collection)
    coll["features"][5]["properties"]["code"] = coll["features"][1]["properties"]["code"]
    err = _refused(_write(tmp_path, coll))
    assert err.index == 6 and err.field == "code"
    assert "duplicate code (also feature 2)" in str(err)


def test_missing_field_in_the_whole_file(tmp_path, collection):
    coll = copy.deepcopy(collection)
    for f in coll["features"]:
        f["properties"].pop("kind")
    err = _refused(_write(tmp_path, coll))
    assert err.field == "kind"


def test_unknown_crs_is_refused(tmp_path, collection):
    coll = copy.deepcopy(collection)
    coll["crs"] = {"type": "name", "properties": {"name": "EPSG:999999"}}
    err = _refused(_write(tmp_path, coll))
    assert "unknown coordinate reference system 'EPSG:999999'" in str(err)


def test_wrong_crs_is_caught_by_its_area_of_use(tmp_path, collection):
    coll = copy.deepcopy(collection)  # degrees declared as metres of LKS-92
    coll["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3059"}}
    err = _refused(_write(tmp_path, coll))
    assert err.index == 1 and err.field == "geometry" and "area of use" in str(err)


def test_missing_file_and_unreadable_file(tmp_path):
    _refused(tmp_path / "nope.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{ not json", encoding="utf-8")
    assert "cannot read" in str(_refused(bad))


def _frames(collection, n=4):
    feats = collection["features"][:n]
    areas = gpd.GeoDataFrame(
        [{k: v for k, v in f["properties"].items() if k != "line"} for f in feats],
        geometry=[shape(f["geometry"]) for f in feats], crs=4326,
    ).to_crs(3059)
    lines = gpd.GeoDataFrame(
        {"code": [f["properties"]["code"] for f in feats]},
        geometry=[shape(f["properties"]["line"]) for f in feats], crs=4326,
    )
    return areas, lines


def test_geopackage_with_a_lines_layer_in_another_crs(tmp_path, collection):
    areas, lines = _frames(collection)
    gpkg = tmp_path / "sections.gpkg"
    areas.to_file(gpkg, layer="sections")
    lines.to_file(gpkg, layer="lines")
    sections = read_sections(gpkg)
    assert [s.code for s in sections] == list(areas["code"])
    want = shape(collection["features"][0]["geometry"])
    assert sections[0].area.symmetric_difference(want).area < 1e-6 * want.area  # back in 4326
    assert sections[0].line.equals_exact(shape(collection["features"][0]["properties"]["line"]), 1e-6)


def test_shapefile_with_a_sibling_lines_file(tmp_path, collection):
    areas, lines = _frames(collection)
    with pytest.warns(UserWarning):  # field names cut to 10 characters
        areas.to_file(tmp_path / "lv.shp")
    lines.to_file(tmp_path / "lv_lines.shp")
    sections = read_sections(tmp_path / "lv.shp")
    assert len(sections) == 4 and all(s.line is not None for s in sections)
    assert sections[0].regional_board == "Viļaka"  # read from the cut name regional_b
    assert [s.impact_level for s in sections] == [f["properties"]["impact_level"] for f in collection["features"][:4]]


def test_shapefile_without_crs_is_refused(tmp_path, collection):
    areas, lines = _frames(collection)
    areas.to_file(tmp_path / "lv.shp")
    lines.to_file(tmp_path / "lv_lines.shp")
    (tmp_path / "lv.prj").unlink()
    err = _refused(tmp_path / "lv.shp")
    assert "coordinate reference system" in str(err)


def test_line_as_wkt_text_in_a_geopackage(tmp_path, collection):
    areas, lines = _frames(collection, n=2)
    areas["line"] = [shapely.to_wkt(g) for g in lines.to_crs(3059).geometry]  # in the file's CRS
    gpkg = tmp_path / "wkt.gpkg"
    areas.to_file(gpkg)
    sections = read_sections(gpkg)
    assert sections[1].line.equals_exact(shape(collection["features"][1]["properties"]["line"]), 1e-6)
