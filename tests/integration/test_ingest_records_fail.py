"""Records, not files, fail (real PostGIS): content a record carries is quarantined at that
record and the good records beside it load; a file refused as a whole is quarantined once per
file and reason, however often it is delivered again."""

from __future__ import annotations

import base64
import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.formats.base import MAX_ID_BYTES, UnreadableFile
from ingest.loading.pipeline import ingest_file, ingest_stream
from tests.support.ingest_api import post

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "assets" / "samples"
NOW = datetime.now(UTC).replace(microsecond=0)
# 3,000 characters that do not compress: the index row of such an id is over btree's limit.
LONG = base64.b64encode(random.Random(25).randbytes(2250)).decode()


def feature(ref: str, i: int, **props) -> str:
    p = {"category": "unauthorised_border_crossing", "occurred_at": (NOW - timedelta(minutes=i)).isoformat(),
         "persons": 3}
    p.update(props)
    return json.dumps({"type": "Feature", "id": ref, "properties": p,
                       "geometry": {"type": "Point", "coordinates": [26.6 + i * 0.001, 55.9]}})


def n(conn, sql: str, *args) -> int:
    return conn.execute(sql, args).fetchone()["n"]


# ------------------------------------------------------------------ whole-file quarantine, once


@pytest.mark.parametrize("body, reason", [
    (b"", "empty"),
    (b"\x00\x01garbage" * 50, "NUL byte"),
    (b"a;b;c\n1;2;3\n", "no column for lat"),
])
def test_a_refused_file_delivered_again_is_quarantined_once(conn, tmp_path, body, reason):
    path = tmp_path / "board-report.csv"
    path.write_bytes(body)
    batches = []
    for _ in range(3):
        with pytest.raises(UnreadableFile, match=reason) as info:
            ingest_file(path, source="board")
        batches.append(info.value.summary.batch_id)
        assert info.value.summary.quarantined == 1  # each delivery still says why it was refused
    assert n(conn, "SELECT count(*) AS n FROM quarantine WHERE source = 'board'") == 1
    statuses = conn.execute("SELECT status FROM ingest_batch WHERE id = ANY(%s)", (batches,)).fetchall()
    assert [r["status"] for r in statuses] == ["failed"] * 3
    # another file refused for the same reason is its own quarantine row
    other = tmp_path / "other-report.csv"
    other.write_bytes(body)
    with pytest.raises(UnreadableFile):
        ingest_file(other, source="board")
    assert n(conn, "SELECT count(*) AS n FROM quarantine WHERE source = 'board'") == 2


# ------------------------------------------------------------------ ids over the cap


def test_an_id_over_the_cap_is_quarantined_and_the_rest_loads(conn):
    body = "\n".join([feature("OK-1", 1), feature(LONG, 2), feature("OK-3", 3),
                      feature("OK-4", 4, parent_ref="P" * 600)]) + "\n"
    s = ingest_stream(io.BytesIO(body.encode()), name="long-id.ndjson", source="board", fmt="geojson")
    assert (s.status, s.accepted, s.quarantined) == ("done", 2, 2)
    assert "line 2" in s.reasons[0] and f"{MAX_ID_BYTES} bytes" in s.reasons[0] and "id" in s.reasons[0]
    assert "line 4" in s.reasons[1] and "parent" in s.reasons[1]
    q = conn.execute("SELECT location, raw FROM quarantine ORDER BY id").fetchall()
    assert [r["location"] for r in q] == ["line 2", "line 4"] and LONG in q[0]["raw"]
    assert n(conn, "SELECT count(*) AS n FROM event") == 2


def test_a_csv_nr_over_the_cap_is_quarantined(conn):
    head = "Nr.;Datums;Laiks;Platums;Garums;Kategorija\n"
    rows = ["RS-1;21.11.2026;02:40;55,87;27,07;kontrabanda", f"{LONG};21.11.2026;02:41;55,87;27,07;kontrabanda",
            "RS-3;21.11.2026;02:42;55,87;27,07;kontrabanda"]
    s = ingest_stream(io.BytesIO((head + "\n".join(rows) + "\n").encode()), name="rs.csv", source="rs",
                      fmt="csv")
    assert (s.status, s.accepted, s.quarantined) == ("done", 2, 1)
    assert s.reasons[0].startswith("line 3:")


def test_a_cot_uid_over_the_cap_is_quarantined(conn):
    sample = (SAMPLES / "cot.cot.xml").read_text()
    uid = 'uid="ANDROID-8a3f2c1d9e7b6a50"'
    assert uid in sample
    s0 = ingest_stream(io.BytesIO(sample.encode()), name="ok.cot", source="tak0", fmt="cot")
    body = sample.replace(uid, f'uid="{LONG}"', 1)
    s = ingest_stream(io.BytesIO(body.encode()), name="long-uid.cot", source="tak", fmt="cot")
    # the phone's report is refused (its position and contact); its alert and the marker load
    assert (s0.quarantined, s.status, s.quarantined) == (0, "done", 1)
    assert s.accepted == s0.accepted - 2 and f"{MAX_ID_BYTES} bytes" in s.reasons[0]


# ------------------------------------------------------------------ overflow in one record


