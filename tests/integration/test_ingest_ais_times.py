"""AIS times end to end on real receiver captures (tests/data/real/ais, PROVENANCE.md):
every distinct position kept once, re-delivery adds nothing, NAIS and time-prefixed lines
load with their times, assumed times are said (issue 20 items 1, 5, 10; issue 25's AIS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import reduce
from operator import xor
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyais.messages import AISSentence

from ingest.loading.pipeline import ingest_file
from ingest.settings import ingest_settings
from nsp.settings import geo_settings

REAL = Path(__file__).parents[1] / "data" / "real" / "ais"
PLAIN = REAL / "pyais_receiver_plain.nmea"


@pytest.fixture
def world(db_url, monkeypatch):
    """The captures are from US and other waters and years old: no region or age limit."""
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    monkeypatch.setenv("NSP_INGEST_MAX_AGE_DAYS", "0")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    yield db_url
    geo_settings.cache_clear()
    ingest_settings.cache_clear()


def positions(conn, source: str) -> int:
    return conn.execute("SELECT count(*) AS n FROM asset_position WHERE source = %s", (source,)).fetchone()["n"]


def reports(path: Path) -> list[tuple[bytes, object]]:
    """The single-sentence position reports of a plain log, decoded by pyais itself."""
    out = []
    for line in path.read_bytes().splitlines():
        if line.startswith(b"!AIVDM,1,1,") and line.split(b",")[5]:  # a receiver logs empty ones too
            msg = AISSentence(line).decode()
            if msg.msg_type in (1, 2, 3, 18, 19) and msg.lat != 91:
                out.append((line, msg))
    return out


def test_plain_receiver_log_keeps_every_distinct_position_and_redelivery_adds_nothing(world, conn):
    expected = {(m.mmsi, round(m.lon, 6), round(m.lat, 6), m.second) for _, m in reports(PLAIN)}
    vessels = {m.mmsi for _, m in reports(PLAIN)}
    first = ingest_file(PLAIN, source="rx-plain")
    assert first.status == "done" and first.accepted == len(expected) == positions(conn, "rx-plain")
    assert len(expected) > 2 * len(vessels)  # not one position per vessel
    assert any("times assumed" in w for w in first.warnings)
    row = conn.execute("SELECT warnings, time_reference FROM ingest_batch WHERE id = %s",
                       (first.batch_id,)).fetchone()
    assert row["time_reference"] is not None and "times assumed" in row["warnings"][0]
    for _ in range(2):
        again = ingest_file(PLAIN, source="rx-plain")
        assert again.accepted == 0 and again.duplicates == first.accepted + first.duplicates, again
    assert positions(conn, "rx-plain") == len(expected)


def test_tag_block_on_every_fourth_sentence_keeps_all_120_positions(world, conn, tmp_path):
    """Real reports ordered by vessel (so each run of four is mostly one ship's track), a tag
    block with its own time on every fourth: each report keeps its moment and place."""
    distinct, seen = [], set()
    for line, msg in sorted(reports(PLAIN), key=lambda r: r[1].mmsi):
        if (msg.mmsi, msg.lon, msg.lat) not in seen:
            seen.add((msg.mmsi, msg.lon, msg.lat))
            distinct.append(line.decode())
    lines = []
    for i, line in enumerate(distinct[:120]):
        if i % 4 == 0:
            body = f"s:rx-1,c:{1428451200 + 10 * i}"
            line = f"\\{body}*{reduce(xor, body.encode(), 0):02X}\\{line}"
        lines.append(line)
    path = tmp_path / "every_fourth.nmea"
    path.write_text("\n".join(lines) + "\n")
    summary = ingest_file(path, source="rx-4th")
    assert summary.accepted == 120 == positions(conn, "rx-4th"), summary
    tagged = conn.execute("SELECT count(*) AS n FROM asset_position WHERE source = 'rx-4th' "
                          "AND attrs->>'time_source' = 'tag_block'").fetchone()["n"]
    assert tagged == 30
    again = ingest_file(path, source="rx-4th")
    assert again.accepted == 0 and positions(conn, "rx-4th") == 120


def test_nais_aishub_and_tag_block_captures_load_with_their_times(world, conn):
    for name in ("libais_uscg_nais.nmea", "libais_uscg_stations.nmea", "libais_orbcomm_tagblock.nmea",
                 "aishub_feed.nmea", "pyais_bracketed_time.log"):
        summary = ingest_file(REAL / name, source="rx-" + name)
        assert summary.status == "done" and summary.accepted > 0 and not summary.warnings, summary
        assert not any("after the NMEA checksum" in r for r in summary.reasons), summary.reasons
        again = ingest_file(REAL / name, source="rx-" + name)
        assert again.accepted == 0, name
    row = conn.execute("SELECT observed_at, attrs FROM asset_position WHERE object_id = 'MMSI:367033650'").fetchone()
    assert row["observed_at"] == datetime(2012, 1, 1, 5, 0, 56, tzinfo=UTC)
    assert row["attrs"]["station"] == "r003669946" and row["attrs"]["time_source"] == "line_suffix"
    orbcomm = conn.execute("SELECT observed_at FROM asset_position WHERE object_id = 'MMSI:224651000' "
                           "ORDER BY observed_at").fetchall()
    assert [r["observed_at"].isoformat() for r in orbcomm] == [
        "2014-12-10T00:32:41+00:00", "2014-12-10T00:35:21+00:00", "2014-12-10T00:41:51+00:00"]


def test_cli_received_at_and_the_assumed_time_warning(world, conn):
    from nsp.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["ingest", "--source", "rx-cli", "--json", str(PLAIN)])
    assert out.exit_code == 3, out.output  # some fragments are incomplete: quarantined
    [summary] = json.loads(out.output)
    assert summary["warnings"] and "times assumed" in summary["warnings"][0]
    out = runner.invoke(cli, ["ingest", "--source", "rx-2015", "--received-at", "2015-04-08T12:00:00Z", str(PLAIN)])
    assert "warning" not in out.output, out.output
    span = conn.execute("SELECT min(observed_at) AS a, max(observed_at) AS b FROM asset_position "
                        "WHERE source = 'rx-2015'").fetchone()
    assert span["a"] >= datetime(2015, 4, 8, 11, 59, tzinfo=UTC)
    assert span["b"] <= datetime(2015, 4, 8, 12, 0, tzinfo=UTC)
    bad = runner.invoke(cli, ["ingest", "--received-at", "yesterday", str(PLAIN)])
    assert bad.exit_code == 2 and "--received-at" in bad.output


def test_a_short_type_24_is_quarantined_and_the_file_loads(world, conn, tmp_path):
    body = "AIVDM,1,1,,A,H477Vk,0"
    short = f"!{body}*{reduce(xor, body.encode(), 0):02X}"
    path = tmp_path / "short24.nmea"
    path.write_text(short + "\n" + PLAIN.read_text().splitlines()[0] + "\n")
    summary = ingest_file(path, source="rx-24", )
    assert summary.status == "done" and summary.accepted == 1 and summary.quarantined == 1
    q = conn.execute("SELECT raw, reason FROM quarantine WHERE source = 'rx-24'").fetchone()
    assert q["raw"] == short and "vendorid" in q["reason"]
