"""POST /api/ingest through a real HTTP server on 127.0.0.1, and the source tokens behind it."""

from __future__ import annotations

from click.testing import CliRunner

from ingest.delivery import sources
from nsp.cli import cli
from tests.support.delivery import ndjson_events
from tests.support.ingest_api import post


def test_tokens_are_required_and_counts_come_back(server, conn):
    token = sources.add(conn, "patrol-app", actor="test")
    body = ndjson_events([f"H-{i}" for i in range(40)]) + b"not json at all\n"

    assert post(server, body)[0] == 401  # no token
    assert post(server, body, "nsp_wrong")[0] == 401
    status, summary = post(server, body, token, "?format=geojson&name=shift-report.ndjson")
    assert status == 200
    assert (summary["accepted"], summary["duplicates"], summary["quarantined"]) == (40, 0, 1)
    assert summary["source"] == "patrol-app" and summary["format"] == "geojson"
    assert summary["reasons"] and "line 41" in summary["reasons"][0]
    # again: all duplicates
    status, again = post(server, body, token)
    assert status == 200 and (again["accepted"], again["duplicates"]) == (0, 40)

    rows = conn.execute("SELECT source, count(*) AS n FROM event GROUP BY source").fetchall()
    assert rows == [{"source": "patrol-app", "n": 40}]
    batch = conn.execute("SELECT submitted_by, file_name FROM ingest_batch ORDER BY id LIMIT 1").fetchone()
    assert batch == {"submitted_by": "source:patrol-app", "file_name": "shift-report.ndjson"}
    used = conn.execute("SELECT last_used_at FROM ingest_source WHERE name = 'patrol-app'").fetchone()
    assert used["last_used_at"] is not None

    sources.revoke(conn, "patrol-app", actor="test")
    assert post(server, body, token)[0] == 401  # revoked


def test_oversize_bodies_are_refused(server, conn):
    token = sources.add(conn, "big-sender", actor="test")
    big = ndjson_events([f"B-{i}" for i in range(200)])  # > 20000 bytes
    assert len(big) > 20000
    status, err = post(server, big, token)
    assert status == 413 and "limit" in err["error"]
    status, _ = post(server, big, token, chunked=True)  # no Content-Length: counted while reading
    assert status == 413
    assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0


def test_unreadable_body_and_unknown_format(server, conn):
    token = sources.add(conn, "odd", actor="test")
    status, summary = post(server, b"\x00\x01\x02garbage" * 10, token)
    assert status == 422 and summary["status"] == "failed" and summary["quarantined"] == 1
    status, summary = post(server, ndjson_events(["X-1"]), token, "?format=shapefile")
    assert status == 400
    assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0


def test_sources_cli_add_list_revoke(db_url, conn):
    runner = CliRunner()
    added = runner.invoke(cli, ["sources", "add", "gps-feed", "-d", "patrol GPS", "--actor", "admin1"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[0]
    assert token.startswith("nsp_") and len(token) > 40
    # only the hash is stored
    row = conn.execute("SELECT token_sha256 FROM ingest_source WHERE name = 'gps-feed'").fetchone()
    assert row["token_sha256"] == sources.hash_token(token) and token not in row["token_sha256"]
    assert sources.authenticate(conn, token) == "gps-feed"

    again = runner.invoke(cli, ["sources", "add", "gps-feed"])
    assert again.exit_code == 1 and "already has an active token" in again.output
    listed = runner.invoke(cli, ["sources", "list"])
    assert "gps-feed" in listed.output and "active" in listed.output

    assert runner.invoke(cli, ["sources", "revoke", "gps-feed", "--actor", "admin1"]).exit_code == 0
    assert sources.authenticate(conn, token) is None
    assert "revoked" in runner.invoke(cli, ["sources", "list"]).output
    assert runner.invoke(cli, ["sources", "revoke", "gps-feed"]).exit_code == 1
    audit = conn.execute("SELECT actor, action FROM audit_log WHERE object = 'ingest_source:gps-feed' "
                         "ORDER BY id").fetchall()
    assert audit == [{"actor": "admin1", "action": "source_add"},
                     {"actor": "admin1", "action": "source_revoke"}]
