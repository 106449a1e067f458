"""CSV parser: English and Latvian columns, separators, decimal commas, day-first times."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.base import Event, ParseOptions, Rejected, UnreadableFile
from ingest.csv_ import CSVFormat

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
