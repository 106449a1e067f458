"""Latvia's border crossing points (geo/crossing_points.py): the list of the domain notes, the
land ones on their neighbour's border line, the committed file re-derived byte for byte."""

from __future__ import annotations

import json

import shapely
from pyproj import Transformer
from shapely.geometry import Point, shape

from geo import crossing_points as cp
from geo import derive


def test_the_list_is_the_domain_notes_and_says_what_is_approximate():
    fc = cp.derive()
    got = {(f["properties"]["name"], f["properties"]["kind"], f["properties"]["neighbour"])
           for f in fc["features"]}
    assert got == {("Terehova", "road", "RUS"), ("Grebņeva", "road", "RUS"), ("Pāternieki", "road", "BLR"),
                   ("Silene", "road", "BLR"), ("Zilupe", "rail", "RUS"), ("Indra", "rail", "BLR"),
                   ("Riga airport", "air", None), ("Riga port", "sea", None), ("Ventspils port", "sea", None),
                   ("Liepāja port", "sea", None)}
    for f in fc["features"]:
        p = f["properties"]
        assert p["approximate"] == (p["kind"] in ("road", "rail")), p["name"]  # hand-placed ones say so
        assert p["kind"] in cp.KINDS and ("approximate" in p["source"]) == p["approximate"]


def test_land_crossing_points_sit_on_their_neighbours_border_line():
    to_metric = Transformer.from_crs(4326, cp.METRIC, always_xy=True).transform
    lines = json.loads((cp.GEODATA_DIR / "border_lines.geojson").read_text(encoding="utf-8"))["features"]
    for f in cp.derive()["features"]:
        p = f["properties"]
        if not p["approximate"]:
            continue
        border = shapely.union_all([shape(x["geometry"]) for x in lines if x["properties"]["neighbour"] == p["neighbour"]])
        d = shapely.transform(Point(f["geometry"]["coordinates"]), to_metric, interleaved=False).distance(
            shapely.transform(border, to_metric, interleaved=False))
        assert d < 2, (p["name"], d)  # rounded to 5 decimals: about a metre
        assert p["moved_m"] < 5000, p  # the hand placement was near the line it was snapped to


def test_the_committed_file_is_what_derive_writes(tmp_path):
    out = tmp_path / "points.geojson"
    derive.write(cp.derive(), out)  # what `nsp sections derive` does
    assert out.read_bytes() == cp.DEFAULT_OUT.read_bytes()
