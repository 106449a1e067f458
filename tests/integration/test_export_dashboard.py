"""The dashboard's "Export week": a real queue job run by a real worker gives the CLI's files."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from dashboard import exports as web
from geo.snapshot.settings import export_settings
from nsp.access import Scope
from nsp.cli import cli
from tests.support.delivery import run_worker_until_empty, start_worker, wait_for
from tests.support.export import WEEK, db_counts, export_routes, ogr_counts, seed_week

ANALYST = Scope("ana.lyst", "analyst")


@pytest.fixture
def out_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NSP_EXPORT_OUT_DIR", str(tmp_path / "snapshots"))
    monkeypatch.setenv("NSP_EXPORT_PDF", "false")
    export_settings.cache_clear()
    yield tmp_path / "snapshots"
    export_settings.cache_clear()


def test_dashboard_job_produces_the_same_files_as_the_cli(conn, db_url, out_dir, tmp_path):
    seed_week(conn)
    cli_out = tmp_path / "cli"
    r = CliRunner().invoke(cli, ["export", "weekly", "--week", WEEK.label, "--out", str(cli_out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    cli_folder = cli_out / "nsp-snapshot-2026-W40"
    assert r.output.splitlines()[-2:] == [str(cli_folder), str(cli_folder) + ".zip"]
    assert "Europe/Riga): 10 events, 3 patrols, 5 positions" in r.output  # no follow-ups: no "+ n"

    # the page's callback queues the job and returns at once
    import dashboard.app  # noqa: F401 - the app loads its pages, this one included
    from dashboard.pages.export import poll_export, run_export

    store, poll_disabled, text = run_export(1, WEEK.label, None, scope=ANALYST)
    assert poll_disabled is False and "queued" in text
    assert web.status(store["token"], ANALYST)["state"] == "queued"
    assert conn.execute("SELECT count(*) n FROM procrastinate_jobs WHERE task_name = "
                        "'geo.snapshot.tasks.export_week_job' AND status = 'todo'").fetchone()["n"] == 1

    done = run_worker_until_empty(db_url, timeout=300, NSP_EXPORT_PDF="false")
    assert done.returncode == 0, done.stderr[-2000:]

    text, href, style, poll_disabled = poll_export(1, store, scope=ANALYST)
    assert poll_disabled and style["display"] == "inline-block" and "ready: 10 events" in text
    assert href == f"/export/download/{store['token']}/nsp-snapshot-2026-W40.zip"
    job_folder = out_dir / "requests" / store["token"] / "nsp-snapshot-2026-W40"

    # same files, same layer counts, identical CSV, same manifest counts
    assert sorted(p.name for p in job_folder.iterdir()) == sorted(p.name for p in cli_folder.iterdir())
    assert ogr_counts(job_folder / "picture.gpkg") == ogr_counts(cli_folder / "picture.gpkg") == db_counts(conn)
    assert (job_folder / "events.csv").read_bytes() == (cli_folder / "events.csv").read_bytes()
    import json
    jm, cm = (json.loads((f / "manifest.json").read_text()) for f in (job_folder, cli_folder))
    assert jm["counts"] == cm["counts"] and jm["week"] == cm["week"] == "2026-W40"
    assert jm["generated_by"]["via"] == "dashboard" and jm["generated_by"]["user"] == "ana.lyst"
    assert jm["files"]["events.csv"]["sha256"] == cm["files"]["events.csv"]["sha256"]

    audit = conn.execute("SELECT actor, details->>'via' via FROM audit_log WHERE action = 'export' ORDER BY id").fetchall()
    assert [(a["actor"], a["via"]) for a in audit] == [(cm["generated_by"]["user"], "cli"), ("ana.lyst", "dashboard")]

    # the download route serves the zip to the requester only
    with export_routes(ANALYST) as (client, who):
        resp = client.get(href)
        assert resp.status_code == 200 and resp.mimetype == "application/zip"
        (tmp_path / "dl.zip").write_bytes(resp.data)
        with zipfile.ZipFile(tmp_path / "dl.zip") as z:
            assert "nsp-snapshot-2026-W40/events.csv" in z.namelist()
        who["scope"] = Scope("someone.else", "analyst")
        assert client.get(href).status_code == 404
        who["scope"] = ANALYST
        assert client.get(f"/export/download/{store['token']}/..%2Frequest.json").status_code == 404
        assert client.get("/export/download/not-a-token/x.zip").status_code == 404


def test_kiosk_and_admin_may_not_export(conn, out_dir):
    import dashboard.app  # noqa: F401
    from dashboard.pages.export import run_export

    for scope in (Scope("wall", "kiosk", ()), Scope("root", "admin", ())):
        store, disabled, text = run_export(1, WEEK.label, None, scope=scope)
        assert store is None and disabled is True and "may not export" in text
    assert conn.execute("SELECT count(*) n FROM procrastinate_jobs").fetchone()["n"] == 0


def test_scheduled_task_exports_the_last_complete_week_and_keeps_n(conn, out_dir, monkeypatch):
    import datetime as dt

    from geo.snapshot import tasks

    seed_week(conn)
    monkeypatch.setenv("NSP_EXPORT_KEEP", "2")
    export_settings.cache_clear()
    for old in ("2026-W36", "2026-W37", "2026-W38"):
        (out_dir / f"nsp-snapshot-{old}").mkdir(parents=True)
        (out_dir / f"nsp-snapshot-{old}.zip").write_bytes(b"old")
    # the Monday after WEEK, 06:00 Riga time: the timestamp procrastinate passes to the task
    monday = dt.datetime(2026, 10, 5, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    result = tasks.weekly_snapshot(int(monday.timestamp()))
    assert result["folder"] == str(out_dir / "nsp-snapshot-2026-W40")
    assert result["counts"]["events"] == 10
    assert sorted(result["removed"]) == ["nsp-snapshot-2026-W36", "nsp-snapshot-2026-W37"]
    assert sorted(p.name for p in out_dir.iterdir() if p.is_dir()) == ["nsp-snapshot-2026-W38",
                                                                       "nsp-snapshot-2026-W40"]
    row = conn.execute("SELECT actor, details->>'via' via FROM audit_log WHERE action = 'export'").fetchone()
    assert (row["actor"], row["via"]) == ("scheduler", "schedule")


def test_scheduled_monthly_indicators_are_made_kept_listed_and_downloaded(conn, out_dir, monkeypatch):
    import datetime as dt

    import dashboard.app  # noqa: F401 - the export page registers its routes on the app
    from dashboard.pages.export import scheduled_list
    from geo.snapshot import tasks

    seed_week(conn)  # 2026-W40: 28 September - 4 October, so September and October
    monkeypatch.setenv("NSP_EXPORT_KEEP", "2")
    export_settings.cache_clear()
    for old in ("2026-07", "2026-08"):
        (out_dir / f"nsp-indicators-{old}").mkdir(parents=True)
        (out_dir / f"nsp-indicators-{old}.zip").write_bytes(b"old")
    # the 2nd of November, 06:00 Riga time: October's indicators
    second = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    result = tasks.monthly_indicators(int(second.timestamp()))
    assert result["folder"] == str(out_dir / "nsp-indicators-2026-10")
    assert result["removed"] == ["nsp-indicators-2026-07"]
    assert sorted(p.name for p in out_dir.iterdir() if p.is_dir()) == ["nsp-indicators-2026-08",
                                                                       "nsp-indicators-2026-10"]
    csv_text = (out_dir / "nsp-indicators-2026-10" / "indicators.csv").read_text()
    assert "2026-10,TOTAL,all sections of the export,events,events,Events (first reports)," in csv_text
    row = conn.execute("SELECT actor, object, details->>'via' via FROM audit_log WHERE action = 'export'").fetchone()
    assert (row["actor"], row["object"], row["via"]) == ("scheduler", "2026-10", "schedule")

    listed = web.scheduled_snapshots(ANALYST)
    assert [it.get("month") for it in listed] == ["2026-10", "2026-08"]
    assert "Monthly indicators 2026-10" in str(scheduled_list(ANALYST))
    with export_routes(ANALYST) as (client, _who):
        resp = client.get(listed[0]["url"])
        assert resp.status_code == 200 and resp.mimetype == "application/zip" and resp.data[:2] == b"PK"
        assert client.get("/export/scheduled/nsp-indicators-2026-10-LV-BY-01.zip").status_code == 404
    # the task is on the queue's schedule, at 06:00 on the 2nd
    assert ("geo.snapshot.tasks.monthly_indicators", tasks.MONTHLY_ID) in tasks.app.periodic_registry.periodic_tasks


def test_the_schedules_snapshots_are_listed_and_downloaded_by_those_who_see_every_section(conn, out_dir):
    import dashboard.app  # noqa: F401 - the export page registers its routes on the app
    from dashboard.pages.export import scheduled_list, week_choices

    out_dir.mkdir(parents=True)
    for name, data in (("nsp-snapshot-2026-W39.zip", b"PK-39"), ("nsp-snapshot-2026-W40.zip", b"PK-40"),
                       ("nsp-snapshot-2026-W40-LV-BY-01.zip", b"a commander's")):
        (out_dir / name).write_bytes(data)
    listed = web.scheduled_snapshots(ANALYST)
    assert [it["week"] for it in listed] == ["2026-W40", "2026-W39"]  # newest first, all sections only
    assert listed[0]["url"] == "/export/scheduled/nsp-snapshot-2026-W40.zip"
    commander = Scope("cmd", "sector_commander", ("LV-BY-01",))
    assert web.scheduled_snapshots(commander) == [] and web.scheduled_snapshots(Scope("wall", "kiosk")) == []
    assert "2026-W40" in str(scheduled_list(ANALYST)) and "2026-W40" not in str(scheduled_list(commander))

    with export_routes(ANALYST) as (client, who):
        resp = client.get(listed[0]["url"])
        assert resp.status_code == 200 and resp.data == b"PK-40" and resp.mimetype == "application/zip"
        for path in ("/export/scheduled/nsp-snapshot-2026-W40-LV-BY-01.zip",  # not the schedule's
                     "/export/scheduled/..%2Fsecret.zip", "/export/scheduled/nsp-snapshot-2026-W41.zip"):
            assert client.get(path).status_code == 404, path
        who["scope"] = commander
        assert client.get(listed[0]["url"]).status_code == 404
    rows = conn.execute("SELECT actor, object FROM audit_log WHERE action = 'snapshot_download'").fetchall()
    assert [(r["actor"], r["object"]) for r in rows] == [("ana.lyst", "nsp-snapshot-2026-W40.zip")]
    # the picker goes back a quarter: last complete week, this week, then 12 earlier ones
    weeks = [c["value"] for c in week_choices("Europe/Riga")]
    assert len(weeks) == 14 and len(set(weeks)) == 14 and weeks[2] < weeks[0] < weeks[1]


def test_cli_as_user_exports_under_that_users_scope(conn, db_url, tmp_path):
    from tests.auth_helpers import make_user

    seed_week(conn)
    make_user(db_url, "cmdr.silene", "sector_commander", sections=["LV-BY-01"])
    r = CliRunner().invoke(cli, ["export", "weekly", "--week", WEEK.label, "--out", str(tmp_path), "--no-pdf",
                                 "--as-user", "cmdr.silene"])
    assert r.exit_code == 0, r.output
    folder = tmp_path / "nsp-snapshot-2026-W40-LV-BY-01"
    assert ogr_counts(folder / "picture.gpkg") == db_counts(conn, ["LV-BY-01"])
    r = CliRunner().invoke(cli, ["export", "weekly", "--week", WEEK.label, "--out", str(tmp_path), "--no-pdf",
                                 "--as-user", "cmdr.silene", "--sections", "LV-BY-02"])
    assert r.exit_code == 1 and "may not export section(s): LV-BY-02" in r.output
    r = CliRunner().invoke(cli, ["export", "weekly", "--week", "2026-W60", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "2026-W60 is not an ISO week" in r.output
    r = CliRunner().invoke(cli, ["export", "weekly", "--out", str(tmp_path), "--as-user", "nobody"])
    assert r.exit_code == 1 and "no active nsp user 'nobody'" in r.output


def test_a_tests_worker_runs_no_scheduled_export_that_fell_due_just_before_it_started(db_url, conn, tmp_path):
    """A worker runs a scheduled export that fell due up to ten minutes before it started: with the
    schedules of the tests' workers (tests/support/delivery.py) it runs none; with one due a minute
    ago it runs the weekly snapshot."""
    due = datetime.now(ZoneInfo(export_settings().timezone)) - timedelta(minutes=1)
    out = tmp_path / "snapshots"
    env = {"NSP_EXPORT_OUT_DIR": str(out), "NSP_EXPORT_PDF": "false"}

    def run(log, **more):
        worker = start_worker(db_url, log=log, **env, **more)
        try:
            # the periodic runs due at its start are deferred (deliver_alerts falls due every 15 s)
            wait_for(lambda: "periodic_task_deferred" in log.read_text(), 30, "the periodic runs due", logs=(log,))
            if more:
                wait_for(lambda: list(out.glob("nsp-snapshot-*.zip")), 60, "the weekly snapshot", logs=(log,))
        finally:
            worker.terminate()
            worker.wait(30)

    run(tmp_path / "w1.log")
    assert "weekly_snapshot" not in (tmp_path / "w1.log").read_text().split("periodic_task_deferred", 1)[1]
    assert not out.exists()
    run(tmp_path / "w2.log", NSP_EXPORT_SCHEDULE=f"{due.minute} {due.hour} * * *")
    assert len(list(out.glob("nsp-snapshot-*.zip"))) == 1
