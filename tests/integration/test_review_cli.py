"""`nsp deliveries` and `nsp quarantine` on real loads in PostGIS."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ingest.pipeline import ingest_file
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
