"""The air layer's labels, features and symbols (geo/air.py, geo/symbology.py AIR_STYLE)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from geo import air, symbology

AT = datetime(2026, 11, 20, 10, 10, tzinfo=UTC)


def test_altitude_labels_as_a_pilot_and_a_drone_operator_read_them():
    label = air.altitude_label
    assert label("aircraft", {"altitude_ft": 37000}) == "FL370"
    assert label("aircraft", {"altitude_ft": 6000}) == "FL060"
    assert label("aircraft", {"altitude_ft": 3500}) == "3500 ft"
    assert label("aircraft", {"altitude_ft": 0, "on_ground": True}) == "GND"
    assert label("aircraft", {}) is None and label("aircraft", {"altitude_ft": True}) is None
    assert label("uav", {"altitude_m": 118, "height_m": 80}) == "118 m"
    assert label("uav", {"height_m": 80.4}) == "80 m AGL"
    assert label("uav", {"altitude_ft": 387}) is None  # a drone's altitude is said in metres


def row(kind, attrs, trail=((27.2, 55.8), (27.2, 55.84))):
    return {"object_id": "RID:X" if kind == "uav" else "ICAO:502CB1", "kind": kind, "name": None,
            "callsign": "X" if kind == "uav" else "BTI6RK",
            "trail": json.dumps({"type": "LineString" if len(trail) > 1 else "Point",
                                 "coordinates": [list(p) for p in trail] if len(trail) > 1 else list(trail[0])}),
            "observed_at": AT - timedelta(minutes=2), "lon": trail[-1][0], "lat": trail[-1][1],
            "speed_kn": 20.0, "course_deg": 0.0, "attrs": attrs}


def test_a_uav_brings_its_operator_and_the_line_to_it_an_aircraft_none():
    feats = air.features([row("uav", {"altitude_m": 118, "operator_lon": 27.22, "operator_lat": 55.79}),
                          row("aircraft", {"altitude_ft": 37000, "operator_lon": 1, "operator_lat": 2})], AT)
    kinds = [(f["properties"]["kind"], f["geometry"]["type"]) for f in feats]
    assert kinds == [("uav", "LineString"), ("uav", "Point"), ("operator", "LineString"), ("operator", "Point"),
                     ("aircraft", "LineString"), ("aircraft", "Point")]
    link = feats[2]["geometry"]["coordinates"]
    assert link == [[27.22, 55.79], [27.2, 55.84]]  # from the operator to the drone's last fix
    drone = feats[1]["properties"]
    assert (drone["cs"], drone["alt"], drone["age"]) == ("X", "118 m", 2)


def test_one_fix_is_a_point_without_trail_and_no_operator_without_one():
    feats = air.features([row("uav", {}, trail=((27.2, 55.8),))], AT)
    assert [(f["properties"]["kind"], f["geometry"]["type"]) for f in feats] == [("uav", "Point")]


def test_aircraft_and_uavs_have_shapes_no_event_or_own_unit_uses_and_differ_from_each_other():
    style = symbology.AIR_STYLE
    assert style["uav"]["shape"] != style["aircraft"]["shape"]
    assert not symbology.AIR_SHAPES & symbology.EVENT_SHAPES
    assert symbology.OWN_UNIT_STYLE["shape"] not in symbology.AIR_SHAPES
    assert symbology.for_browser()["air"] == style
