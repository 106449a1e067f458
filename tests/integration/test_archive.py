"""The GeoParquet archive of positions against the real PostGIS, with real AIS reports
(tests/data/real/ais): the archived rows equal the rows that retention then drops, the files
read back with GeoPandas (an independent GeoParquet reader), and `nsp archive query` answers a
track with DuckDB (ingest.loading.archive, issue 26)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import numpy
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from ingest.loading.archive import archive_positions, query_track
from ingest.loading.pipeline import ingest_file
from ingest.loading.retention import RetentionSettings, apply
from ingest.settings import ingest_settings
from nsp.cli import cli
from nsp.settings import geo_settings

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "ais" / "pyais_receiver_plain.nmea"
WEEK = "asset_position_2025w10"  # 2025-03-03 .. 2025-03-10, well past the 400-day horizon

# Every column, as the archive writes it (the geometry as WKB, attrs as JSON text).
_ROWS = """SELECT source, object_id, kind, object_type, status, observed_at, ST_AsBinary(geom) AS geom,
                  speed_kn, course_deg, heading_deg, accuracy_m, stale_at, section_code, patrol_id::text AS patrol_id,
                  batch_id, received_at, attrs::text AS attrs, restricted
             FROM asset_position ORDER BY object_id, observed_at, source, geom"""


@pytest.fixture
def old_week(db_url, conn, monkeypatch):
    """Real AIS reports (from US waters: no region limit), moved into the ISO week 2025-W10 with
    their times kept apart as received."""
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    summary = ingest_file(REAL, source="rx-plain")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    assert summary.accepted > 100
    conn.execute("SELECT nsp_ensure_position_partitions('2025-03-03', '2025-03-09')")
    conn.execute("UPDATE asset_position SET observed_at = timestamptz '2025-03-05 12:00Z'"
                 " + (observed_at - (SELECT min(observed_at) FROM asset_position))")
    rows = conn.execute(_ROWS).fetchall()
    assert conn.execute(f"SELECT count(*) AS n FROM {WEEK}").fetchone()["n"] == len(rows)
    return rows


def _parquet_rows(path: Path) -> list[dict]:
    table = pq.read_table(path).drop_columns(["bbox"])
    return table.to_pylist()


def _same(archived: list[dict], before: list[dict]) -> None:
    """Every value of every row equal; `real` columns compared as the 4-byte floats they are."""
    assert len(archived) == len(before)
    for a, b in zip(archived, before, strict=True):
        for key in b:
            if isinstance(b[key], float):
                assert numpy.float32(a[key]) == numpy.float32(b[key]), (key, a, b)
            else:
                assert a[key] == b[key], (key, a, b)
        assert set(a) == set(b)


def test_retention_archives_a_week_past_the_horizon_then_drops_it_and_the_rows_are_equal(
        old_week, conn, tmp_path):
    out = tmp_path / "archive"
    settings = RetentionSettings(archive_dir=out, kinds={"vessel": {"thin": False}})
    run = apply(actor="tester", settings=settings)
    step = next(d for d in run.detached if d.partition == WEEK)
    assert step.detached and step.archived == f"{WEEK}.parquet" and step.rows == len(old_week)
    assert conn.execute("SELECT to_regclass(%s) AS t", (WEEK,)).fetchone()["t"] is None
    assert conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"] == 0

    archived = _parquet_rows(out / f"{WEEK}.parquet")
    _same(archived, old_week)  # every value of every row, in the archive's order
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["partition"] == WEEK)
    assert entry["rows"] == len(old_week)
    import hashlib
    assert entry["sha256"] == hashlib.sha256((out / entry["file"]).read_bytes()).hexdigest()
    details = conn.execute("SELECT details FROM audit_log WHERE action = 'retention_apply'").fetchone()["details"]
    assert [d["partition"] for d in details["detached"] if d["detached"]] == [WEEK]


def test_the_files_are_geoparquet_1_1_as_geopandas_reads_them(old_week, conn, tmp_path):
    archive_positions(timedelta(days=90), tmp_path, actor="tester")
    path = tmp_path / f"{WEEK}.parquet"
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geom"
    assert geo["columns"]["geom"]["encoding"] == "WKB"
    assert geo["columns"]["geom"]["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]

    frame = gpd.read_parquet(path)
    assert frame.geometry.name == "geom" and frame.crs.equals("OGC:CRS84")
    assert len(frame) == len(old_week)
    assert list(frame.geometry.to_wkb()) == [r["geom"] for r in old_week]
    assert list(frame.total_bounds) == pytest.approx(geo["columns"]["geom"]["bbox"])
    bbox = pq.read_table(path, columns=["bbox"]).column("bbox").to_pylist()
    assert [b["xmin"] for b in bbox] == list(shapely.get_x(frame.geometry.values))
    assert [b["ymax"] for b in bbox] == list(shapely.get_y(frame.geometry.values))
    # GeoPandas filters on the covering column: only the points in the box come back
    x0, y0, x1, y1 = frame.total_bounds
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    inside = gpd.read_parquet(path, bbox=box)
    want = frame[frame.geometry.intersects(shapely.box(*box))]
    assert 0 < len(inside) < len(frame)
    assert sorted(inside.geometry.to_wkb()) == sorted(want.geometry.to_wkb())
    # sorted by object and time
    keys = list(zip(frame["object_id"], frame["observed_at"], strict=True))
    assert keys == sorted(keys)


def test_a_week_already_archived_is_not_written_again_until_its_rows_change(old_week, conn, tmp_path):
    first = archive_positions(timedelta(days=90), tmp_path, actor="tester")
    assert [d["status"] for d in first if d["partition"] == WEEK] == ["written"]
    again = archive_positions(timedelta(days=90), tmp_path, actor="tester")
    assert [d["status"] for d in again if d["partition"] == WEEK] == ["unchanged"]
    conn.execute("DELETE FROM asset_position WHERE ctid = (SELECT min(ctid) FROM asset_position)")
    late = archive_positions(timedelta(days=90), tmp_path, actor="tester")
    assert [(d["status"], d["rows"]) for d in late if d["partition"] == WEEK] == [("written", len(old_week) - 1)]


def test_a_damaged_archive_file_is_written_again_before_the_week_is_dropped(old_week, conn, tmp_path):
    archive_positions(timedelta(days=90), tmp_path, actor="tester")
    path = tmp_path / f"{WEEK}.parquet"
    path.write_bytes(path.read_bytes()[:-100])  # a truncated copy
    apply(actor="tester", settings=RetentionSettings(archive_dir=tmp_path, kinds={"vessel": {"thin": False}}))
    _same(_parquet_rows(path), old_week)


def test_nsp_archive_query_answers_a_track_from_the_files(old_week, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["archive", "positions", "--older-than", "90d", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert WEEK in result.output and "written" in result.output
    # the vessel with the most fixes
    by_object: dict[str, list[dict]] = {}
    for r in old_week:
        by_object.setdefault(r["object_id"], []).append(r)
    object_id, fixes = max(by_object.items(), key=lambda kv: len(kv[1]))
    assert len(fixes) > 2
    t_from, t_to = fixes[1]["observed_at"], fixes[-1]["observed_at"]
    track = query_track(tmp_path, object_id, t_from, t_to)
    want = sorted((f for f in fixes if t_from <= f["observed_at"] <= t_to),
                  key=lambda f: (f["observed_at"], f["source"]))
    assert [(t["observed_at"], t["lon"], t["lat"]) for t in track] == [
        (f["observed_at"], shapely.from_wkb(f["geom"]).x, shapely.from_wkb(f["geom"]).y) for f in want]
    result = runner.invoke(cli, ["archive", "query", "--object", object_id, "--from", t_from.isoformat(),
                                 "--to", t_to.isoformat(), str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 1 + len(want)
    nothing = runner.invoke(cli, ["archive", "query", "--object", "MMSI:1", "--from", "2025-03-01",
                                  "--to", "2025-03-31", str(tmp_path)])
    assert nothing.exit_code == 0 and "no archived fix of MMSI:1" in nothing.output


def test_a_damaged_file_or_manifest_is_named_in_the_error(old_week, tmp_path):
    archive_positions(timedelta(days=90), tmp_path, actor="tester")
    path = tmp_path / f"{WEEK}.parquet"
    path.write_bytes(path.read_bytes()[:1000])
    args = ["archive", "query", "--object", "MMSI:1", "--from", "2025-03-01", "--to", "2025-03-31", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "cannot read the archive" in result.output and path.name in result.output
    (tmp_path / "manifest.json").write_text("{not json")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "manifest.json: not a readable manifest" in result.output
