"""CSV parser: English and Latvian columns, separators, decimal commas, day-first times."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.formats.base import Event, ParseOptions, Position, Rejected, UnreadableFile
from ingest.formats.csv_ import CSVFormat
from ingest.formats.fields import read_mapping, resolve, strip_units

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


def parse(text: str | bytes, **opts) -> list:
    data = text.encode() if isinstance(text, str) else text
    return list(CSVFormat(ParseOptions(**opts)).parse(io.BytesIO(data)))


def test_latvian_sample_semicolons_decimal_commas_date_and_time_columns():
    records = parse((SAMPLES / "events.csv").read_bytes())
    assert [type(r) for r in records] == [Event] * 3
    first, second, _ = records
    assert first.source_ref == "RS-1187"  # "Nr."
    assert (first.lat, first.lon) == (55.8712, 27.0718)  # "55,8712"
    assert first.occurred_at == datetime(2026, 11, 21, 2, 40)  # Datums + Laiks, naive
    assert first.persons == 14 and first.impact == "augsts" and first.direction == "entry"
    assert first.category == "nelikumīga robežas šķērsošana"
    assert first.attrs == {"Struktūrvienība": "Silenes RS"}
    assert str(first.location) == "line 2"
    assert second.description == "Cigaretes; aizturēts auto"  # quoted separator


def test_english_commas_iso_times_and_bad_rows():
    text = (
        "id,latitude,longitude,time,category,people,notes\n"
        "A1,56.95,24.10,2026-11-20T08:00:00+02:00,smuggling,2,ok\n"
        "A2,abc,24.10,2026-11-20T08:00:00Z,smuggling,2,bad lat\n"
        "A3,56.95,24.10,yesterday,smuggling,2,bad time\n"
        "\n"
        "A4,56.95,24.10,20/11/2026 09:30,other,,day first with slashes\n"
        "A5,56.95,24.10,2026-11-20,other,,x,extra,fields\n"
    )
    records = parse(text)
    kinds = [(type(r).__name__, str(r.location)) for r in records]
    assert kinds == [("Event", "line 2"), ("Rejected", "line 3"), ("Rejected", "line 4"),
                     ("Event", "line 6"), ("Rejected", "line 7")]
    assert "not a number" in records[1].reason
    assert "not a time" in records[2].reason and "22.11.2026" in records[2].reason
    assert records[3].occurred_at == datetime(2026, 11, 20, 9, 30)
    assert records[2].raw.startswith("A3,56.95")
    assert "fields" in records[4].reason


def test_xy_columns_tabs_and_no_id():
    text = "X\tY\tDatums\tKategorija\n21,5\t57,39\t22.11.2026 14:05\tcits\n"
    (rec,) = parse(text)
    assert isinstance(rec, Event)
    assert (rec.lon, rec.lat) == (21.5, 57.39) and rec.source_ref is None
    assert rec.occurred_at == datetime(2026, 11, 22, 14, 5)


def test_mapping_file_columns():
    text = "Punkts;Z.pl.;A.gar.;Fiksēts;Tips\nP-1;56,1;27,2;2026-11-20 10:00;kontrabanda\n"
    with pytest.raises(UnreadableFile, match="no column for lat, lon"):
        parse(text)
    (rec,) = parse(text, column_map={"lat": "Z.pl.", "lon": "A.gar.", "occurred_at": "Fiksēts",
                                     "source_ref": "Punkts", "category": "Tips"})
    assert isinstance(rec, Event) and rec.source_ref == "P-1" and (rec.lat, rec.lon) == (56.1, 27.2)


def test_bom_and_crlf():
    text = "\ufefflat,lon,time,category\r\n56.9,24.1,2026-11-20T10:00:00Z,ubc\r\n"
    (rec,) = parse(text)
    assert isinstance(rec, Event) and rec.lat == 56.9


def test_sniff():
    assert CSVFormat.sniff(b"Nr.;Datums;Laiks;Platums;Garums\n") >= 80
    assert CSVFormat.sniff(b"lat,lon,time\n") >= 80
    assert CSVFormat.sniff(b'{"type": "Feature"}') == 0
    assert CSVFormat.sniff(b"<?xml version='1.0'?>") == 0
    assert CSVFormat.sniff(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n") == 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("lat,on;time\n\r\"0123456789.:-T Zx\x00ā")), max_size=300))
def test_random_csv_text_never_crashes(body):
    try:
        records = parse("lat;lon;time;category\n" + body)
    except UnreadableFile:
        return
    assert all(isinstance(r, (Event, Rejected)) for r in records)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_random_bytes_never_crash(data):
    try:
        records = parse(data)
    except UnreadableFile:
        return
    assert all(isinstance(r, (Event, Rejected)) for r in records)


# ------------------------------------------------------------ hostile rows (issue 25)


def test_a_50_kb_header_name_is_resolved_in_linear_time():
    """The unit-suffix regex took 15 s for one 50 KB column name (overlapping quantifiers)."""
    names = ["lat (WGS84)", "lon [deg]", "time", "category", "a" + "_" * 50_000, "(" * 50_000,
             "[)" * 25_000 + "x", "x" + "_(" * 25_000]
    started = time.process_time()
    found = resolve(names)
    assert time.process_time() - started < 0.5
    assert found == {"lat": "lat (WGS84)", "lon": "lon [deg]", "occurred_at": "time", "category": "category"}


@pytest.mark.parametrize("name, stripped", [
    ("lat_(wgs84)", "lat"), ("lon_[deg]__", "lon"), ("x,_m", "x"), ("a_(b)_c_[d]", "ac"),
    ("_(a,b)_y", "y"), ("lat_(wgs84", "lat_(wgs84"), ("y_(", "y_("), ("(a(b)c)", "c)"), ("", ""),
])
def test_unit_suffixes(name, stripped):
    assert strip_units(name) == stripped


def test_infinite_persons_and_a_year_9999_date_quarantine_their_row_only():
    body = ("id,lat,lon,date,time,category,persons\n"
            "1,56.9,27.1,22.11.2026,14:05,ubc,inf\n"
            "2,56.9,27.1,31.12.9999 23:00,23:30,ubc,2\n"
            "3,56.9,27.1,22.11.2026,14:06,ubc,-inf\n"
            "4,56.9,27.1,22.11.2026,14:07,ubc,3\n")
    records = parse(body)
    assert [type(r) for r in records] == [Rejected, Rejected, Rejected, Event]
    assert "persons is not a finite number" in records[0].reason
    assert "past the year 9999" in records[1].reason and records[1].location.number == 3
    assert records[3].persons == 3 and records[3].source_ref == "4"


# ------------------------------------------------------------ the mapping file (issue 20)


def mapped(text: str, toml: str, tmp_path: Path) -> list:
    path = tmp_path / "map.toml"
    path.write_text(toml)
    mapping = read_mapping(path)
    return parse(text, column_map=mapping.columns, mapping=mapping)


def test_unix_seconds_and_milliseconds_are_told_apart_by_magnitude():
    at = datetime.fromtimestamp(1774405984, UTC)
    records = parse("id,lat,lon,time,category\n"
                    "1,56.9,27.1,1774405984735,ubc\n"
                    "2,56.9,27.1,1774405984,ubc\n"
                    "3,56.9,27.1,1774405984.5,ubc\n"
                    "4,56.9,27.1,20261122,ubc\n")  # eight digits: an ISO 8601 basic date
    assert [r.occurred_at for r in records] == [
        at.replace(microsecond=735000), at, at.replace(microsecond=500000), datetime(2026, 11, 22)]


def test_the_mapping_sets_the_epoch_unit_constants_and_ignored_columns(tmp_path):
    text = "id,lat,lon,time,status,persons\n1,56.9,27.1,86400000,ok,2\n2,56.9,27.1,,ok,\n"
    with pytest.raises(UnreadableFile):
        parse(text.replace("lat,", "latitude_x,"))
    plain = parse(text)
    assert isinstance(plain[0], Rejected) and "not a time" in plain[0].reason  # 8 digits, no date
    records = mapped(text, 'epoch = "ms"\n[columns]\nstatus = ""\n'
                           '[defaults]\ncategory = "other"\noccurred_at = "2026-11-22T10:00:00Z"\npersons = 1\n', tmp_path)
    assert [type(r) for r in records] == [Event, Event]
    first, second = records
    assert first.occurred_at == datetime(1970, 1, 2, tzinfo=UTC)  # 86,400,000 ms
    assert first.category == "other" and first.persons == 2 and second.persons == 1
    assert first.status == "open" and first.attrs == {"status": "ok"}  # the column is kept, not used
    assert second.occurred_at == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_kind_positions_turns_a_phone_gps_log_into_a_track(tmp_path):
    text = ("provider_epoch_ms,lat,lon,speed,bearing,accuracy,battery\n"
            "1774405984735,56.95,24.10,1.5,270,4.0,88\n"
            "1774405989735,56.951,24.101,,,,87\n")
    records = mapped(text, 'kind = "positions"\n[columns]\nobserved_at = "provider_epoch_ms"\n'
                           '[defaults]\nunit = "PHONE-1"\n', tmp_path)
    assert [type(r) for r in records] == [Position, Position]
    first = records[0]
    assert (first.object_id, first.kind, first.lat, first.lon) == ("PHONE-1", "own", 56.95, 24.10)
    assert first.observed_at == datetime.fromtimestamp(1774405984.735, UTC)
    assert first.speed_kn == pytest.approx(1.5 / 0.514444, abs=0.01) and first.course_deg == 270
    assert first.accuracy_m == 4.0 and first.attrs == {"battery": "88"}
    assert records[1].speed_kn is None and records[1].location.number == 3


def test_kind_positions_takes_the_unit_from_a_column_or_refuses_the_file(tmp_path):
    text = "device,time,lat,lon\nTRK-7,2026-11-22T10:00:00Z,56.9,27.1\n,2026-11-22T10:01:00Z,56.9,27.1\n"
    first, second = mapped(text, 'kind = "positions"\n', tmp_path)
    assert isinstance(first, Position) and first.object_id == "TRK-7"
    assert isinstance(second, Rejected) and "without a unit" in second.reason
    with pytest.raises(UnreadableFile, match=r"no column for unit .*\[defaults\] unit"):
        mapped(text.replace("device", "who"), 'kind = "positions"\n', tmp_path)


@pytest.mark.parametrize("toml, error", [
    ('kind = "tracks"\n', "neither 'events' nor 'positions'"),
    ('epoch = "minutes"\n', "epoch 'minutes' is not one of s, ms, us, ns"),
    ('[columns]\nlatitude_column = "x"\n', "unknown event fields latitude_column"),
    ('kind = "positions"\n[defaults]\ncategory = "other"\n', "unknown position fields category"),
    ('[defaults]\ncategory = ["a"]\n', "[defaults] must map fields to text"),
])
def test_mapping_file_errors(tmp_path, toml, error):
    path = tmp_path / "map.toml"
    path.write_text(toml)
    with pytest.raises(ValueError) as exc:
        read_mapping(path)
    assert error in str(exc.value)


def test_the_sample_mappings_are_valid():
    assert read_mapping(SAMPLES / "csv_mapping.toml").columns["lat"] == "Z.pl."
    gps = read_mapping(SAMPLES / "gps_log_mapping.toml")
    assert gps.kind == "positions" and gps.defaults["unit"] == "PHONE-1"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab_([)],", max_size=16))
def test_unit_suffixes_are_stripped_as_the_old_regex_did_on_short_names(name):
    """The linear stripping keeps the meaning of the regex it replaces (which is safe on
    names this short)."""
    import re

    old = re.compile(r"_*[(\[].*?[)\]]_*|_*,.*$")
    assert strip_units(name) == old.sub("", name).strip("_")


def test_an_id_longer_than_512_bytes_quarantines_its_row():
    """A 3,000-character id failed the whole batch in the database (index row size)."""
    records = parse(f"id,lat,lon,time,category,parent_ref\n{'N' * 3000},56.9,27.1,2026-11-22T10:00:00Z,ubc,\n"
                    f"ok,56.9,27.1,2026-11-22T10:00:00Z,ubc,{'P' * 600}\n"
                    f"{'ā' * 256},56.9,27.1,2026-11-22T10:00:00Z,ubc,\n")
    assert [type(r) for r in records] == [Rejected, Rejected, Event]
    assert records[0].reason == "id is longer than 512 bytes (3,000): not an identifier"
    assert records[1].reason.startswith("parent ref is longer than 512 bytes")
    assert records[2].source_ref == "ā" * 256  # 512 bytes in UTF-8: allowed
