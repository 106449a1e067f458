"""The read replica's lag on the screens, in a real Chromium: the main page's header and the
wall show it beside LIVE, and say REPLICA BEHIND once the standby's replay is paused past the
limit (a real standby, tests/support/standby.py)."""

from __future__ import annotations

import psycopg
import pytest
from selenium.webdriver.common.by import By

from nsp import db, replica
from nsp.settings import db_settings
from tests.support.browser import wait
from tests.support.chrome import screenshot
from tests.support.live import dashboard_app, serve
from tests.support.standby import primary_and_standby

DBNAME = "nsp_replica_web"
PASSWORD = "correct horse battery staple"


def _prepare(url: str) -> None:
    from tests.auth_helpers import make_user
    from tests.support.seed import seed_picture

    with db.connect(url, autocommit=True) as conn:
        seed_picture(conn, 30)
    make_user(url, "anna", "watch_officer", PASSWORD)


@pytest.fixture(scope="module")
def pair():
    with primary_and_standby(DBNAME, _prepare) as p:
        yield p


@pytest.fixture
def replica_site(pair, web_env, chromium, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pair.primary.url(DBNAME))
    monkeypatch.setenv("NSP_DB_READ_URL", pair.standby.url(DBNAME))
    monkeypatch.setenv("NSP_DB_READ_CHECK_SECONDS", "0.5")
    monkeypatch.setenv("NSP_DB_READ_MAX_LAG_SECONDS", "3")
    db_settings.cache_clear()
    db.close_pool()
    replica.reset()
    with serve(dashboard_app().server) as live:
        chromium.origins.add(live.url)
        yield live.url
    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_resume()")
    replica.reset()
    db.close_pool()
    db_settings.cache_clear()


def _status(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).get_attribute("textContent")


def test_the_header_and_the_wall_show_the_lag_and_replica_behind(pair, replica_site, browser):
    from tests.auth_helpers import login

    d = browser
    pair.wait_replayed()
    login(d, replica_site, "anna", PASSWORD)
    d.get(replica_site + "/")
    wait(d, 30).until(lambda x: "replica" in _status(x, "main-status"))
    assert "LIVE" in _status(d, "main-status") and "REPLICA BEHIND" not in _status(d, "main-status")
    screenshot(d, "replica-main-ok")
    d.get(replica_site + "/wall")
    wait(d, 30).until(lambda x: "replica" in _status(x, "wall-status"))

    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_pause()")
    with psycopg.connect(pair.primary.url(DBNAME), autocommit=True) as c:
        c.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('late', 'done', now())")
    wait(d, 30).until(lambda x: "REPLICA BEHIND" in _status(x, "wall-status"))
    assert "reads from the primary" in _status(d, "wall-status")
    screenshot(d, "replica-wall-behind")
    d.get(replica_site + "/")
    wait(d, 30).until(lambda x: "REPLICA BEHIND" in _status(x, "main-status"))
    assert "nsp-replica-lagging" in d.find_element(By.ID, "main-status").get_attribute("class")
    screenshot(d, "replica-main-behind")

    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_resume()")
    try:
        wait(d, 60).until(lambda x: "REPLICA BEHIND" not in _status(x, "main-status")
                          and "replica" in _status(x, "main-status"))
    except Exception:
        with psycopg.connect(pair.standby.url(), autocommit=True) as c:
            print("STANDBY", c.execute("SELECT pg_is_wal_replay_paused(), pg_last_wal_receive_lsn(), "
                                       "pg_last_wal_replay_lsn(), now() - pg_last_xact_replay_timestamp()").fetchone())
        with psycopg.connect(pair.primary.url(), autocommit=True) as c:
            print("PRIMARY", c.execute("SELECT pg_current_wal_lsn()").fetchone())
        print("STATE", replica.state(), _status(d, "main-status"))
        print(pair.standby.log_tail())
        raise
