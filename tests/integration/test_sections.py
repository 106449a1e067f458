"""Border sections in PostGIS: the partition, point lookup, loading, reloading, levels, CLI."""

import copy
import json

import pytest
from click.testing import CliRunner

from geo import sections
from geo.derive import DEFAULT_OUT
from geo.sections import SectionError, SectionFileError
from nsp.cli import cli
from nsp.settings import geo_settings

# Points checked against the 1:10m geodata (distances from its lines, EPSG:3059).
ZILUPE = (28.12, 56.39)  # on the Russian border
KRASLAVA = (27.17, 55.90)  # 7.6 km from the Belarusian border (the Daugava)
GULF_OF_RIGA = (23.90, 57.15)  # 12.2 km off the coast; 23.9 57.3 is 26 km off: outside 12 nm
RIX = (23.97938, 56.922)
TARTU = (26.71, 58.38)  # Estonia


@pytest.fixture(scope="module")
def collection():
    return json.loads(geo_settings().sections_path.read_text(encoding="utf-8"))


def _snapshot(conn):
    return conn.execute(
        "SELECT code, name, impact_level, md5(ST_AsEWKB(area)::text) AS area FROM border_section ORDER BY code"
    ).fetchall()


def test_partition_in_postgis(conn, collection):
    row = conn.execute(
        """SELECT count(*) AS n, sum(ST_Area(area_m)) AS total, ST_Area(ST_Union(area_m)) AS union_area,
                  bool_and(ST_IsValid(area) AND ST_IsValid(area_m)) AS valid,
                  bool_and(GeometryType(area) = 'MULTIPOLYGON') AS multi,
                  min(ST_SRID(area_m)) AS srid
             FROM border_section"""
    ).fetchone()
    assert row["n"] == len(collection["features"])
    assert row["valid"] and row["multi"] and row["srid"] == 3059
    assert row["total"] == pytest.approx(row["union_area"], rel=1e-3)
    overlap = conn.execute(
        """SELECT coalesce(sum(ST_Area(ST_Intersection(a.area_m, b.area_m))), 0) AS m2
             FROM border_section a JOIN border_section b
               ON a.code < b.code AND ST_Intersects(a.area_m, b.area_m)"""
    ).fetchone()["m2"]
    assert overlap < 1e-4 * row["total"]
    assert conn.execute("SELECT value FROM nsp_config WHERE key = 'metric_srid'").fetchone()["value"] == "3059"


@pytest.mark.parametrize(
    "point, expected",
    [(ZILUPE, "LV-RU-"), (KRASLAVA, "LV-BY-"), (GULF_OF_RIGA, "LV-SEA-"), (RIX, "LV-AIR-RIX"), (TARTU, None)],
)
def test_locate(conn, point, expected):
    hit = sections.locate(conn, *point)
    if expected is None:
        assert hit is None
    else:
        assert hit["code"].startswith(expected)
        assert 0 <= hit["distance_m"] < 25_000


def test_initial_levels_are_recorded_by_system(conn):
    rows = conn.execute(
        """SELECT s.code, s.kind, s.impact_level, c.to_level, c.from_level, c.decided_by, c.reason
             FROM border_section s LEFT JOIN impact_level_change c ON c.section_code = s.code"""
    ).fetchall()
    for r in rows:
        if r["kind"] == "land-internal":
            assert r["impact_level"] is None and r["to_level"] is None
        else:
            assert r["impact_level"] == r["to_level"] and r["from_level"] is None
            assert r["decided_by"] == "system" and r["reason"]
    levels = {r["code"]: r["impact_level"] for r in rows}
    assert levels["LV-BY-02"] == "high" and levels["LV-SEA-01"] == "low"


def test_events_get_section_and_distance_from_the_trigger(conn):
    ids = {}
    for ref, (lon, lat) in {"z": ZILUPE, "k": KRASLAVA, "t": TARTU}.items():
        ids[ref] = conn.execute(
            """INSERT INTO event (source, source_ref, category, occurred_at, geom)
               VALUES ('test', %s, 'other', now(), ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id""",
            (ref, lon, lat),
        ).fetchone()["id"]
    got = {r["source_ref"]: r for r in conn.execute(
        "SELECT source_ref, section_code, distance_to_border_m FROM event")}
    assert got["z"]["section_code"].startswith("LV-RU-") and got["z"]["distance_to_border_m"] < 5_000
    assert got["k"]["section_code"].startswith("LV-BY-")
    assert 5_000 < got["k"]["distance_to_border_m"] < 10_000
    assert got["t"]["section_code"] is None and got["t"]["distance_to_border_m"] is None


