"""`nsp deliveries` and `nsp quarantine` on real loads in PostGIS."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ingest.loading.pipeline import ingest_file
from nsp.cli import cli

GOOD = ('{"type":"Feature","id":"G%d","geometry":{"type":"Point","coordinates":[27.1,55.9]},'
        '"properties":{"category":"other","occurred_at":"2026-11-30T10:00:00Z"}}')
BAD_COORDS = ('{"type":"Feature","id":"B1","geometry":{"type":"Point","coordinates":["x",55.9]},'
              '"properties":{"category":"other","occurred_at":"2026-11-30T10:00:00Z"}}')


def _run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_deliveries_and_quarantine_show_what_a_file_loaded_and_what_was_refused(db_url, tmp_path):
    path = tmp_path / "feed.geojsonl"
    path.write_text("\n".join([GOOD % 1, BAD_COORDS, GOOD % 2, "{not json"]) + "\n")
    batch = ingest_file(path, source="sensor-a").batch_id
    other = tmp_path / "other.geojsonl"
    other.write_text(GOOD % 3 + "\n")
    ingest_file(other, source="sensor-b")

    code, out = _run("deliveries", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert (rows[batch]["source"], rows[batch]["status"], rows[batch]["n_accepted"], rows[batch]["n_quarantined"]) \
        == ("sensor-a", "done", 2, 2)
    code, out = _run("deliveries", "--source", "sensor-b")
    assert code == 0 and "sensor-b" in out and "sensor-a" not in out and "other.geojsonl" in out

    code, out = _run("quarantine", "--batch", str(batch), "--json")
    refused = json.loads(out)
    assert code == 0 and [r["location"] for r in refused] in (["line 2", "line 4"], ["line 4", "line 2"])
    assert {r["raw"] for r in refused} == {BAD_COORDS, "{not json"}
    code, out = _run("quarantine", "--batch", str(batch), "--raw")
    assert code == 0 and "feed.geojsonl · line 2:" in out and "    | {not json" in out
    assert _run("quarantine", "--source", "sensor-b")[1].startswith("no quarantined records")
    # a window that ends before the loads: nothing
    assert _run("deliveries", "--since", "2999-01-01")[1].startswith("no deliveries")


def test_since_accepts_durations_and_iso_times_and_refuses_the_rest(db_url):
    assert _run("deliveries", "--since", "30m")[0] == 0
    assert _run("deliveries", "--since", "2026-11-30T06:00")[0] == 0
    code, out = _run("quarantine", "--since", "yesterday")
    assert code == 2 and "Invalid value for '--since'" in out


def test_feeds_expect_marks_a_feed_late_and_is_audited(db_url, conn, tmp_path):
    path = tmp_path / "feed.geojsonl"
    path.write_text(GOOD % 1 + "\n")
    ingest_file(path, source="ais")
    ingest_file(path, source="board")  # the same record from another source: stored again
    conn.execute("UPDATE ingest_batch SET finished_at = now() - interval '40 minutes' WHERE source = 'ais'")

    code, out = _run("feeds", "expect", "ais", "15m", "--note", "call the AIS desk", "--actor", "duty")
    assert code == 0 and out.strip() == "ais: expected every 15 min"
    code, out = _run("feeds", "expect", "board", "26h", "--actor", "duty")
    assert code == 0 and out.strip() == "board: expected every 26 h"
    code, out = _run("feeds", "expect", "radar", "1h", "--actor", "duty")  # a typo, or not delivering yet
    assert code == 0 and "no delivery from 'radar' is on record yet" in out

    code, out = _run("feeds", "list", "--json")
    rows = {r["source"]: r for r in json.loads(out)}
    assert code == 0 and list(rows) == ["radar", "ais", "board"]  # late ones first, never-delivered on top
    assert (rows["ais"]["late"], rows["ais"]["expected_every"]) == (True, 900)
    assert (rows["board"]["late"], rows["board"]["expected_every"]) == (False, 26 * 3600)
    assert rows["radar"]["late"] and rows["radar"]["last_delivery"] is None
    code, out = _run("feeds", "list")
    line = next(ln for ln in out.splitlines() if ln.startswith("ais"))
    assert code == 0 and "40 min" in line and "every 15 min" in line and "LATE" in line

    code, out = _run("feeds", "expect", "ais", "1h", "--actor", "duty")
    assert code == 0 and "(was every 15 min)" in out
    assert not {r["source"]: r for r in json.loads(_run("feeds", "list", "--json")[1])}["ais"]["late"]
    assert _run("feeds", "expect", "radar", "--clear", "--actor", "duty")[1].strip() \
        == "radar: expected interval removed (was every 1 h)"
    assert "radar" not in _run("feeds", "list")[1]  # never delivered, no longer expected
    note = conn.execute("SELECT note FROM feed_expectation WHERE source = 'ais'").fetchone()["note"]
    assert note == "call the AIS desk"  # kept when a later change gives none

    audit = conn.execute("SELECT actor, action, object, details FROM audit_log"
                         " WHERE action LIKE 'feed_%' ORDER BY id").fetchall()
    assert [(a["actor"], a["action"], a["object"]) for a in audit] == [
        ("duty", "feed_expect", "ais"), ("duty", "feed_expect", "board"), ("duty", "feed_expect", "radar"),
        ("duty", "feed_expect", "ais"), ("duty", "feed_forget", "radar")]
    assert audit[3]["details"] == {"every": "1 h", "note": None, "previous": "15 min"}


def test_feeds_expect_refuses_bad_intervals(db_url):
    for args, message in ((["x", "soon"], "is not a duration"), (["x", "30s"], "at least 1 minute"),
                          (["x"], "give either EVERY or --clear"), (["x", "5m", "--clear"], "give either")):
        code, out = _run("feeds", "expect", *args)
        assert code == 2 and message in out, (args, out)
