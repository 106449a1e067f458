"""The demo scenario: deterministic, plausible, and readable by the real parsers."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import Point

from ingest.delivery.scenario import LOCAL, Live, Scenario, geography
from ingest.formats.base import Event, ParseOptions, Patrol, Position, Rejected, TrackedObject, formats

END = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
FOLDER_FORMAT = {"daugavpils-board": "geojson", "sensors": "geojson", "ludza-board": "csv",
                 "patrol-gps": "gpx", "tak": "cot", "ais": "ais", "remote-id": "remoteid"}


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("week")
    Scenario(seed=7, end=END, days=7).write(out)
    return out


def parse_all(path: Path, fmt: str) -> list:
    cls = formats()[fmt]
    with path.open("rb") as fh:
        return list(cls(ParseOptions(source=path.parent.name, file_name=path.name)).parse(fh))


@pytest.mark.seconds(10)
def test_same_seed_same_files_other_seed_other_files(week, tmp_path):
    Scenario(seed=7, end=END, days=7).write(tmp_path / "again")
    Scenario(seed=8, end=END, days=7).write(tmp_path / "other")
    assert digest(week) == digest(tmp_path / "again")
    other = digest(tmp_path / "other")
    assert other != digest(week) and set(other) & set(digest(week))


def test_a_window_ending_later_writes_the_same_days_the_same(week, tmp_path):
    """A demo restarted an hour later writes its history again: the days both windows hold
    whole are byte for byte the same, so the refs already stored mean the same events."""
    Scenario(seed=7, end=END + timedelta(hours=1), days=7).write(tmp_path / "later")
    first, later = digest(week), digest(tmp_path / "later")
    whole = {name for name in first if any(f"{d:%Y%m%d}" in name for d in (
        datetime(2026, 11, 16 + k) for k in range(1, 6)))}  # 17-21 Nov: inside both windows
    assert len(whole) > 20
    assert {n: first[n] for n in whole} == {n: later[n] for n in whole}


def test_every_feed_is_written_and_nothing_is_left_half_written(week):
    assert {p.name for p in week.iterdir()} == set(FOLDER_FORMAT)
    assert not list(week.rglob("*.part"))


@pytest.mark.parametrize("folder", sorted(FOLDER_FORMAT))
def test_files_parse_with_the_real_parsers_without_rejections(week, folder):
    fmt = FOLDER_FORMAT[folder]
    assert fmt in formats(), f"the {fmt} parser is not registered"
    records = [r for f in sorted((week / folder).iterdir()) for r in parse_all(f, fmt)]
    assert records
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert rejected == []
    kinds = Counter(type(r) for r in records)
    if folder == "patrol-gps":
        assert kinds[Patrol] >= 7 * 3 - 3 and kinds[Position] > 500
    elif folder == "ais":
        assert kinds[Position] > 5000 and kinds[TrackedObject] > 0
    elif folder == "tak":
        assert kinds[Position] > 1000  # own assets
        assert kinds[Event] > 0  # UAV and suspect-vessel markers
    elif folder == "remote-id":  # every other night a drone from Belarus: its fixes and its UAS id
        drones = {r.object_id for r in records if isinstance(r, Position)}
        assert 3 <= len(drones) <= 4 and kinds[TrackedObject] == len(drones)
        assert {r.kind for r in records if isinstance(r, Position)} == {"uav"}
    else:
        assert kinds[Event] == len(records)


def _events(week) -> list[dict]:
    out = []
    for f in sorted((week / "daugavpils-board").iterdir()):
        out += [ft for ft in json.loads(f.read_text())["features"]]
    return out


def test_crossings_are_groups_on_the_belarusian_border_mostly_at_night(week):
    geo = geography()
    crossings = [f for f in _events(week) if f["properties"]["category"] == "unauthorised_border_crossing"
                 and "parent_ref" not in f["properties"]]  # first reports
    assert 7 * 8 <= len(crossings) <= 8 * 18
    night = 0
    for f in crossings:
        p = geo.metric(*f["geometry"]["coordinates"])
        assert geo.latvia.contains(p), f  # inside Latvia
        assert geo.lines["BLR"].distance(p) <= 3000, f  # within 3 km of the Belarusian border
        assert 5 <= f["properties"]["persons"] <= 40
        hour = datetime.fromisoformat(f["properties"]["occurred_at"]).astimezone(LOCAL).hour
        night += hour >= 20 or hour < 6
    assert night / len(crossings) > 0.65
    impacts = Counter(f["properties"]["impact"] for f in crossings)
    assert impacts["low"] + impacts["medium"] > impacts["high"] + impacts["very_high"] > 0
    # concentrated around Krāslava-Silene-Daugavpils
    hot = geo.metric(26.85, 55.80)
    near = sum(geo.metric(*f["geometry"]["coordinates"]).distance(hot) < 40_000 for f in crossings)
    assert near / len(crossings) > 0.7


def test_high_crossings_get_follow_up_reports_and_some_sightings_are_rejected(week):
    """EUROSUR's follow-up reports (linked to their first report) and reports their source
    rejected on validation: the picture leaves both out of its counts, so the demo has both."""
    events = _events(week)
    by_ref = {f["properties"]["id"]: f["properties"] for f in events}
    follow = [f["properties"] for f in events if "parent_ref" in f["properties"]]
    assert follow
    for p in follow:
        first = by_ref[p["parent_ref"]]  # in the same feed
        assert first["impact"] in ("high", "very_high") and "parent_ref" not in first
        assert p["id"] == first["id"] + "-F1" and p["description"].startswith("Follow-up: ")
        assert p["occurred_at"] > first["occurred_at"]
    high = [p for p in by_ref.values() if p["impact"] in ("high", "very_high") and "parent_ref" not in p
            and p["category"] == "unauthorised_border_crossing"]
    assert 0.4 < len(follow) / len(high) <= 1
    sightings = [json.loads(line)["properties"] for f in sorted((week / "sensors").iterdir())
                 for line in f.read_text().splitlines()]
    rejected = [p for p in sightings if p.get("validation") == "rejected"]
    assert rejected and len(rejected) < len(sightings) / 2
    assert all("birds" in p["description"] for p in rejected)
    # the TAK network's markers show the sightings that stand, not the rejected ones
    markers = "".join(f.read_text() for f in sorted((week / "tak").iterdir()))
    assert all(f'MARKER-{p["id"]}"' not in markers for p in rejected)
    assert any(f'MARKER-{p["id"]}"' in markers for p in sightings if p not in rejected)


def test_vessels_stay_at_sea(week):
    import json as _json

    from shapely.geometry import shape
    from shapely.ops import unary_union

    land = unary_union([shape(f["geometry"]) for f in _json.loads(
        (Path(__file__).resolve().parents[2] / "assets/geodata/latvia/countries.geojson").read_text())["features"]])
    fixes = [r for r in parse_all(sorted((week / "ais").iterdir())[1], "ais") if isinstance(r, Position)]
    assert fixes and not any(land.contains(Point(r.lon, r.lat)) for r in fixes)


def _run_live(out: Path, start: datetime, speed: float, hours: float, seed: int = 3) -> list[tuple[datetime, Path]]:
    """Steps of a live feed every 30 s of real time: [(when, path written)]."""
    live = Live(out, seed=seed, speed=speed, start=start)
    steps = [start + timedelta(seconds=30 * k) for k in range(int(hours * 120))]
    return [(now, p) for now in steps for p in live.step(now)]


def test_live_writes_small_files_with_current_times(tmp_path):
    start = datetime.now(UTC).replace(microsecond=0)
    written = _run_live(tmp_path, start, speed=24, hours=1)
    assert {"tak", "ais", "daugavpils-board"} <= {p.parent.name for _t, p in written} <= set(FOLDER_FORMAT)
    assert len({p for _t, p in written}) == len(written)
    for now, p in written:
        assert p.stat().st_size < 20_000
        recs = parse_all(p, FOLDER_FORMAT[p.parent.name])
        assert recs and not [r for r in recs if isinstance(r, Rejected)]
        for r in recs:
            if isinstance(r, Event):
                # reported 1-5 min after it happened, written at the first step after that
                # (the Latvian CSV has local times to the minute, without a zone)
                occurred = r.occurred_at if r.occurred_at.tzinfo else r.occurred_at.replace(tzinfo=LOCAL)
                assert now - timedelta(seconds=400) <= occurred <= now, (p, occurred, now)
            elif isinstance(r, Position):
                assert abs((r.observed_at - now).total_seconds()) <= 120


def test_live_events_come_at_the_scenarios_rates_and_hours(tmp_path):
    # The live feed used to write 1-2 crossing attempts every few seconds (about 500 an hour,
    # 12,000 persons) whatever the hour: the realistic week drowned in minutes.
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    speed = 24
    written = _run_live(tmp_path, start, speed=speed, hours=3)  # three days of events
    crossings = [r for _t, p in written if p.parent.name == "daugavpils-board"
                 for r in parse_all(p, "geojson") if isinstance(r, Event)
                 and r.category == "unauthorised_border_crossing" and not r.parent_ref]  # first reports
    # the history's rate: 8-18 a day (the first day only from noon)
    assert 2 * 8 <= len(crossings) <= 3 * 18, len(crossings)
    assert all(5 <= r.persons <= 40 for r in crossings)
    # follow-ups name their first report by the live feed's own ref
    refs = {r.source_ref for r in crossings}
    follow = [r for _t, p in written if p.parent.name == "daugavpils-board"
              for r in parse_all(p, "geojson") if isinstance(r, Event) and r.parent_ref]
    assert follow and all(r.parent_ref in refs for r in follow)
    # and each is written with its first report or after it, so that the link can be made
    file_of = {r.source_ref: t for t, p in written if p.parent.name == "daugavpils-board"
               for r in parse_all(p, "geojson") if isinstance(r, Event)}
    assert all(file_of[r.source_ref] >= file_of[r.parent_ref] for r in follow)
    # mostly at night on the event clock (20-05 h local)
    hours = [(start + (r.occurred_at - start) * speed).astimezone(LOCAL).hour for r in crossings]
    night = sum(h >= 20 or h < 5 for h in hours)
    assert night >= 0.6 * len(crossings), hours
    # the Russian border's board writes its Latvian CSV, the sensors their NDJSON, as in the history
    assert {p.parent.name for _t, p in written} >= {"ludza-board", "sensors"}
    # refs never repeat, and a restarted feed does not reuse the first one's
    refs = [r.source_ref for _t, p in written if p.parent.name in ("daugavpils-board", "sensors")
            for r in parse_all(p, "geojson") if isinstance(r, Event)]
    again = _run_live(tmp_path / "again", start + timedelta(seconds=1), speed=speed, hours=0.5)
    refs_again = [r.source_ref for _t, p in again if p.parent.name in ("daugavpils-board", "sensors")
                  for r in parse_all(p, "geojson") if isinstance(r, Event)]
    assert refs_again and len(set(refs)) == len(refs) and not set(refs) & set(refs_again)


def test_live_cli_stops_after_max_files(tmp_path):
    from click.testing import CliRunner

    from nsp.cli import cli

    result = CliRunner().invoke(cli, ["scenario", "--live", str(tmp_path), "--speed", "100", "--every", "0.05",
                                      "--max-files", "3", "--seed", "5"])
    assert result.exit_code == 0, result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 3 and not [p for p in written if p.name.endswith(".part")]
    assert "wrote 3 live file(s)" in result.output


def test_live_drones_fly_in_from_belarus_now_and_then_in_real_time(tmp_path):
    """The live demo made no drones (only the history had them): now one every ~15 minutes,
    a Remote ID detection every 5 s of its real flight, across the Belarusian border."""
    from shapely.geometry import LineString

    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    live = Live(tmp_path, seed=3, speed=24, start=start, drones_every=900)
    written = [p for k in range(int(3600 / 30)) for p in live.step(start + timedelta(seconds=30 * k))
               if p.parent.name == "remote-id"]  # a step every 30 s: each file holds the fixes due, 5 s apart
    fixes = [r for p in written for r in parse_all(p, "remoteid")]
    assert not [r for r in fixes if isinstance(r, Rejected)]
    tracks: dict[str, list[Position]] = {}
    for r in fixes:
        if isinstance(r, Position):
            tracks.setdefault(r.object_id, []).append(r)
    # an hour: 3 to 6 drones (every 900 s ±30 %, the first within a minute), each flown whole
    assert 3 <= len(tracks) <= 6, tracks.keys()
    assert live.drones == len(tracks) or live.drones == len(tracks) + 1  # the last may still be in the air
    blr = geography().lines["BLR"]
    for object_id, track in tracks.items():
        times = [r.observed_at for r in track]
        assert object_id.startswith("RID:1581F") and times == sorted(times)
        assert {(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)} == {5.0}  # every 5 s
        assert start < times[0] < start + timedelta(hours=1)
        # from the Belarusian side to the Latvian one: the line between the first and last fix
        # crosses the border line, and the operator stays where it launched
        path = LineString([geography().metric(track[0].lon, track[0].lat), geography().metric(track[-1].lon, track[-1].lat)])
        if len(track) > 10:
            assert path.intersects(blr), object_id
        ops = {(r.attrs["operator_lon"], r.attrs["operator_lat"]) for r in track}
        assert ops == {(track[0].lon, track[0].lat)}
    # none without drones_every
    quiet = Live(tmp_path / "quiet", seed=3, speed=24, start=start, drones_every=0)
    assert not [p for k in range(60) for p in quiet.step(start + timedelta(seconds=30 * k)) if p.parent.name == "remote-id"]


def test_live_drones_over_udp_are_a_detection_a_datagram_without_a_time(tmp_path):
    """As a scanner sends them to `nsp listen --format remoteid`, which stamps the time."""
    import socket

    from ingest.delivery.listen import stamp_remoteid

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
        live = Live(tmp_path, seed=3, speed=24, start=start, rid_udp=rx.getsockname(), drones_every=900)
        steps = [start + timedelta(seconds=4 * k) for k in range(60)]
        for now in steps:
            assert not [p for p in live.step(now) if p.parent.name == "remote-id"]  # no files
        grams = []
        while len(grams) < live.rid_sent:
            grams.append(rx.recv(65535))
    assert live.rid_sent >= 20 and len(grams) == live.rid_sent
    records = [json.loads(g) for g in grams]
    assert all("received_at" not in r and r["basic_id"].startswith("1581F") for r in records)
    # one detection a step (the newest the scanner heard), the listener stamps each on arrival
    stamped = tmp_path / "heard.remoteid"
    stamped.write_bytes(b"".join(stamp_remoteid(g.strip(), start.timestamp() + i) + b"\n" for i, g in enumerate(grams)))
    recs = parse_all(stamped, "remoteid")
    assert len([r for r in recs if isinstance(r, Position)]) == len(grams) and not [r for r in recs if isinstance(r, Rejected)]