def test_bad_file_is_refused_whole_and_changes_nothing(db_url, conn, tmp_path, collection):
    before = _snapshot(conn)
    coll = copy.deepcopy(collection)
    coll["features"][0]["properties"]["name"] = "renamed"  # a good change before the bad one
    coll["features"][-1]["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [[[[24, 57], [24.1, 57.1], [24.1, 57], [24, 57.1], [24, 57]]]],
    }
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(coll), encoding="utf-8")
    with pytest.raises(SectionFileError) as info:
        sections.load(db_url, bad, actor="tester")
    assert f"feature {len(coll['features'])} (code LV-AIR-RIX)" in str(info.value)
    assert "field 'geometry'" in str(info.value)
    assert _snapshot(conn) == before


def test_database_error_mid_load_rolls_back(db_url, conn, tmp_path, collection):
    before = _snapshot(conn)
    coll = copy.deepcopy(collection)
    coll["features"][0]["properties"]["name"] = "renamed"
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(coll), encoding="utf-8")
    # this test's own database: the last section's upsert fails, after 35 have been written
    conn.execute("""CREATE FUNCTION fail_rix() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'disk full'; END $$""")
    conn.execute("""CREATE TRIGGER fail_rix BEFORE INSERT OR UPDATE ON border_section FOR EACH ROW
                    WHEN (NEW.code = 'LV-AIR-RIX') EXECUTE FUNCTION fail_rix()""")
    with pytest.raises(Exception, match="disk full"):
        sections.load(db_url, path)
    assert _snapshot(conn) == before


def test_bad_metric_srid_is_refused(db_url, conn, tmp_path, collection):
    conn.execute("DELETE FROM spatial_ref_sys WHERE srid = 3857")  # this test's own database
    before = _snapshot(conn)
    coll = copy.deepcopy(collection)
    coll["features"][0]["properties"]["name"] = "renamed"
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(coll), encoding="utf-8")
    with pytest.raises(SectionError, match="unknown to PostGIS"):
        sections.load(db_url, path, metric_srid=3857)  # known to PROJ, deleted from PostGIS below
    assert _snapshot(conn) == before
    with pytest.raises(SectionError, match="not a projected CRS in metres"):
        sections.load(db_url, path, metric_srid=4326)
    assert _snapshot(conn) == before


def test_length_is_measured_when_the_file_has_none(db_url, conn, tmp_path, collection):
    coll = copy.deepcopy(collection)
    for f in coll["features"]:
        f["properties"].pop("length_km")
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(coll), encoding="utf-8")
    conn.execute("DELETE FROM border_section")
    sections.load(db_url, path)
    rows = {r["code"]: r["length_km"] for r in sections.list_sections(conn)}
    want = {f["properties"]["code"]: f["properties"]["length_km"] for f in collection["features"]}
    for code, km in want.items():
        assert rows[code] == (None if km is None else pytest.approx(km, abs=0.1)), code


