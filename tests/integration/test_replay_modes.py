"""Replay in two modes against a real PostGIS: "as known then" (the reports received by T,
the decisions taken by T) and "as happened" (what occurred by T, from every report held now).

The events' received_at and occurred_at differ: a report in time, a report that came in after
T (late), and an event after T; the NCC raised one event's impact after T, and changed a
section's level after T.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.state import build_query, parse_query, to_filter
from geo import picture
from geo.picture import PictureError, PictureFilter
from nsp import db
from nsp.access import Scope
from tests.support.seed import ensure_sections, insert_event

OFFICER = Scope(user="anna", role="watch_officer")


@pytest.fixture
def replay(empty_db_url):
    now = datetime.now(UTC).replace(microsecond=0)
    at = now - timedelta(hours=10)
    with db.connect(empty_db_url, autocommit=True) as conn:
        ensure_sections(conn)
        ids = {
            # occurred 2 h before T, reported 1 h before T: in both
            "in_time": insert_event(conn, code="LV-BY-01", occurred_at=at - timedelta(hours=2),
                                    received_at=at - timedelta(hours=1), ref="in-time", impact="medium"),
            # occurred 3 h before T, its report came in 3 h after T: as happened only
            "late": insert_event(conn, code="LV-BY-02", occurred_at=at - timedelta(hours=3),
                                 received_at=at + timedelta(hours=3), ref="late", impact="high"),
            # occurred after T: in neither
            "after": insert_event(conn, code="LV-BY-01", occurred_at=at + timedelta(hours=1),
                                  received_at=at + timedelta(hours=1, minutes=30), ref="after"),
        }
        # after T (now), the NCC raised the first event's impact and LV-BY-01's level
        picture.decide_event(OFFICER, ids["in_time"], "impact", "confirmed by the patrol", impact="very_high")
        picture.change_level(OFFICER, "LV-BY-01", "critical", "raised after T")
        yield conn, at, ids


def _ids(f: PictureFilter) -> dict[str, str]:
    """Event id -> impact, from the map's points."""
    ev = picture.events_layer(OFFICER, f)
    return {feat["properties"]["id"]: feat["properties"]["imp"]
            for fc in ev["layers"].values() for feat in fc["features"]}


def test_as_known_then_shows_what_had_been_received_and_decided_by_then(replay):
    _conn, at, ids = replay
    f = PictureFilter(start=at - timedelta(hours=24), end=at, known_at=at, replay="known")
    assert _ids(f) == {ids["in_time"]: "medium"}  # the impact before the NCC's decision
    assert [r["id"] for r in picture.event_rows(OFFICER, f)] == [ids["in_time"]]
    stats = {r["code"]: r for r in picture.section_table(OFFICER, f)}
    assert (stats["LV-BY-01"]["events"], stats["LV-BY-02"]["events"]) == (1, 0)
    assert stats["LV-BY-01"]["impact_level"] == "high"  # the level in force at T (the seed's)


def test_as_happened_shows_every_event_that_occurred_by_then_as_held_now(replay):
    _conn, at, ids = replay
    f = PictureFilter(start=at - timedelta(hours=24), end=at, known_at=at, replay="happened")
    assert _ids(f) == {ids["in_time"]: "very_high", ids["late"]: "high"}  # the late report too
    assert sorted(r["id"] for r in picture.event_rows(OFFICER, f)) == sorted([ids["in_time"], ids["late"]])
    stats = {r["code"]: r for r in picture.section_table(OFFICER, f)}
    assert (stats["LV-BY-01"]["events"], stats["LV-BY-02"]["events"]) == (1, 1)
    assert stats["LV-BY-01"]["impact_level"] == "high"  # still the level in force at T, not today's
    _bucket, series = picture.timeseries(OFFICER, f)
    assert sum(r["n"] for r in series) == 2
    # a week's window: whole days from the pre-aggregate, which holds no receipt times
    week = PictureFilter(start=at - timedelta(days=7), end=at, known_at=at, replay="happened")
    known = PictureFilter(start=at - timedelta(days=7), end=at, known_at=at, replay="known")
    assert sum(r["events"] for r in picture.section_table(OFFICER, week)) == 2
    assert sum(r["events"] for r in picture.section_table(OFFICER, known)) == 1


def test_the_link_keeps_the_mode_and_the_filter_takes_it(replay):
    _conn, at, ids = replay
    stamp = at.strftime("%Y-%m-%dT%H:%M")
    state = parse_query(f"window=24h&at={stamp}&replay=happened")
    assert state["replay"] == "happened"
    assert "replay=happened" in build_query(state) and f"at={stamp}" in build_query(state)
    f = to_filter(state)
    assert f.replay == "happened" and f.received_by is None and f.known_at is not None
    assert set(_ids(f)) == {ids["in_time"], ids["late"]}
    known = parse_query(f"window=24h&at={stamp}")
    assert known["replay"] == "known" and "replay" not in build_query(known)
    assert set(_ids(to_filter(known))) == {ids["in_time"]}
    ignored: list[str] = []
    assert parse_query("at=2026-11-20T12:00&mode=as-happened", ignored=ignored)["replay"] == "happened"
    assert parse_query("replay=sideways", ignored=ignored)["replay"] == "known"
    assert ignored == ["replay=sideways"]
    with pytest.raises(PictureError, match="unknown replay mode"):
        PictureFilter(start=at, end=at + timedelta(hours=1), replay="sideways")
