"""Scheduled neighbour pulls over loopback between two nsp instances (issue 24): centre B serves
its share (``nsp serve`` on database B and a port of its own); centre A registers B with a pull
interval and runs ``nsp worker`` (database A), whose periodic task pulls B's share at that
interval, audited. When B revokes the share, A's pulls fail: each failure is recorded on the
partner's row, audited and shown (``nsp neighbours list``, the main page's feeds panel), the
worker's jobs do not fail, and B's last picture stays; a new token (``nsp neighbours set``)
makes the next pull work and clears the error."""

from __future__ import annotations

import os
from datetime import timedelta

import psycopg
import pytest
from click.testing import CliRunner

from nsp import db
from nsp.access import Scope
from tests.support import nsp_serve
from tests.support.delivery import job_statuses, start_worker, wait_for

ENV = nsp_serve.CENTRE_ENV
INTERVAL = timedelta(seconds=10)


@pytest.fixture
def centre_b(db_url, pg_admin_url, sections_template):
    """Centre B: its database (two events in LV-EE-01) served by `nsp serve`; its root URL and database."""
    b_name = f"{db_url.rsplit('/', 1)[1]}_b"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{b_name}" TEMPLATE "{sections_template}"')
    b_url = db_url.rsplit("/", 1)[0] + "/" + b_name
    with db.connect(b_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code,
                                           distance_to_border_m, impact)
                        SELECT 'feed', 'b-' || i, 'unauthorised_border_crossing', now() - i * interval '1 hour',
                               ST_PointOnSurface(area), code, 50, 'high'
                          FROM border_section CROSS JOIN generate_series(1, 2) i WHERE code = 'LV-EE-01'""")
    b, root = nsp_serve.start({**os.environ, **ENV, "DATABASE_URL": b_url})
    try:
        nsp_serve.wait_until_answers(b, root + "/healthz", timeout=90)
        yield root, b_url
    finally:
        nsp_serve.stop(b)
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{b_name}" WITH (FORCE)')


def _row(conn) -> dict:
    return conn.execute("SELECT pulled_at, pull_ok_at, pull_error, pull_failures,"
                        " (SELECT count(*) FROM neighbour_feature WHERE neighbour = 'centre-b') AS features"
                        " FROM neighbour WHERE name = 'centre-b'").fetchone()


@pytest.mark.seconds(60)
def test_the_worker_pulls_a_neighbour_at_its_interval_and_records_a_failure(db_url, conn, centre_b, tmp_path):
    import dashboard.app  # noqa: F401 - the pages register with the app
    from dashboard.pages.main import side_panels
    from dashboard.scope import acting_as
    from nsp.cli import cli

    b_root, b_url = centre_b
    keys = dict(line.split(None, 1) for line in nsp_serve.as_centre(
        b_url, "shares", "add", "to-a", "--sections", "LV-EE-01", "--layers", "events").splitlines())
    out = CliRunner().invoke(cli, ["neighbours", "add", "centre-b", "--country", "LTU", "--pull-url",
                                   b_root + "/ogc", "--token", keys["token"], "--pull-interval", "10s"])
    assert out.exit_code == 0, out.output
    log = tmp_path / "worker.log"
    worker = start_worker(db_url, log=log, NSP_QUEUE_DELETE_JOBS="never")  # finished jobs kept, to be counted
    try:
        # pulled by the worker's periodic task, then again one interval later
        first = wait_for(lambda: (r := _row(conn))["pull_ok_at"] and r, 90, "the first scheduled pull", logs=(log,))
        assert first["features"] == 2 and first["pull_failures"] == 0
        second = wait_for(lambda: (r := _row(conn))["pulled_at"] > first["pulled_at"] and r, 90,
                          "the second scheduled pull", logs=(log,))
        assert second["pulled_at"] - first["pulled_at"] >= INTERVAL
        assert second["pull_ok_at"] == second["pulled_at"] and second["features"] == 2

        # B revokes the share: A's next pulls are refused, recorded and audited, never raised
        nsp_serve.as_centre(b_url, "shares", "revoke", "to-a")
        failed = wait_for(lambda: (r := _row(conn))["pull_failures"] >= 2 and r, 120, "two failed pulls",
                          logs=(log,))
        assert "centre-b" in failed["pull_error"] and "401" in failed["pull_error"], failed["pull_error"]
        assert failed["pull_ok_at"] == second["pull_ok_at"] and failed["features"] == 2  # the last picture stays
        assert worker.poll() is None

        # shown: `nsp neighbours list` and the feeds panel of those who see every section
        out = CliRunner().invoke(cli, ["neighbours", "list"])
        assert out.exit_code == 0 and "pull every 10 s: FAILING (" in out.output and "401" in out.output, out.output
        with acting_as(Scope(user="anna", role="watch_officer")):
            card = str(side_panels.feeds_view(0))
        assert "Neighbour pulls: 1 partners, 1 failing" in card and "centre-b (LTU)" in card and "401" in card
        with acting_as(Scope(user="janis", role="sector_commander", sections=("LV-BY-01",))):
            assert "Neighbour pulls" not in str(side_panels.feeds_view(0))

        # B gives a new share's token; A sets it, and the next scheduled pull works and clears the error
        new = dict(line.split(None, 1) for line in nsp_serve.as_centre(
            b_url, "shares", "add", "to-a-2", "--sections", "LV-EE-01", "--layers", "events").splitlines())
        out = CliRunner().invoke(cli, ["neighbours", "set", "centre-b", "--token", new["token"]])
        assert out.exit_code == 0, out.output
        back = wait_for(lambda: (r := _row(conn))["pull_failures"] == 0 and r, 90, "a good pull with the new token",
                        logs=(log,))
        assert back["pull_error"] is None and back["pull_ok_at"] > failed["pulled_at"] and back["features"] == 2
        with acting_as(Scope(user="anna", role="watch_officer")):
            assert "Neighbour pulls: 1 partners, 0 failing" in str(side_panels.feeds_view(0))
    finally:
        worker.terminate()
        worker.wait(30)
    statuses = job_statuses(db_url, "ingest.tasks.pull_neighbours")
    assert statuses.count("succeeded") >= 5 and "failed" not in statuses, statuses
    audit = conn.execute("SELECT actor, action, details FROM audit_log WHERE object = 'centre-b'"
                         " AND action LIKE 'neighbour_%%' AND action <> 'neighbour_load' ORDER BY id").fetchall()
    actions = [a["action"] for a in audit]
    assert actions[:3] == ["neighbour_add", "neighbour_pull", "neighbour_pull"], actions
    assert audit[1]["actor"] == "nsp worker" and audit[1]["details"] == {"loaded": 2, "quarantined": 0}
    failures = [a for a in audit if a["action"] == "neighbour_pull_failed"]
    assert len(failures) >= 2 and failures[0]["details"]["failures"] == 1 and "401" in failures[0]["details"]["error"]
    assert actions[-2:] == ["neighbour_set", "neighbour_pull"], actions  # the token changed, then pulled again
    assert audit[-2]["details"]["changed"] == ["pull_token"] and new["token"] not in str(audit[-2]["details"])