def test_reload_replaces_keeps_decided_levels_and_reassigns(db_url, conn, tmp_path, collection):
    eid = conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom)
           VALUES ('test', 'e1', 'other', now(), ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id""",
        ZILUPE,
    ).fetchone()["id"]
    old_code = conn.execute("SELECT section_code FROM event WHERE id = %s", (eid,)).fetchone()["section_code"]
    sections.set_impact_level(conn, "LV-RU-03", "critical", "duty officer", "exercise")
    coll = copy.deepcopy(collection)
    # drop the section holding the event and rename another
    coll["features"] = [f for f in coll["features"] if f["properties"]["code"] != old_code]
    for f in coll["features"]:
        if f["properties"]["code"] == "LV-RU-03":
            f["properties"]["name"] = "Grebņeva North"
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(coll), encoding="utf-8")
    result = sections.load(db_url, path, actor="tester")
    assert result.removed == [old_code] and result.inserted == []
    assert result.events_relocated == 1 and result.levels_recorded == 0
    ru3 = conn.execute("SELECT name, impact_level FROM border_section WHERE code = 'LV-RU-03'").fetchone()
    assert ru3 == {"name": "Grebņeva North", "impact_level": "critical"}  # decided level kept
    ev = conn.execute("SELECT section_code FROM event WHERE id = %s", (eid,)).fetchone()
    assert ev["section_code"] is None  # its area is gone
    # reloading the full file brings the section back, with its initial level
    result = sections.load(db_url, geo_settings().sections_path, actor="tester")
    assert result.inserted == [old_code] and result.levels_recorded == 1
    ev = conn.execute("SELECT section_code FROM event WHERE id = %s", (eid,)).fetchone()
    assert ev["section_code"] == old_code
    hist = sections.history(conn, old_code)
    assert hist[0]["decided_by"] == "tester"
    audit = conn.execute("SELECT actor FROM audit_log WHERE action = 'sections_load' ORDER BY id").fetchall()
    assert [a["actor"] for a in audit][-2:] == ["tester", "tester"]


def test_reload_assigns_exactly_as_nsp_locate(db_url, conn):
    conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom)
           SELECT 'grid', g::text, 'other', now(),
                  ST_SetSRID(ST_MakePoint(20.8 + (g % 40) * 0.19, 55.6 + (g / 40) * 0.1), 4326)
             FROM generate_series(0, 1039) g"""
    )
    conn.execute("UPDATE event SET section_code = 'STALE', distance_to_border_m = -1")
    result = sections.load(db_url, geo_settings().sections_path)
    assert result.events_relocated == 1040
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE e.section_code IS NOT NULL) AS located,
                  count(*) FILTER (WHERE l.section_code IS DISTINCT FROM e.section_code
                                   OR l.distance_m IS DISTINCT FROM e.distance_to_border_m) AS differ
             FROM event e, LATERAL nsp_locate(e.geom) l"""
    ).fetchone()
    assert row["differ"] == 0 and 500 < row["located"] < 1040


def test_reload_reassigns_positions_and_patrols(db_url, conn, tmp_path, collection):
    conn.execute(
        """INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code)
           VALUES ('t', 'boat1', 'own', now(), ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'WRONG')""",
        GULF_OF_RIGA,
    )
    conn.execute(
        """INSERT INTO patrol (source, source_ref, unit, started_at, ended_at, track)
           VALUES ('t', 'p1', 'u', now(), now(),
                   ST_Multi(ST_SetSRID(ST_MakeLine(ST_MakePoint(27.17, 55.90), ST_MakePoint(27.30, 55.85)), 4326)))"""
    )
    conn.execute("UPDATE patrol SET section_codes = '{}'")
    result = sections.load(db_url, geo_settings().sections_path)
    assert result.positions_relocated == 1 and result.patrols_relocated == 1
    pos = conn.execute("SELECT section_code FROM asset_position").fetchone()["section_code"]
    assert pos.startswith("LV-SEA-")
    codes = conn.execute("SELECT section_codes FROM patrol").fetchone()["section_codes"]
    assert codes and all(c.startswith("LV-BY-") for c in codes)


def test_set_impact_level_validates_and_records(conn):
    ch = sections.set_impact_level(conn, "LV-BY-01", "HIGH", "anna", "three groups this week")
    assert ch["from_level"] == "medium" and ch["to_level"] == "high" and ch["decided_by"] == "anna"
    assert conn.execute("SELECT impact_level FROM border_section WHERE code='LV-BY-01'").fetchone()["impact_level"] == "high"
    hist = sections.history(conn, "LV-BY-01")
    assert [h["to_level"] for h in hist] == ["high", "medium"]
    assert conn.execute(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'impact_level_change' AND object = 'LV-BY-01'"
    ).fetchone()["n"] == 1
    for args, msg in [
        (("LV-BY-01", "high", "anna", "  "), "reason"),
        (("LV-BY-01", "severe", "anna", "x"), "not one of"),
        (("LV-EE-01", "high", "anna", "x"), "internal"),
        (("LV-XX-99", "high", "anna", "x"), "no border section"),
    ]:
        with pytest.raises(SectionError, match=msg):
            sections.set_impact_level(conn, *args)
    assert len(sections.history(conn, "LV-BY-01")) == 2


def test_set_impact_level_under_a_user_scope(db_url, conn):
    from nsp.access import Scope, connection

    with connection(Scope(user="olga", role="watch_officer")) as c:
        ch = sections.set_impact_level(c, "LV-RU-05", "high", "olga", "convoy reported")
    assert ch["to_level"] == "high"
    with connection(Scope(user="ivars", role="sector_commander", sections=("LV-RU-05",))) as c:
        with pytest.raises(SectionError, match="may not change"):
            sections.set_impact_level(c, "LV-RU-05", "low", "ivars", "calm week")
    with connection(Scope(user="olga", role="watch_officer", sections=("LV-BY-01",))) as c:
        with pytest.raises(SectionError, match="no border section"):  # outside her scope
            sections.set_impact_level(c, "LV-RU-05", "low", "olga", "calm week")
    level = conn.execute("SELECT impact_level FROM border_section WHERE code = 'LV-RU-05'").fetchone()
    assert level["impact_level"] == "high"


def test_list_sections(conn, collection):
    rows = sections.list_sections(conn)
    assert [r["code"] for r in rows] == sorted(f["properties"]["code"] for f in collection["features"])
    ru1 = next(r for r in rows if r["code"] == "LV-RU-01")
    assert ru1["neighbour"] == "RUS" and ru1["regional_board"] == "Viļaka" and 20 <= ru1["length_km"] <= 60


# ------------------------------------------------------------------------------ CLI


def _run(*args):
    return CliRunner().invoke(cli, ["sections", *args], catch_exceptions=False)


def test_cli_list_locate_set_level_history(db_url):
    r = _run("list", "--json")
    assert r.exit_code == 0
    assert {x["code"] for x in json.loads(r.output)} >= {"LV-RU-01", "LV-BY-04", "LV-SEA-04", "LV-AIR-RIX"}
    r = _run("list")
    assert r.exit_code == 0 and "LV-BY-02" in r.output and "Krāslava" in r.output
    r = _run("locate", str(ZILUPE[0]), str(ZILUPE[1]), "--json")
    hit = json.loads(r.output)
    assert hit["code"].startswith("LV-RU-") and hit["distance_m"] >= 0
    r = _run("locate", *map(str, TARTU))
    assert r.exit_code == 0 and r.output.strip() == "none"
    r = _run("locate", *map(str, KRASLAVA))
    assert r.output.startswith("LV-BY-") and "m from its border line" in r.output
    r = _run("set-level", "LV-SEA-02", "medium", "--reason", "vessel sightings", "--actor", "jan")
    assert r.exit_code == 0 and "low -> medium by jan" in r.output
    r = _run("history", "LV-SEA-02", "--json")
    assert [h["to_level"] for h in json.loads(r.output)] == ["medium", "low"]
    r = _run("history", "LV-SEA-02")
    assert "jan: vessel sightings" in r.output
    r = _run("set-level", "LV-SEA-02", "high")
    assert r.exit_code != 0 and "--reason" in r.output


def test_cli_errors_are_short_and_nonzero(db_url, tmp_path):
    r = _run("set-level", "LV-EE-01", "high", "--reason", "x")
    assert r.exit_code == 1 and "internal border" in r.output and "Traceback" not in r.output
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    r = _run("load", str(bad))
    assert r.exit_code == 1 and "no features" in r.output


def test_cli_load_and_derive(db_url, tmp_path):
    out = tmp_path / "derived.geojson"
    r = _run("derive", "--out", str(out))
    assert r.exit_code == 0 and "wrote 36 sections" in r.output
    assert out.read_bytes() == DEFAULT_OUT.read_bytes()  # deterministic
    from geo import crossing_points

    assert "wrote 10 border crossing points (6 placed by hand, approximate)" in r.output
    assert (tmp_path / "derived_crossing_points.geojson").read_bytes() == crossing_points.DEFAULT_OUT.read_bytes()
    r = _run("load", str(out), "--actor", "ops")
    assert r.exit_code == 0 and "0 new, 36 updated, 0 removed" in r.output
