"""``nsp cot-out --layers own_assets,vessels``: own units' and vessels' latest positions, read
under the user's scope, sent with pytak to a pytak receiver. Own units go friendly (``a-f-G-…``)
with their call sign and ``__group``, a new position moves the marker, a position older than
the layer's age limit goes stale then and is deleted; another section's unit never goes."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta

import pytest

from geo.cot_stream import Destination, make_share, run
from ingest.formats.base import ParseOptions, Position
from ingest.formats.cot import CotFormat
from tests.auth_helpers import make_user
from tests.support.cot_schema import check_event
from tests.support.tak import Receiver, deleted, of, uids

FAST = {"poll": timedelta(seconds=0.2), "resend": timedelta(minutes=5)}
AGE = timedelta(seconds=40)  # the own units' age limit in the test


def _position(conn, object_id: str, kind: str, section: str, ago: str, patrol: str | None = None,
              shift: float = 0.0, object_type: str | None = None) -> datetime:
    """A position of ``object_id`` at the section's inside point (moved ``shift`` degrees east),
    observed ``ago`` (an interval) ago; its observed_at."""
    return conn.execute(
        "INSERT INTO asset_position (source, object_id, kind, object_type, observed_at, geom, speed_kn, course_deg,"
        " section_code, patrol_id)"
        " SELECT 'test', %s, %s, %s, date_trunc('milliseconds', now()) - %s::interval,"
        "        ST_Translate(ST_PointOnSurface(area), %s, 0), 10, 90, code, %s::uuid"
        "   FROM border_section WHERE code = %s RETURNING observed_at",
        (object_id, kind, object_type, ago, shift, patrol, section)).fetchone()["observed_at"]


@pytest.mark.seconds(20)
def test_own_assets_and_vessels_arrive_move_and_go_stale_within_the_users_scope(conn, db_url):
    make_user(db_url, "cmd-by1", "sector_commander", sections=["LV-BY-01"])
    patrol = str(conn.execute(
        "INSERT INTO patrol (source, source_ref, unit, mode, started_at, ended_at, track, section_codes)"
        " SELECT 'test', 'p1', 'BY1-CAR', 'vehicle', now() - interval '1 hour', now(),"
        "        ST_Multi(ST_MakeLine(ST_PointOnSurface(area), ST_Translate(ST_PointOnSurface(area), 0.01, 0))),"
        "        ARRAY[code] FROM border_section WHERE code = 'LV-BY-01' RETURNING id").fetchone()["id"])
    conn.execute("INSERT INTO tracked_object (object_id, kind, name, callsign) VALUES"
                 " ('BY1-CAR', 'own', 'Patrol car 1', 'ALFA-1'), ('BY1-FOOT', 'own', 'Foot patrol', 'BRAVO-2')")
    _position(conn, "BY1-CAR", "own", "LV-BY-01", "30 seconds", patrol=patrol)
    fading = _position(conn, "BY1-FOOT", "own", "LV-BY-01", "20 seconds")
    _position(conn, "BY1-OLD", "own", "LV-BY-01", "2 minutes")  # older than the age limit: never sent
    _position(conn, "BY2-CAR", "own", "LV-BY-02", "10 seconds")  # outside the commander's scope
    _position(conn, "MMSI:275000001", "vessel", "LV-BY-01", "1 minute", object_type="Cargo")
    car, foot = "nsp.own_assets.BY1-CAR", "nsp.own_assets.BY1-FOOT"
    vessel = "nsp.vessels.MMSI:275000001"

    async def scenario():
        rx = Receiver()
        port = await rx.start()
        share = make_share("cmd-by1", layers=["own_assets", "vessels"], max_age={"own_assets": AGE}, **FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"tcp://127.0.0.1:{port}"), stop=stop))
        await rx.wait_for(lambda m: {car, foot, vessel} <= set(uids(m)))
        moved = await asyncio.to_thread(_position, conn, "BY1-CAR", "own", "LV-BY-01", "1 second",
                                        patrol, 0.01)
        await rx.wait_for(lambda m: len(of(m, car)) >= 2)
        await rx.wait_for(lambda m: foot in deleted(m), timeout=AGE.total_seconds() + 20)  # aged out
        stop.set()
        await task
        await rx.close()
        return rx, moved

    rx, moved = asyncio.run(scenario())
    sent = set(uids(rx.messages))
    assert "nsp.own_assets.BY2-CAR" not in sent and "nsp.own_assets.BY1-OLD" not in sent
    assert car not in deleted(rx.messages)
    first, last = of(rx.messages, car)[0], of(rx.messages, car)[-1]
    assert first.get("type") == "a-f-G-E-V"  # friendly, a vehicle from its patrol's mode
    assert first.find("detail/contact").get("callsign") == "ALFA-1"
    assert first.find("detail/__group").get("name") == "Cyan"
    assert "Own unit: Patrol car 1" in first.find("detail/remarks").text
    assert float(last.find("point").get("lon")) - float(first.find("point").get("lon")) > 0.009  # moved east
    assert f"Reported: {moved.strftime('%Y-%m-%dT%H:%M:%S')}" in last.find("detail/remarks").text
    assert abs(float(first.find("detail/track").get("speed")) - 10 * 1852 / 3600) < 0.01  # m/s
    foot_msg = of(rx.messages, foot)[0]
    assert foot_msg.get("type") == "a-f-G-U-C"  # friendly ground unit: no type known
    stale = datetime.fromisoformat(foot_msg.get("stale").replace("Z", "+00:00"))
    assert abs((stale - (fading + AGE)).total_seconds()) < 0.002  # stale when the position is too old
    assert of(rx.messages, vessel)[0].get("type") == "a-u-S"
    for msg in rx.messages:
        assert check_event(msg) == [], msg
    # the receiver's side reads the friendly positions back through nsp's own CoT parser
    records = list(CotFormat(ParseOptions(source="tak")).parse(io.BytesIO(b"".join(rx.messages))))
    assert {car, foot} <= {r.object_id for r in records if isinstance(r, Position)}
