"""``nsp cot-out`` lives through a database outage: a PostgreSQL cluster of the test's own
(tests/support/standby.py, its primary only), stopped and started under a running share that
streams to a pytak receiver. The TAK stream stays the one connection, the outage is logged
once, and once the database is back the whole picture goes again and every change after it
arrives: nothing is lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import psycopg
import pytest

from geo import sections
from geo.cot_stream import Destination, make_share, run
from nsp import db
from nsp.settings import db_settings, geo_settings
from tests.auth_helpers import make_user
from tests.support.standby import PrimaryAndStandby
from tests.support.tak import Receiver, deleted, of, uids

DBNAME = "nsp_cot_outage"


@pytest.fixture
def cluster_url(monkeypatch):
    """A private cluster (its primary) with a migrated database and Latvia's sections, and a
    watch officer; DATABASE_URL points at it."""
    cluster = PrimaryAndStandby()
    try:
        url = db.ensure_database(cluster.primary.url(), DBNAME)
        db.migrate(url)
        sections.load(url, geo_settings().sections_path, actor="system")
        make_user(url, "duty", "watch_officer")
        monkeypatch.setenv("DATABASE_URL", url)
        db_settings.cache_clear()
        db.close_pool()
        yield cluster, url
    finally:
        db.close_pool()
        db_settings.cache_clear()
        cluster.remove()


def _insert(url: str, ref: str) -> str:
    with psycopg.connect(url, autocommit=True) as c:
        return str(c.execute(
            "INSERT INTO event (source, source_ref, category, subtype, impact, occurred_at, geom, section_code,"
            " distance_to_border_m) SELECT 'test', %s, 'cross_border_crime', 'suspect_vehicle', 'medium',"
            " now() - interval '5 minutes', ST_PointOnSurface(area), code, 100"
            " FROM border_section WHERE code = 'LV-BY-01' RETURNING id", (ref,)).fetchone()[0])


def _close(url: str, event_id: str) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("UPDATE event SET status = 'closed', closed_at = now() WHERE id = %s", (event_id,))


@pytest.mark.seconds(15)
def test_a_database_outage_keeps_the_tak_stream_and_loses_nothing(cluster_url, caplog):
    cluster, url = cluster_url
    before = {ref: _insert(url, ref) for ref in ("before-1", "before-2")}
    uid = {ref: f"nsp.event.{i}" for ref, i in before.items()}

    async def scenario():
        rx = Receiver()
        port = await rx.start()
        share = make_share("duty", layers=["events"], poll=timedelta(seconds=0.2), resend=timedelta(minutes=5),
                           db_timeout=2.0)
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"tcp://127.0.0.1:{port}"), stop=stop,
                                       db_max_backoff=1.0))
        await rx.wait_for(lambda m: set(uid.values()) <= set(uids(m)))
        sent_before = len(rx.messages)

        await asyncio.to_thread(cluster.primary.stop)  # the outage
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while not any("database unreachable" in r.getMessage() for r in caplog.records):
            assert loop.time() < end and not task.done(), "cot-out did not notice the outage"
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # a few tries of the back-off, against a database that is still down
        assert not task.done()
        assert len(rx.messages) == sent_before and len(rx.peers) == 1  # nothing sent, the stream still open

        await asyncio.to_thread(cluster.primary.start)  # the database is back
        await rx.wait_for(lambda m: all(len(of(m, u)) >= 2 for u in uid.values()), timeout=60)  # sent again
        after = await asyncio.to_thread(_insert, url, "after")
        await asyncio.to_thread(_close, url, before["before-1"])
        await rx.wait_for(lambda m: f"nsp.event.{after}" in uids(m) and uid["before-1"] in deleted(m))
        stop.set()
        counters = await asyncio.wait_for(task, 30)
        await rx.close()
        return rx, counters

    with caplog.at_level(logging.INFO, logger="nsp.cot_out"):
        rx, counters = asyncio.run(scenario())
    assert counters.connects == 1 and len(rx.peers) == 1  # one TAK connection throughout
    assert counters.outages == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("database unreachable" in m for m in messages) == 1, messages  # logged once
    assert sum("database reachable again" in m for m in messages) == 1, messages
    assert uid["before-2"] not in deleted(rx.messages)
