"""Skipped input, counted (real PostGIS, the real CLI): what a parser reads and leaves out on
purpose shows with its reasons in `nsp ingest` (text and --json), in `ingest_batch`, in
`nsp deliveries`, in `nsp feeds list` and in the main page's feeds table. A file with content
never reports accepted 0, quarantined 0, skipped 0."""

from __future__ import annotations

import json
import subprocess
import traceback
from pathlib import Path

from click.testing import CliRunner

from ingest.loading.pipeline import ingest_file
from nsp.access import Scope
from nsp.cli import cli
from tests.support.feeds import event, nmea, tag

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "assets" / "samples"
OFFICER = Scope(user="anna", role="watch_officer")
REASONS = {"ping": 2, "GeoChat message": 1}  # as the CoT reader names them


def nsp(db_url, *args) -> subprocess.CompletedProcess:
    """``nsp ARGS`` on ``db_url``, run in this process by click's runner (what is tested is what
    the commands print, not their process): its exit code, standard output and error."""
    result = CliRunner().invoke(cli, list(args), env={"DATABASE_URL": db_url})
    error = result.stderr + ("".join(traceback.format_exception(result.exception))
                             if result.exception and not isinstance(result.exception, SystemExit) else "")
    return subprocess.CompletedProcess(["nsp", *args], result.exit_code, result.stdout, error)


def cot_with_pings(tmp_path) -> Path:
    """The ATAK sample, two pings (t-x-c-t) and a GeoChat message (b-t-f): 3 skipped."""
    path = tmp_path / "tak.cot"
    path.write_text((SAMPLES / "cot.cot.xml").read_text() + event(uid="p1", type_="t-x-c-t") + "\n"
                    + event(uid="p2", type_="t-x-c-t") + "\n" + event(uid="GeoChat.x", type_="b-t-f") + "\n")
    return path


def test_skipped_records_are_counted_with_reasons_everywhere(db_url, conn, tmp_path):
    path = cot_with_pings(tmp_path)
    out = nsp(db_url, "ingest", str(path), "--source", "tak", "--json")
    assert out.returncode == 0, out.stderr
    (summary,) = json.loads(out.stdout)
    assert summary["skipped"] == 3 and summary["skipped_reasons"] == REASONS
    assert summary["accepted"] == 4 and summary["quarantined"] == 0

    text = nsp(db_url, "ingest", str(path), "--source", "tak")
    assert text.returncode == 0
    assert "duplicates 4, quarantined 0, skipped 3 (ping: 2, GeoChat message: 1)" in text.stdout

    rows = conn.execute("SELECT n_skipped, skipped_reasons FROM ingest_batch ORDER BY id").fetchall()
    assert rows == [{"n_skipped": 3, "skipped_reasons": REASONS}] * 2

    deliveries = nsp(db_url, "deliveries", "--json")
    assert [(r["n_skipped"], r["skipped_reasons"]) for r in json.loads(deliveries.stdout)] == \
        [(3, REASONS)] * 2
    table = nsp(db_url, "deliveries")
    assert " skip " in table.stdout.splitlines()[0]
    assert table.stdout.count("skipped: ping: 2, GeoChat message: 1") == 2

    feeds = nsp(db_url, "feeds", "list", "--json")
    (tak,) = json.loads(feeds.stdout)
    assert (tak["skipped_24h"], tak["skipped_reasons_24h"]) == (6, {"ping": 4, "GeoChat message": 2})
    listing = nsp(db_url, "feeds", "list").stdout
    assert "skipped 24h" in listing and "skipped: ping: 4, GeoChat message: 2" in listing


def test_the_feeds_table_shows_skipped_records(db_url, tmp_path):
    import dashboard.app  # noqa: F401 - the pages register with the app
    from dashboard.pages.main import side_panels
    from dashboard.scope import acting_as

    ingest_file(cot_with_pings(tmp_path), source="tak")
    with acting_as(OFFICER):
        table = str(side_panels.feeds_view(1))
    assert "Skipped 24 h" in table and "title='ping: 2, GeoChat message: 1'" in table


def test_a_file_with_content_never_reports_all_zeros(db_url, conn, tmp_path):
    # AIS: only sentences nsp does not use (a GPS fix, a base station report)
    ais = tmp_path / "receiver.nmea"
    ais.write_text("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\n"
                   + tag("s:LV-RIGA,c:1714550400") + nmea({"type": 4, "mmsi": 2750000, "lat": 57.0, "lon": 24.0})[0]
                   + "\n")
    s = ingest_file(ais, source="ais")
    assert (s.accepted, s.quarantined, s.skipped) == (0, 0, 2)
    assert s.skipped_reasons == {"non-AIS sentence": 1, "type 4": 1}
    # CSV: a header and no rows; GPX: metadata only
    board = tmp_path / "board.csv"
    board.write_text("Nr.;Datums;Laiks;Platums;Garums;Kategorija\n")
    gpx = tmp_path / "empty.gpx"
    gpx.write_text('<?xml version="1.0"?><gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" '
                   'creator="t"><metadata><name>nothing</name></metadata></gpx>\n')
    for path in (board, gpx):
        s = ingest_file(path, source="board")
        assert (s.status, s.records, s.accepted, s.quarantined, s.skipped) == ("done", 0, 0, 0, 1), path
        assert s.skipped_reasons == {"no records in the file": 1}
    assert conn.execute("SELECT count(*) AS n FROM ingest_batch WHERE n_skipped = 0").fetchone()["n"] == 0


def test_real_captures_reach_the_feeds_panel_as_the_page_gets_it(db_url, tmp_path):
    # real ATAK captures (an SA and a GeoChat message, which the reader skips) and a real AIS
    # feed, loaded; the panel as the main view is sent it: one static component (side_panels.feeds)
    import dashboard.app  # noqa: F401 - the pages register with the app
    from dashboard.components.static import Static
    from dashboard.pages.main import side_panels
    from dashboard.scope import acting_as
    from tests.support.captures import REAL, real_cot

    tak = tmp_path / "tak.cot"
    tak.write_bytes(real_cot("atak_sa.cot.xml") + b"\n" + real_cot("atak_geochat.cot.xml"))
    s_tak = ingest_file(tak, source="tak")
    s_ais = ingest_file(REAL / "ais" / "aishub_feed.nmea", source="ais")
    assert s_tak.skipped_reasons == {"GeoChat message": 1} and s_ais.records > 0
    with acting_as(OFFICER):
        panel = side_panels.feeds(0)
    assert isinstance(panel, Static) and panel.id == "main-feeds-table"
    rows = {row.split("</b>")[0].rsplit(">", 1)[-1]: row for row in panel.html.split("<tr")[2:]}
    assert set(rows) == {"tak", "ais"}, panel.html
    assert 'title="GeoChat message: 1"' in rows["tak"]
    reasons = ", ".join(f"{k}: {v}" for k, v in s_ais.skipped_reasons.items())
    assert f'<td class="nsp-num" title="{reasons}">{s_ais.skipped:,}</td>' in rows["ais"], rows["ais"]
    assert f'<td class="nsp-num">{s_ais.quarantined:,} / 0</td>' in rows["ais"], (s_ais, rows["ais"])
