"""The demo's history received as it would have been: a replay of a past time shows the
events known then (ingest/delivery/history_receipt.py, through the real scenario files and pipeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from geo import picture
from geo.picture import PictureFilter
from ingest.delivery.demo import DEMO_FEEDS, Demo
from ingest.delivery.history_receipt import receive_as_reported
from ingest.delivery.scenario import Scenario
from ingest.loading.pipeline import ingest_file
from nsp.access import Scope

OFFICER = Scope(user="anna", role="watch_officer")
BOARDS = ("daugavpils-board", "ludza-board", "sensors", "patrol-gps")


def _load_history(tmp_path, days: int = 3) -> Scenario:
    scenario = Scenario(seed=3, days=days, end=datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    scenario.write(tmp_path)
    for folder in BOARDS:  # the event and patrol feeds (positions do not take part in a replay)
        for path in sorted((tmp_path / folder).glob("*")):
            ingest_file(path, source=folder)
    return scenario


def test_the_history_is_received_over_its_own_time_and_replay_shows_it(db_url, conn, tmp_path):
    loaded_since = datetime.now(UTC) - timedelta(seconds=1)
    scenario = _load_history(tmp_path)
    loaded = conn.execute("SELECT count(*) AS n, min(received_at) AS first FROM event").fetchone()
    assert loaded["n"] > 20 and loaded["first"] >= loaded_since  # all received at the load, as before
    day_ago = loaded_since - timedelta(days=1)
    before = picture.events_layer(OFFICER, PictureFilter(start=day_ago - timedelta(days=1), end=day_ago,
                                                         known_at=day_ago))
    assert before["total"] == 0  # what the demo's replay showed: nothing known then

    done = receive_as_reported(conn, [s for s, _ in DEMO_FEEDS], loaded_since, scenario.end, until=loaded_since)
    assert done.events == loaded["n"] and done.patrols > 0
    rows = conn.execute("SELECT occurred_at, reported_at, received_at FROM event").fetchall()
    assert all(r["occurred_at"] <= r["received_at"] <= loaded_since for r in rows)
    # reported when the source sent it (the board's reported_at), received minutes after that
    reported = [r for r in rows if r["reported_at"] and r["reported_at"] > r["occurred_at"]
                and r["reported_at"] < loaded_since - timedelta(hours=1)]
    assert reported and all(timedelta(0) <= r["received_at"] - r["reported_at"] <= timedelta(minutes=15)
                            for r in reported)
    delays = sorted(r["received_at"] - r["occurred_at"] for r in rows)
    assert delays[len(delays) // 2] < timedelta(hours=3)  # mostly within the hour or two
    # spread over the history's window, not bunched at the load
    spread = conn.execute("SELECT count(DISTINCT date_trunc('hour', received_at)) AS hours, "
                          "max(received_at) - min(received_at) AS span FROM event").fetchone()
    assert spread["hours"] >= 20 and spread["span"] > timedelta(days=2)
    assert conn.execute("SELECT count(*) AS n FROM patrol WHERE received_at < ended_at "
                        "OR received_at > %s", (loaded_since,)).fetchone()["n"] == 0

    # a replay a day back, as known then: the events received by then, a non-zero count
    after = picture.events_layer(OFFICER, PictureFilter(start=day_ago - timedelta(days=1), end=day_ago,
                                                        known_at=day_ago))
    known = conn.execute("SELECT count(*) AS n FROM event WHERE parent_id IS NULL AND validation <> 'rejected' "
                         "AND occurred_at >= %s AND occurred_at < %s AND received_at <= %s",
                         (day_ago - timedelta(days=1), day_ago, day_ago)).fetchone()["n"]
    assert after["total"] == known > 0
    # a second pass sets the same times (drawn from each row's id)
    first = {r["id"]: r["received_at"] for r in conn.execute("SELECT id, received_at FROM event")}
    receive_as_reported(conn, [s for s, _ in DEMO_FEEDS], loaded_since - timedelta(days=9), scenario.end,
                        until=loaded_since)
    assert {r["id"]: r["received_at"] for r in conn.execute("SELECT id, received_at FROM event")} == first


def test_the_demo_leaves_the_live_feed_and_other_sources_alone(db_url, conn, tmp_path):
    from tests.support.seed import ensure_sections, insert_event

    ensure_sections(conn)
    now = datetime.now(UTC)
    live = insert_event(conn, source="daugavpils-board", ref="live", occurred_at=now + timedelta(minutes=5),
                        received_at=now + timedelta(minutes=6))
    other = insert_event(conn, source="someone-else", ref="other", occurred_at=now - timedelta(days=2),
                         received_at=now)
    demo = Demo(tmp_path / "demo", days=1, serve=False)
    assert demo.receive_history() == 0  # not started: nothing to do
    demo.loaded_since, demo.history_end = now - timedelta(seconds=1), now
    demo.receive_history()
    got = {r["id"]: r["received_at"] for r in conn.execute("SELECT id::text AS id, received_at FROM event")}
    assert got[live] == now + timedelta(minutes=6) and got[other] == now
