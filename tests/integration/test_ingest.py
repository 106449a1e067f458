"""The ingest pipeline on a real PostGIS: counts, idempotency, atomicity, sections, CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats.base import UnreadableFile
from ingest.loading.pipeline import LoadFailed, ingest_file, ingest_stream

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "assets" / "samples"
NOW = datetime.now(UTC).replace(microsecond=0)


def feature_line(i: int, **props) -> str:
    lon, lat = 26.5 + (i % 50) * 0.01, 56.0 + (i % 40) * 0.01  # Latgale, inside LV sections
    p = {"category": "unauthorised_border_crossing", "occurred_at": (NOW - timedelta(minutes=i)).isoformat(),
         "persons": i % 20, "description": f"report {i}"}
    p.update(props)
    return json.dumps({"type": "Feature", "id": f"E-{i:05d}",
                       "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": p})


def good_and_bad(path: Path, good: int = 1000, bad: int = 10) -> Path:
    lines = [feature_line(i) for i in range(good)]
    bad_lines = [
        "{not json",
        feature_line(90001).replace('"coordinates": [', '"coordinates": [99, '),
        json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [56.3, 26.9]},
                    "properties": {"category": "ubc", "time": NOW.isoformat()}}),
        feature_line(90003, occurred_at=(NOW + timedelta(days=2)).isoformat()),
        feature_line(90004, category="picnic"),
        feature_line(90005, occurred_at="sometime"),
        json.dumps({"type": "Feature", "geometry": None, "properties": {"category": "ubc"}}),
        feature_line(90007, persons=-1),
        json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", "y"]},
                    "properties": {"category": "ubc", "time": NOW.isoformat()}}),
        "[1, 2, 3]",
    ][:bad]
    for k, line in enumerate(bad_lines):
        lines.insert(37 + k * 97, line)
    path.write_text("\n".join(lines) + "\n")
    return path


def counts(conn) -> dict:
    return conn.execute(
        "SELECT (SELECT count(*) FROM event) AS events, (SELECT count(*) FROM quarantine) AS quarantine,"
        " (SELECT count(*) FROM event WHERE section_code IS NULL) AS unlocated"
    ).fetchone()


def test_thousand_good_ten_bad_and_rerun_changes_nothing(conn, tmp_path):
    path = good_and_bad(tmp_path / "events.geojsonl")
    s = ingest_file(path, source="rs-latgale")
    assert (s.records, s.accepted, s.duplicates, s.quarantined) == (1010, 1000, 0, 10)
    assert s.status == "done" and s.format == "geojson"
    assert counts(conn) == {"events": 1000, "quarantine": 10, "unlocated": 0}
    rows = conn.execute("SELECT location, line_no, raw, reason FROM quarantine ORDER BY line_no").fetchall()
    assert rows[0]["location"] == "line 38" and rows[0]["raw"] == "{not json"
    reasons = " | ".join(r["reason"] for r in rows)
    for expected in ("broken JSON", "appear swapped", "in the future", "unknown category", "not a time I can read",
                     "no geometry", "persons", "not a number", "outside the region", "Feature object"):
        assert expected in reasons
    batch = conn.execute("SELECT * FROM ingest_batch WHERE id = %s", (s.batch_id,)).fetchone()
    assert (batch["status"], batch["n_records"], batch["n_accepted"], batch["n_quarantined"]) == ("done", 1010, 1000, 10)
    assert batch["sha256"] and batch["size_bytes"] == path.stat().st_size

    before = conn.execute("SELECT id, section_code, distance_to_border_m FROM event ORDER BY id").fetchall()
    again = ingest_file(path, source="rs-latgale")
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 1000, 10)
    assert counts(conn) == {"events": 1000, "quarantine": 10, "unlocated": 0}
    assert conn.execute("SELECT id, section_code, distance_to_border_m FROM event ORDER BY id").fetchall() == before

    # Another source with the same ids is another set of reports.
    other = ingest_file(path, source="rs-zemgale")
    assert other.accepted == 1000


def test_sections_are_assigned_exactly_as_nsp_locate_does(conn, tmp_path):
    ingest_file(good_and_bad(tmp_path / "e.geojsonl", good=300, bad=0), source="s")
    diff = conn.execute(
        "SELECT count(*) AS n FROM event e, nsp_locate(e.geom) l WHERE e.section_code IS DISTINCT FROM l.section_code"
        " OR abs(e.distance_to_border_m - l.distance_m) > 0.001"
    ).fetchone()["n"]
    assert diff == 0
    assert conn.execute("SELECT count(DISTINCT section_code) AS n FROM event").fetchone()["n"] >= 2


def test_atomic_batch_a_failure_mid_merge_leaves_nothing(conn, tmp_path):
    # A real bad value the validator does not know about: a constraint the database adds.
    conn.execute("ALTER TABLE event ADD CONSTRAINT test_no_boom CHECK (description IS DISTINCT FROM 'boom')")
    lines = [feature_line(i) for i in range(800)]
    lines[600] = feature_line(600, description="boom")
    lines.insert(10, "{bad json")
    path = tmp_path / "boom.geojsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LoadFailed, match="test_no_boom") as info:
        ingest_file(path, source="atomic")
    assert info.value.summary.status == "failed"
    assert counts(conn) == {"events": 0, "quarantine": 0, "unlocated": 0}
    batch = conn.execute("SELECT status, error FROM ingest_batch WHERE id = %s", (info.value.summary.batch_id,)).fetchone()
    assert batch["status"] == "failed" and "test_no_boom" in batch["error"]

    conn.execute("ALTER TABLE event DROP CONSTRAINT test_no_boom")
    s = ingest_file(path, source="atomic")
    assert (s.accepted, s.quarantined) == (800, 1)
    assert counts(conn)["events"] == 800


@pytest.mark.seconds(10)
def test_killed_loader_leaves_nothing_and_the_retry_loads_all(conn, db_url, tmp_path):
    path = tmp_path / "big.geojsonl"
    path.write_text("\n".join(feature_line(i) for i in range(60000)) + "\n")
    env = {**os.environ, "DATABASE_URL": db_url, "NSP_INGEST_CHUNK_ROWS": "2000"}
    proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "ingest", str(path), "--source", "kill"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait until the batch is under way (its row exists and staging has begun), then SIGKILL.
    import time

    deadline = time.time() + 60
    while time.time() < deadline:
        row = conn.execute("SELECT count(*) AS n FROM ingest_batch WHERE source = 'kill'").fetchone()
        if row["n"]:
            time.sleep(1.0)
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the load finished before it could be killed"
    proc.kill()
    proc.wait()
    time.sleep(0.5)
    assert conn.execute("SELECT count(*) AS n FROM event WHERE source = 'kill'").fetchone()["n"] == 0
    s = ingest_file(path, source="kill")
    assert s.accepted == 60000
    assert conn.execute("SELECT count(*) AS n FROM event WHERE source = 'kill'").fetchone()["n"] == 60000


def test_unreadable_inputs_fail_the_batch_with_one_quarantine_row(conn, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFile, match="empty") as info:
        ingest_file(empty, source="x")
    q = conn.execute("SELECT location, reason, batch_id FROM quarantine").fetchone()
    assert (q["location"], q["batch_id"]) == ("file", info.value.summary.batch_id)
    assert conn.execute("SELECT status FROM ingest_batch WHERE id = %s", (q["batch_id"],)).fetchone()["status"] == "failed"
    with pytest.raises(UnreadableFile, match="NUL byte"):
        ingest_stream(io.BytesIO(b"\x00\x01garbage" * 100), name="upload.bin", source="x")
    with pytest.raises(UnreadableFile, match="no column for lat"):
        ingest_stream(io.BytesIO(b"a;b;c\n1;2;3\n"), name="t.csv", source="x", fmt="csv")
    assert counts(conn)["events"] == 0


def test_size_limit(conn, tmp_path, monkeypatch):
    from ingest.settings import ingest_settings

    monkeypatch.setenv("NSP_INGEST_MAX_BYTES", "5000")
    ingest_settings.cache_clear()
    try:
        path = good_and_bad(tmp_path / "e.geojsonl", good=100, bad=0)
        with pytest.raises(UnreadableFile, match="larger than the limit of 5,000 bytes"):
            ingest_file(path, source="big")
    finally:
        ingest_settings.cache_clear()
    assert counts(conn)["events"] == 0


def test_csv_samples_encodings_and_content_hash_dedupe(conn, tmp_path):
    s = ingest_file(SAMPLES / "events.csv", source="rs")
    assert (s.format, s.accepted, s.quarantined) == ("csv", 3, 0)
    row = conn.execute("SELECT * FROM event WHERE source_ref = 'RS-1187'").fetchone()
    assert row["occurred_at"] == datetime(2026, 11, 21, 0, 40, tzinfo=UTC)  # Riga time, UTC+2
    assert row["persons"] == 14 and row["section_code"] == "LV-BY-02"
    # cp1257, no id column: a content hash is the source_ref, so a second delivery is a duplicate
    text = "Platums;Garums;Laiks;Kategorija;Apraksts\n56,0;27,0;21.11.2026 10:00;kontrabanda;Krāslavā\n"
    path = tmp_path / "noid.csv"
    path.write_bytes(text.encode("cp1257"))
    first, second = ingest_file(path, source="rs"), ingest_file(path, source="rs")
    assert (first.accepted, second.duplicates) == (1, 1)
    row = conn.execute("SELECT source_ref, description FROM event WHERE description LIKE 'Kr%'").fetchone()
    assert row["source_ref"].startswith("sha1:") and row["description"] == "Krāslavā"


def test_follow_up_links_to_the_first_report(conn):
    s = ingest_file(SAMPLES / "events.geojson", source="rs")
    assert s.accepted == 3
    row = conn.execute(
        "SELECT f.source_ref FROM event e JOIN event f ON f.id = e.parent_id WHERE e.source_ref = 'LAT-2026-11-21-0044'"
    ).fetchone()
    assert row["source_ref"] == "LAT-2026-11-21-0042"


def test_cli_exit_codes_and_json(db_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": db_url}

    def nsp(*args):
        return subprocess.run([sys.executable, "-m", "nsp.cli", "ingest", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True)

    ok = nsp(str(SAMPLES / "events.geojson"), "--source", "cli", "--json")
    assert ok.returncode == 0, ok.stderr
    (summary,) = json.loads(ok.stdout)
    assert {k: summary[k] for k in ("accepted", "duplicates", "quarantined")} == {"accepted": 3, "duplicates": 0, "quarantined": 0}
    dup = nsp(str(SAMPLES / "events.geojson"), "--source", "cli")
    assert dup.returncode == 0 and "duplicates 3" in dup.stdout
    bad = good_and_bad(tmp_path / "b.geojsonl", good=5, bad=2)
    q = nsp(str(bad), "--source", "cli")
    assert q.returncode == 3 and "quarantined 2" in q.stdout
    empty = tmp_path / "empty.geojson"
    empty.write_text("")
    failed = nsp(str(empty), str(SAMPLES / "events.csv"), "--source", "cli")
    assert failed.returncode == 1 and "empty" in failed.stderr and "events.csv: ok" in failed.stdout
    assert nsp(str(SAMPLES / "events.csv"), "--format", "shapefile").returncode == 2
    assert nsp(str(tmp_path / "missing.csv")).returncode == 2


_base = "\n".join(feature_line(i) for i in range(20)) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.integers(0, len(_base)), st.integers(0, 60), st.binary(max_size=40))
def test_pipeline_on_malformed_input_loads_or_quarantines_never_half(conn, cut, span, junk):
    data = _base.encode()[:cut] + junk + _base.encode()[cut + span:]
    before = counts(conn)["events"]
    try:
        s = ingest_stream(io.BytesIO(data), name="fuzz.geojsonl", source="fuzz", fmt="geojson")
    except UnreadableFile as exc:
        assert exc.summary.status == "failed"
        assert counts(conn)["events"] == before
        return
    assert s.status == "done"
    assert s.records == s.accepted + s.duplicates + s.quarantined
    stored = conn.execute("SELECT count(*) AS n FROM event WHERE batch_id = %s", (s.batch_id,)).fetchone()["n"]
    assert stored == s.accepted
    assert counts(conn)["events"] == before + s.accepted


def _marker(time: str, lat: float, remark: str) -> str:
    return (f'<event version="2.0" uid="suspect-van-1" type="a-h-G-E-V-C" time="{time}" start="{time}" '
            f'stale="2099-01-01T00:00:00Z" how="h-g-i-g-o"><point lat="{lat}" lon="26.9721" hae="0" ce="9999999" '
            f'le="9999999"/><detail><remarks>{remark}</remarks></detail></event>\n')


def test_cot_markers_update_when_newer_and_ignore_when_older(conn, tmp_path):
    t1 = (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    t2 = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    t3 = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = tmp_path / "a.cot.xml"
    first.write_text(_marker(t1, 55.88, "first sighting") + _marker(t2, 55.89, "moving north"))
    s = ingest_file(first, source="tak")
    assert (s.format, s.accepted, s.duplicates) == ("cot", 1, 1)  # the newer of the two wins
    row = conn.execute("SELECT description, ST_Y(geom) AS lat FROM event WHERE source_ref = 'suspect-van-1'").fetchone()
    assert (row["description"], row["lat"]) == ("moving north", 55.89)
    older = tmp_path / "b.cot.xml"
    older.write_text(_marker(t1, 55.70, "late copy of the first"))
    assert ingest_file(older, source="tak").duplicates == 1
    newer = tmp_path / "c.cot.xml"
    newer.write_text(_marker(t3, 55.95, "at the fence"))
    assert ingest_file(newer, source="tak").accepted == 1
    row = conn.execute("SELECT description, section_code, count(*) OVER () AS n FROM event").fetchone()
    assert (row["description"], row["n"]) == ("at the fence", 1) and row["section_code"]


def test_mapping_file_through_the_cli_loader(tmp_path):
    from ingest.loading.ingest_cli import MappingError, load_mapping

    assert load_mapping(SAMPLES / "csv_mapping.toml").columns["lat"] == "Z.pl."
    bad = tmp_path / "m.json"
    bad.write_text('{"latitude_column": "x"}')
    with pytest.raises(MappingError, match="unknown event fields"):
        load_mapping(bad)


def test_a_follow_up_that_comes_before_its_first_report_is_linked_when_it_does(conn, tmp_path):
    """Files of one feed can arrive, or be taken by two workers, out of order: the follow-up
    waits as a first report, then is linked, and the map's counts follow."""
    def cells() -> int:
        return conn.execute("SELECT coalesce(sum(n_low + n_medium + n_high + n_very_high), 0) AS n"
                            " FROM event_cell_day").fetchone()["n"]

    (tmp_path / "b.geojsonl").write_text(feature_line(2, parent_ref="E-00001") + "\n"
                                         + feature_line(3, parent_ref="E-99999") + "\n")  # never comes
    (tmp_path / "a.geojsonl").write_text(feature_line(1) + "\n")
    assert ingest_file(tmp_path / "b.geojsonl", source="board").accepted == 2
    waiting = conn.execute("SELECT source_ref, parent_id, attrs ->> 'nsp_parent_ref' AS ref FROM event"
                           " ORDER BY source_ref").fetchall()
    assert [(r["source_ref"], r["parent_id"], r["ref"]) for r in waiting] == [
        ("E-00002", None, "E-00001"), ("E-00003", None, "E-99999")]
    assert cells() == 2  # meanwhile they are drawn and counted as first reports
    # the same ref from another source is not its first report
    assert ingest_file(tmp_path / "a.geojsonl", source="other-board").accepted == 1
    assert conn.execute("SELECT count(*) AS n FROM event WHERE parent_id IS NOT NULL").fetchone()["n"] == 0
    assert ingest_file(tmp_path / "a.geojsonl", source="board").accepted == 1
    rows = {r["source_ref"]: r for r in conn.execute(
        "SELECT e.source_ref, p.source_ref AS parent, e.attrs ? 'nsp_parent_ref' AS waits"
        " FROM event e LEFT JOIN event p ON p.id = e.parent_id WHERE e.source = 'board'").fetchall()}
    assert (rows["E-00002"]["parent"], rows["E-00002"]["waits"]) == ("E-00001", False)
    assert (rows["E-00003"]["parent"], rows["E-00003"]["waits"]) == (None, True)
    assert cells() == 3  # E-00001 of each board and the orphan; the linked follow-up left the counts
    # delivering them again changes nothing
    for name in ("a.geojsonl", "b.geojsonl"):
        assert ingest_file(tmp_path / name, source="board").accepted == 0
    assert cells() == 3
