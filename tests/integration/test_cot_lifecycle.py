"""The TAK lifecycle end to end (file -> ingest_file -> PostGIS): emergencies raised,
cancelled and raised again on ATAK's reused uid, deletes, map markers that are not own units,
ids over the cap, and TAK Protocol Version 1 (protobuf) files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loading.pipeline import ingest_file
from nsp.queries import queries
from nsp.settings import geo_settings
from tests.support.captures import real_cot as real
from tests.support.feeds import event

T1, T2, T3 = "2024-05-01T21:00:00Z", "2024-05-01T21:05:00Z", "2024-05-01T21:10:00Z"
UID = "ANDROID-8a3f2c1d9e7b6a50-9-1-1"


@pytest.fixture
def whole_world(monkeypatch):
    """The real captures lie outside Latvia: let the validator take them."""
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    geo_settings.cache_clear()
    yield
    monkeypatch.delenv("NSP_GEO_ROI")
    geo_settings.cache_clear()


def _load(tmp_path: Path, name: str, text: str | bytes, source: str = "tak"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    summary = ingest_file(path, source=source)
    assert summary.status == "done", summary
    return summary


def _decisions(conn, ref: str) -> list[tuple]:
    return [tuple(r.values()) for r in conn.execute(
        "SELECT d.action, d.from_value, d.to_value, d.decided_by, d.reason, d.decided_at"
        "  FROM event_decision d JOIN event e ON e.id = d.event_id"
        " WHERE e.source_ref = %s ORDER BY d.decided_at, d.id", (ref,)).fetchall()]


def test_an_emergency_cancelled_then_raised_again_is_open_with_the_decisions_that_say_so(conn, tmp_path):
    emergency = '<emergency type="911 Alert">SILENE-P1</emergency><link uid="ANDROID-8a3f2c1d9e7b6a50" relation="p-p"/>'
    files = [
        ("raised.cot", event(uid=UID, type_="b-a-o-tbl", time=T1, detail=emergency)),
        # ATAK's cancel carries no fix (0,0, ce 9999999): it still closes the emergency
        ("cancel.cot", event(uid=UID, type_="b-a-o-can", time=T2, lat="0.0", lon="0.0",
                             detail='<emergency cancel="true">SILENE-P1</emergency>')),
        ("again.cot", event(uid=UID, type_="b-a-o-tbl", time=T3, detail=emergency)),
    ]
    states = []
    for name, text in files:
        _load(tmp_path, name, text)
        states.append(conn.execute("SELECT status, closed_at FROM event WHERE source_ref = %s", (UID,)).fetchone())
    assert [s["status"] for s in states] == ["open", "closed", "open"]
    assert states[1]["closed_at"].isoformat() == "2024-05-01T21:05:00+00:00" and states[2]["closed_at"] is None
    decisions = _decisions(conn, UID)
    assert [d[:4] for d in decisions] == [("close", "open", "closed", "source:tak"),
                                          ("reopen", "closed", "open", "source:tak")]
    assert decisions[0][4] == "cancelled by the source (b-a-o-can)"
    assert decisions[1][4].startswith("reopened by the source: the emergency was raised again (911 Alert")
    # the replay ("as at") sees each state at its time
    replay = conn.execute(
        "SELECT nsp_status_at(id, status, closed_at, %s) AS a, nsp_status_at(id, status, closed_at, %s) AS b"
        "  FROM event WHERE source_ref = %s", ("2024-05-01T21:03:00Z", "2024-05-01T21:07:00Z", UID)).fetchone()
    assert (replay["a"], replay["b"]) == ("open", "closed")
    # the weekly summary lists the NCC's decisions, not the feed's own changes
    week = {"start": "2024-04-29T00:00:00Z", "end_": "2024-05-06T00:00:00Z", "tz": "UTC", "sections": None}
    assert conn.execute(queries["summary_event_decisions"], week).fetchall() == []
    # the same files again, in any order, change nothing
    for name, text in reversed(files):
        _load(tmp_path, name, text)
    assert conn.execute("SELECT status FROM event WHERE source_ref = %s", (UID,)).fetchone()["status"] == "open"
    assert _decisions(conn, UID) == decisions


def test_a_late_repeat_of_the_emergency_does_not_reopen_what_its_cancel_closed(conn, tmp_path):
    _load(tmp_path, "a.cot", event(uid=UID, type_="b-a-o-tbl", time=T1)
          + event(uid=UID, type_="b-a-o-can", time=T3))  # raised and cancelled in one file
    assert conn.execute("SELECT status FROM event WHERE source_ref = %s", (UID,)).fetchone()["status"] == "closed"
    _load(tmp_path, "late.cot", event(uid=UID, type_="b-a-o-tbl", time=T2))  # ATAK repeats while raised
    assert conn.execute("SELECT status FROM event WHERE source_ref = %s", (UID,)).fetchone()["status"] == "closed"
    assert [d[0] for d in _decisions(conn, UID)] == ["close"]


def test_a_marker_that_is_not_an_emergency_never_reopens(conn, tmp_path):
    _load(tmp_path, "m.cot", event(uid="M-1", type_="a-h-G", time=T1))
    conn.execute("UPDATE event SET status = 'closed', closed_at = now() WHERE source_ref = 'M-1'")
    _load(tmp_path, "m2.cot", event(uid="M-1", type_="a-h-G", time=T2, lat="55.89"))
    assert conn.execute("SELECT status FROM event WHERE source_ref = 'M-1'").fetchone()["status"] == "closed"
    assert _decisions(conn, "M-1") == []


def test_a_delete_closes_the_event_it_links_to_with_a_decision(conn, tmp_path):
    _load(tmp_path, "markers.cot", event(uid="MARKER-1", type_="a-h-G-E-V", time=T1)
          + event(uid="MARKER-2", type_="a-u-G", time=T1))
    delete = lambda uid, t: event(uid=f"del-{uid}", type_="t-x-d-d", time=t, lat="0.000000", lon="0.000000",  # noqa: E731
                                  detail=f'<__forcedelete/><link uid="{uid}" type="none" relation="none"/>')
    summary = _load(tmp_path, "delete.cot", delete("MARKER-1", T2) + delete("NEVER-SEEN", T2))
    assert summary.quarantined == 0 and summary.accepted == 1
    rows = {r["source_ref"]: r for r in conn.execute("SELECT source_ref, status, closed_at FROM event")}
    assert set(rows) == {"MARKER-1", "MARKER-2"}  # a delete of an item never stored adds nothing
    assert rows["MARKER-1"]["status"] == "closed" and rows["MARKER-2"]["status"] == "open"
    [d] = _decisions(conn, "MARKER-1")
    assert d[:5] == ("close", "open", "closed", "source:tak", "deleted by the source (t-x-d-d)")
    assert _load(tmp_path, "delete.cot", delete("MARKER-1", T2)).accepted == 0  # again: nothing
    assert len(_decisions(conn, "MARKER-1")) == 1
    # a marker and its delete in one file
    _load(tmp_path, "both.cot", event(uid="MARKER-3", type_="a-u-G", time=T1) + delete("MARKER-3", T2))
    assert conn.execute("SELECT status FROM event WHERE source_ref = 'MARKER-3'").fetchone()["status"] == "closed"


def test_a_map_marker_is_an_event_not_an_own_asset(conn, tmp_path, whole_world):
    marker = real("itak_marker.cot.xml").replace(b'type="a-u-G"', b'type="a-f-G"')
    _load(tmp_path, "sa.cot", real("atak_sa.cot.xml") + real("wintak_sa_h-e.cot.xml") + marker)
    assets = {r["object_id"]: r["kind"] for r in conn.execute("SELECT object_id, kind FROM asset_position")}
    assert assets == {"ANDROID-deadbeef": "own", "aa0b0312-b5cd-4c2c-bbbc-9c4c70216261": "own"}
    objects = {r["object_id"] for r in conn.execute("SELECT object_id FROM tracked_object")}
    assert "EB77220E-6299-4CA3-95FC-0200BD9FE78A" not in objects
    ev = conn.execute("SELECT category, subtype, impact FROM event WHERE source_ref = %s",
                      ("EB77220E-6299-4CA3-95FC-0200BD9FE78A",)).fetchone()
    assert ev == {"category": "other", "subtype": "friendly_marker", "impact": "low"}


def test_a_3000_character_uid_is_quarantined_and_the_rest_of_the_file_loads(conn, tmp_path):
    summary = _load(tmp_path, "long.cot", event(uid="U" * 3000, type_="a-h-G") + event(uid="ok", type_="a-h-G")
                    + event(uid="nofix", type_="a-h-G", lat="0.0", lon="0.0"))
    assert (summary.accepted, summary.quarantined) == (1, 2)
    reasons = sorted(r["reason"] for r in conn.execute("SELECT reason FROM quarantine"))
    assert reasons[0].startswith("no position fix") and "3000 bytes is longer than the limit of 512" in reasons[1]


def test_tak_protocol_files_load_like_their_xml(conn, tmp_path, whole_world):
    import takproto

    stream = real("wintak_sa_stream.takpb") + b"".join(
        bytes(takproto.xml2proto(real(n), takproto.TAKProtoVer.STREAM))
        for n in ("atak_sa.cot.xml", "itak_marker.cot.xml", "atak_geochat.cot.xml"))
    summary = _load(tmp_path, "capture.takpb", stream)
    assert summary.format == "cot" and (summary.accepted, summary.quarantined) == (5, 0)
    assert conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"] == 2
    assert conn.execute("SELECT source_ref FROM event").fetchone()["source_ref"] == "EB77220E-6299-4CA3-95FC-0200BD9FE78A"
    mesh = _load(tmp_path, "one-datagram.takpb", real("wintak_sa_mesh.takpb"))
    assert (mesh.accepted, mesh.duplicates) == (0, 2)  # the same beacon: already stored
