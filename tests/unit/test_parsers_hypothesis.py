"""Property tests for the GPX, Cursor on Target and AIS parsers.

Whatever the bytes — random, a valid file cut anywhere, a valid file with bytes
flipped, dropped or repeated — ``parse`` only yields records or ``Rejected`` and
never raises, and every line / message / track point of the input is accounted for:
in some record's raw text, in a ``Rejected``, or in the parser's ``skipped`` count.
"""

from __future__ import annotations

import io
import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats.ais import AisFormat
from ingest.formats.base import Event, ParseOptions, Patrol, Position, Rejected, SourceObservation, TrackedObject
from ingest.formats.cot import CotFormat
from ingest.formats.gpx import GpxFormat
from nsp.settings import ASSETS_DIR
from tests.support.feeds import HEAD, event, nmea, static5, tag, track, wpt
from tests.support.fuzz import MUTATIONS, mutate

# NSP_PROPERTY_EXAMPLES=5000 for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("NSP_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECORD_TYPES = (Event, Position, TrackedObject, Patrol, SourceObservation, Rejected)
_COT_START = re.compile(rb"<event[\s>/]")

AIS_FILE = (ASSETS_DIR / "samples" / "ais.nmea").read_bytes() + "\n".join(
    [tag("s:LV-LIEPAJA,c:1714550500") + nmea({"type": 1, "mmsi": 275000001, "lat": 56.5, "lon": 20.9})[0],
     *static5(275000002, seq_id=6, channel="B"),
     nmea({"type": 4, "mmsi": 2750000, "lat": 57.0, "lon": 24.0})[0],
     nmea({"type": 19, "mmsi": 275000019, "lat": 57.1, "lon": 23.9, "shipname": "LIGA"})[0]]
).encode() + b"\n"
COT_FILE = (ASSETS_DIR / "samples" / "cot.cot.xml").read_bytes() + (
    event(uid="m1", type_="a-u-A-M-F-Q") + "\n" + event(uid="p", type_="t-x-c-t") + "\n"
    + event(uid="s1", type_="a-n-S")).encode()
GPX_FILE = (HEAD + wpt(56.381, 28.121, "2024-05-02T06:02:00Z", desc="event: EV-1",
                       ext="<extensions><sat>7</sat></extensions>").replace("<name>", "<ele>1</ele><name>")
            + track("A").replace("</name>", "</name><cmt>c</cmt><number>1</number><link href='x'><text>t</text></link>")
            + track("B", start_minute=40) + "</gpx>\n").encode()
SAMPLES = {"ais": AIS_FILE, "cot": COT_FILE, "gpx": GPX_FILE}
FORMATS = {"ais": AisFormat, "cot": CotFormat, "gpx": GpxFormat}


def run(name: str, data: bytes):
    fmt = FORMATS[name](ParseOptions(source="prop"))
    records = list(fmt.parse(io.BytesIO(data)))
    for record in records:
        assert isinstance(record, RECORD_TYPES), record
        assert isinstance(record.raw, str) and record.location is not None
        if isinstance(record, Rejected):
            assert record.reason
        elif isinstance(record, (Position, Event)):
            assert isinstance(record.lat, float) and isinstance(record.lon, float)
            when = record.observed_at if isinstance(record, Position) else record.occurred_at
            assert when.tzinfo is not None
        elif isinstance(record, Patrol):
            assert record.segments and all(len(seg) >= 2 for seg in record.segments)
            assert record.started_at <= record.ended_at and record.source_ref.startswith(record.unit)
    return records, fmt


def distinct(records):
    """One record per place in the file (type 19 and CoT contacts yield two per message)."""
    seen = {}
    for r in records:
        seen.setdefault((r.location.kind, r.location.number, r.location.line), r)
    return list(seen.values())


def check_accounting(name: str, data: bytes, records, fmt) -> None:
    if name == "ais":
        lines = sum(1 for line in io.BytesIO(data) if line.strip())
        accounted = sum(r.raw.count("\n") + 1 for r in distinct(records)) + fmt.stats["skipped_lines"]
        assert accounted == lines
    elif name == "cot":
        # XML: every <event is a record or a skip (TAK protocol streams, which start with 0xbf
        # and carry no <event, have their own property in test_cot.py)
        if not data.startswith(b"\xbf"):
            starts = len(_COT_START.findall(data))
            in_records = sum(len(_COT_START.findall(r.raw.encode())) for r in distinct(records))
            assert in_records + fmt.stats["skipped"] == starts
    else:
        points = data.count(b"<trkpt")
        positions = sum(isinstance(r, Position) for r in records)
        rejected = [r for r in records if isinstance(r, Rejected)]
        rejected_points = sum(r.location.kind.startswith("track ") for r in rejected)
        done = positions + rejected_points + fmt.stats["points of refused tracks"] + fmt.stats["misplaced"]
        whole_file = any(r.location.kind in ("file", "line") for r in rejected)
        assert done <= points
        if not whole_file:
            assert done == points


NAMES = st.sampled_from(sorted(FORMATS))


def test_valid_samples_are_fully_accounted():
    for name, data in SAMPLES.items():
        records, fmt = run(name, data)
        assert not [r for r in records if isinstance(r, Rejected)], name
        check_accounting(name, data, records, fmt)


@SETTINGS
@given(name=NAMES, data=st.binary(max_size=3000))
def test_random_bytes(name, data):
    records, fmt = run(name, data)
    check_accounting(name, data, records, fmt)


@SETTINGS
@given(name=NAMES, cut=st.floats(0, 1))
def test_truncated_files(name, cut):
    data = SAMPLES[name][: int(len(SAMPLES[name]) * cut)]
    records, fmt = run(name, data)
    check_accounting(name, data, records, fmt)


@SETTINGS
@given(name=NAMES, ops=MUTATIONS)
def test_mutated_files(name, ops):
    data = mutate(SAMPLES[name], ops)
    records, fmt = run(name, data)
    check_accounting(name, data, records, fmt)


@SETTINGS
@given(pieces=st.lists(st.sampled_from([
    event(uid="a"), event(uid="b", type_="a-f-G-U-C"), "<?xml version='1.0'?>", "\n", "junk",
    "<event uid='x'", "</event>", "<!-- c -->", "<!DOCTYPE event>", event(uid="c")[:40],
    '<?xml version="1.0" encoding="shift_jis"?>', "<?xml version='1.0' encoding='no-such'?>",
    '<?xml version="1.0" encoding="UTF-16"?>', "\u0161\u0137",
]), max_size=12))
def test_cot_streams_of_fragments(pieces):
    data = "".join(pieces).encode()
    records, fmt = run("cot", data)
    check_accounting("cot", data, records, fmt)


def _summary(records):
    return [(type(r).__name__, str(r.location), r.raw, getattr(r, "reason", None)) for r in records]


@SETTINGS
@given(pieces=st.lists(st.sampled_from([
    event(uid="a"), event(uid="b", type_="a-f-G-U-C"), "<?xml version='1.0'?>\n", "\n", "junk",
    "<event uid='x'", "</event>", "<!-- c -->", event(uid="c")[:40], "<eve", "nt ",
]), max_size=10), chunk=st.integers(1, 40))
def test_cot_split_does_not_depend_on_read_sizes(pieces, chunk):
    import ingest.formats.cot as cot

    data = "".join(pieces).encode()
    whole, _ = run("cot", data)
    saved = cot.CHUNK
    cot.CHUNK = chunk
    try:
        small, _ = run("cot", data)
    finally:
        cot.CHUNK = saved
    assert _summary(small) == _summary(whole)