def test_overflowing_values_quarantine_their_record_only(conn):
    head = "Nr.;Datums;Laiks;Platums;Garums;Kategorija;Personas\n"
    rows = ["RS-1;21.11.2026;02:40;55,87;27,07;kontrabanda;3",
            "RS-2;21.11.2026;02:41;55,87;27,07;kontrabanda;inf",
            "RS-3;31.12.9999;23:41;55,87;27,07;kontrabanda;1",
            "RS-4;21.11.2026;02:43;55,87;27,07;kontrabanda;1e400",
            "RS-5;21.11.2026;02:44;55,87;27,07;kontrabanda;2"]
    s = ingest_stream(io.BytesIO((head + "\n".join(rows) + "\n").encode()), name="rs.csv", source="rs",
                      fmt="csv")
    assert (s.status, s.accepted, s.quarantined) == ("done", 2, 3)
    assert [r.split(":")[0] for r in s.reasons] == ["line 3", "line 4", "line 5"]
    assert n(conn, "SELECT count(*) AS n FROM event") == 2


# ------------------------------------------------------------------ /api/ingest: 422, never 500/503 for content


def test_api_answers_200_for_bad_records_and_422_for_refused_content(server, conn):
    from ingest.delivery import sources

    token = sources.add(conn, "board-api", actor="test")
    body = "\n".join([feature("A-1", 1), feature(LONG, 2), feature("A-3", 3)]) + "\n"
    status, summary = post(server, body.encode(), token, "?format=geojson")  # was 503
    assert status == 200 and (summary["accepted"], summary["quarantined"]) == (2, 1)
    assert summary["reasons"][0].startswith("line 2: id is")
    csv = ("Nr.;Datums;Laiks;Platums;Garums;Kategorija;Personas\n"
           "C-1;21.11.2026;02:40;55,87;27,07;kontrabanda;inf\nC-2;21.11.2026;02:41;55,87;27,07;kontrabanda;2\n")
    status, summary = post(server, csv.encode(), token, "?format=csv")  # was 500
    assert status == 200 and (summary["accepted"], summary["quarantined"]) == (1, 1)
    # a value the database itself refuses (a rule the validator does not know): the content is
    # refused (422, with the reason), not "send it again" (503)
    conn.execute("ALTER TABLE event ADD CONSTRAINT test_no_boom CHECK (description IS DISTINCT FROM 'boom')")
    body = "\n".join([feature("B-1", 1), feature("B-2", 2, description="boom")]) + "\n"
    status, summary = post(server, body.encode(), token, "?format=geojson")
    assert status == 422 and summary["status"] == "failed" and "test_no_boom" in summary["error"]
    assert n(conn, "SELECT count(*) AS n FROM event WHERE source_ref LIKE 'B-%%'") == 0


def _nested_feature(ref: str, depth: int) -> str:
    return feature(ref, 5).replace('"persons": 3', '"persons": 3, "sensor": ' + '{"k": [' * depth + '1' + ']}' * depth)


def _ais(payload: str) -> str:
    from functools import reduce
    from operator import xor

    body = f"AIVDM,1,1,,B,{payload},0"
    return f"!{body}*{reduce(xor, body.encode(), 0):02X}"


def _gpx_with_nested_point() -> str:
    gpx = (SAMPLES / "gpx.gpx").read_text()
    at = gpx.index(">", gpx.index("<trkpt")) + 1
    return gpx[:at] + "<x>" * 1000 + "</x>" * 1000 + gpx[at:]


@pytest.mark.parametrize("fmt, body, place", [
    # properties nested 300 deep (was: RecursionError, the batch failed)
    ("geojson", "\n".join([feature("N-1", 1), _nested_feature("N-2", 300), feature("N-3", 3)]) + "\n", "line 2"),
    # a short AIS type 24 sentence (was: AttributeError … vendorid)
    ("ais", (SAMPLES / "ais.nmea").read_text() + _ais("H4") + "\n", "message"),
])
def test_issue_25_inputs_quarantine_one_record(conn, fmt, body, place):
    s = ingest_stream(io.BytesIO(body.encode()), name=f"hostile.{fmt}", source="hostile", fmt=fmt)
    assert (s.status, s.quarantined) == ("done", 1) and s.accepted >= 2
    assert s.reasons[0].startswith(place)
    assert n(conn, "SELECT count(*) AS n FROM quarantine WHERE source = 'hostile'") == 1


def test_a_gpx_point_holding_1000_nested_elements_loads(conn):
    # was: RecursionError while keeping the point's raw text; the whole file failed
    s = ingest_stream(io.BytesIO(_gpx_with_nested_point().encode()), name="nested.gpx", source="gps", fmt="gpx")
    plain = ingest_stream(io.BytesIO((SAMPLES / "gpx.gpx").read_bytes()), name="plain.gpx", source="gps2", fmt="gpx")
    # that point is quarantined, the rest of the track loads
    assert s.status == "done" and (s.accepted, s.quarantined) == (plain.accepted - 1, plain.quarantined + 1)


def test_the_drop_folder_moves_content_the_database_refuses_to_failed_at_once(db_url, conn, tmp_path):
    from tests.support.delivery import run_worker_until_empty, watch_once

    conn.execute("ALTER TABLE event ADD CONSTRAINT test_no_boom CHECK (description IS DISTINCT FROM 'boom')")
    inbox = tmp_path / "inbox"
    (inbox / "board").mkdir(parents=True)
    (inbox / "board" / "night.ndjson").write_text(feature("D-1", 1) + "\n" + feature("D-2", 2, description="boom") + "\n")
    assert watch_once(inbox) == 1
    done = run_worker_until_empty(db_url)
    assert done.returncode == 0, done.stderr[-2000:]
    # not retried (it cannot succeed): failed/ with the reason, after one attempt
    assert (inbox / "board" / "failed" / "night.ndjson").exists()
    assert "test_no_boom" in (inbox / "board" / "failed" / "night.ndjson.error.txt").read_text()
    assert n(conn, "SELECT count(*) AS n FROM ingest_batch WHERE status = 'failed'") == 1
    assert n(conn, "SELECT count(*) AS n FROM event") == 0
