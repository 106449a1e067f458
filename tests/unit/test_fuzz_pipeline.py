"""Fuzzing the pipeline, per format: structured mutations of real samples, down to the COPY buffer.

For each format (GeoJSON, CSV, GPX, Cursor on Target, AIS) hypothesis takes the sample in
``assets/samples/`` (and, for byte-level mutations, every small real capture under
``tests/data/real/``) and mutates it the way a broken exporter, a cut transfer or an attacker
would — a value replaced by a hostile one (3,000-character ids, ``inf``, ``1e400``, year 9999,
NUL, lone surrogates, deep nesting), elements nested a thousand deep, fields and lines dropped,
repeated or reordered, bytes flipped — and runs the real pipeline on it: reading
(``ingest.formats.sniff.prepare``), the parser, the central validator and the staging
(``ingest.loading.pipeline.stage``) into a real binary COPY buffer (psycopg's own formatter, with the
staging tables' column types), with no database. The property:

* the input either yields records and rejections, or raises a documented file-level error
  (:class:`ingest.formats.base.IngestError`: unreadable, not a format) — nothing else;
* every record is accounted for: staged or quarantined with a reason;
* no record reaches the safety nets (a parser that stopped at an unexpected error, a value the
  validator let through that cannot be encoded): those are faults of nsp, not of the input;
* in bounded time (``LIMIT_SECONDS`` for inputs of a few KiB).

``make test`` runs ``NSP_FUZZ_EXAMPLES`` (default 100) examples per test, the same ones every run,
under two seconds each;
``make fuzz`` runs thousands (see the README's *Tests*).
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
import os
import random
import re
import signal
import time
from contextlib import contextmanager
from functools import reduce
from operator import xor
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats.base import IngestError, ParseOptions
from ingest.formats.sniff import choose_format, prepare
from ingest.loading.pipeline import stage
from ingest.loading.validate import Validator
from ingest.settings import ingest_settings
from nsp.settings import ASSETS_DIR
from tests.support.fuzz import MUTATIONS, CopyBuffer, mutate

EXAMPLES = int(os.environ.get("NSP_FUZZ_EXAMPLES", "100"))
LIMIT_SECONDS = float(os.environ.get("NSP_FUZZ_LIMIT_SECONDS", "10"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SAMPLES = ASSETS_DIR / "samples"
INTERNAL = ("This is a fault of nsp", "could not be stored:")  # the safety nets' reasons

# ------------------------------------------------------------------ the pipeline, to the COPY buffer


class TooSlow(BaseException):  # not an Exception: no safety net may catch it
    pass


@contextmanager
def time_limit(seconds: float):
    def alarm(_signum, _frame):
        raise TooSlow(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds * 3)  # a hang ends the example; slowness is asserted
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def through_copy(fmt: str, data: bytes) -> CopyBuffer | IngestError:
    """The pipeline on ``data`` down to the COPY buffer; the IngestError if the file is refused."""
    settings_ = ingest_settings()
    options = ParseOptions(source="fuzz", file_name=f"fuzz.{fmt}", timezone="Europe/Riga")
    buffer = CopyBuffer()
    started = time.perf_counter()
    with time_limit(LIMIT_SECONDS):
        try:
            prepared = prepare(io.BytesIO(data), options.file_name, settings_.max_bytes,
                               settings_.fallback_encoding)
            parser = choose_format(prepared.head, options.file_name, fmt)(options)
            stage(parser, prepared, Validator(options, settings_), buffer)
        except IngestError as exc:
            return exc
    elapsed = time.perf_counter() - started
    assert elapsed < LIMIT_SECONDS, f"{len(data):,} bytes took {elapsed:.1f} s"
    buffer.finish()
    staged = sum(buffer.counts.values())
    assert buffer.records == staged + buffer.quarantined
    assert buffer.quarantined == len(buffer.rejections)
    internal = [row for row in buffer.rejections if any(m in row[4] for m in INTERNAL)]
    assert not internal, internal[0]
    for table, n in buffer.rows.items():
        assert len(buffer.data[table]) > 19 + n * 2  # signature, one field count per row, trailer
    return buffer


# ------------------------------------------------------------------ hostile values

_rnd = random.Random(20)
HOSTILE_TEXT = [
    "", " ", "x" * 3000, base64.b64encode(_rnd.randbytes(2250)).decode(), "inf", "-inf", "nan", "NaN", "1e400",
    "-1e400", "9" * 40, "-1", "0", "1.5", "31.12.9999", "9999-12-31T23:59:59", "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00", "00.00.0000", "25:61", "2024-02-30T10:00:00Z", "\x00", "a\x00b", "\ud800",
    "\u202e\u0000", "ā" * 700, "<", "&amp;", "]]>", "\\", "\"", ";", ",", "\n", "\r\n", "1,5", "TRUE", "yes",
    "ļoti augsts", "very_high", "ubc", "closed", "rejected", "Z", "7", "999999999999", "4294967296",
]
HOSTILE_JSON = HOSTILE_TEXT + [
    None, True, False, 0, -1, 0.5, 1e308, -1e308, 2**63, 2**70, -(2**64), [], {}, [1, 2], {"a": {"b": [None]}},
]


_NEST = re.compile(r'"\\u0001nest(\d+)"')


def nested_json(text: str) -> str:
    """JSON text with each nesting placeholder (the string U+0001 ``nest<N>``, as JSON escapes
    it) replaced by values nested N deep: deeper than the json module can write."""
    return _NEST.sub(lambda m: '{"k": [' * int(m[1]) + '"deep"' + "]}" * int(m[1]), text)


hostile_json = st.one_of(st.sampled_from(HOSTILE_JSON), st.sampled_from([1, 100, 260, 600, 1100, 5000]).map(
    lambda depth: f"\u0001nest{depth}"), st.text(max_size=40), st.floats(allow_nan=False, allow_infinity=False))
hostile_text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=60))


# ------------------------------------------------------------------ GeoJSON

GEOJSON_FEATURES = [json.loads(line) for line in (SAMPLES / "events.ndjson").read_text().splitlines() if line.strip()]
GEOJSON_FEATURES += json.loads((SAMPLES / "events.geojson").read_text())["features"]
GEOJSON_KEYS = sorted({k for f in GEOJSON_FEATURES for k in f["properties"]} | {"id", "parent_ref", "lat", "lon"})


@st.composite
def geojson_files(draw) -> bytes:
    features = json.loads(json.dumps(GEOJSON_FEATURES))
    for _ in range(draw(st.integers(1, 4))):
        f = features[draw(st.integers(0, len(features) - 1))]
        where = draw(st.sampled_from(["property", "id", "geometry", "coordinates", "type", "drop", "copy"]))
        value = copy.deepcopy(draw(hostile_json))  # (one drawn object put in two places made a cycle)
        if where == "property":
            f.setdefault("properties", {})[draw(st.sampled_from(GEOJSON_KEYS))] = value
        elif where == "id":
            f["id"] = value
        elif where == "geometry":
            f["geometry"] = value
        elif where == "coordinates" and isinstance(f.get("geometry"), dict):
            coords = list(f["geometry"].get("coordinates") or [0, 0])
            coords[draw(st.integers(0, 1))] = value
            f["geometry"]["coordinates"] = coords
        elif where == "type":
            f["type"] = value
        elif where == "drop" and len(features) > 1:
            features.remove(f)
        else:
            features.append(json.loads(json.dumps(f)))
    layout = draw(st.sampled_from(["collection", "pretty", "ndjson", "seq"]))
    if layout == "collection":
        text = json.dumps({"type": "FeatureCollection", "features": features})
    elif layout == "pretty":
        text = json.dumps({"type": "FeatureCollection", "features": features}, indent=2, ensure_ascii=False)
    elif layout == "ndjson":
        text = "\n".join(json.dumps(f, ensure_ascii=False) for f in features) + "\n"
    else:
        text = "".join("\x1e" + json.dumps(f) + "\n" for f in features)
    return nested_json(text).encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------ CSV

CSV_ROWS = list(csv.reader(io.StringIO((SAMPLES / "events.csv").read_text(encoding="utf-8")), delimiter=";"))


@st.composite
def csv_files(draw) -> bytes:
    rows = [list(r) for r in CSV_ROWS]
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "header", "short", "long", "copy", "drop"]))
        i = draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
        if kind == "cell" and rows[i]:
            rows[i][draw(st.integers(0, len(rows[i]) - 1))] = draw(hostile_text)
        elif kind == "header":
            rows[0].append(draw(st.sampled_from(["persons", "parent_ref", "stale_at", "reported_at", "id",
                                                 "lat (WGS84)", "x" * 2000, "a(" * 200, "[", ""])))
            for r in rows[1:]:
                r.append(draw(hostile_text))
        elif kind == "short" and rows[i]:
            del rows[i][draw(st.integers(0, len(rows[i]) - 1)):]
        elif kind == "long":
            rows[i].extend(draw(st.lists(hostile_text, min_size=1, max_size=3)))
        elif kind == "copy":
            rows.append(list(rows[i]))
        elif len(rows) > 2:
            del rows[i]
    out = io.StringIO()
    csv.writer(out, delimiter=draw(st.sampled_from([";", ";", ",", "\t"])), lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------ XML (GPX, Cursor on Target)

_ATTR = re.compile(r'(\w[\w:-]*)="([^"]*)"')
_TEXT = re.compile(r">([^<>]+)<")
_TAG = re.compile(r"<(?![/?!])")


def xml_mutations(sample: str):
    attrs = [m.span(2) for m in _ATTR.finditer(sample)]
    texts = [m.span(1) for m in _TEXT.finditer(sample)]
    tags = [m.start() for m in _TAG.finditer(sample)]
    inside = [m.end() for m in re.finditer(r"<[^/?!][^>]*[^/]>", sample)]  # just after a start tag

    @st.composite
    def files(draw) -> bytes:
        edits = []  # (start, end, replacement), applied from the end
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["attr", "attr", "text", "text", "nest", "cut", "copy"]))
            value = draw(hostile_text)
            if kind == "attr":
                a, b = attrs[draw(st.integers(0, len(attrs) - 1))]
                edits.append((a, b, quoteattr(value)[1:-1] if draw(st.booleans()) else value.replace('"', "")))
            elif kind == "text":
                a, b = texts[draw(st.integers(0, len(texts) - 1))]
                edits.append((a, b, escape(value) if draw(st.booleans()) else value))
            elif kind == "nest":
                at = draw(st.sampled_from(inside + tags))
                depth = draw(st.sampled_from([10, 300, 1100]))
                edits.append((at, at, "<x>" * depth + "</x>" * depth))
            elif kind == "cut":
                a = draw(st.integers(0, len(sample)))
                edits.append((a, min(len(sample), a + draw(st.integers(1, 80))), ""))
            else:
                a, b = sorted((tags[draw(st.integers(0, len(tags) - 1))], tags[draw(st.integers(0, len(tags) - 1))]))
                edits.append((b, b, sample[a:b]))
        text = sample
        for a, b, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            if a >= len(text) or b > len(text):
                continue
            text = text[:a] + new + text[b:]
        return text.encode("utf-8", "surrogatepass")

    return files()


GPX_SAMPLE = (SAMPLES / "gpx.gpx").read_text(encoding="utf-8")
COT_SAMPLE = (SAMPLES / "cot.cot.xml").read_text(encoding="utf-8")

# ------------------------------------------------------------------ AIS

AIS_LINES = [line for line in (SAMPLES / "ais.nmea").read_text().splitlines() if line.strip()]
_ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
_SENTENCE = re.compile(r"^(?P<tag>\\[^\\]*\\)?(?P<body>[!$][^*]*)\*(?P<sum>[0-9A-Fa-f]{2})(?P<rest>.*)$")


def _checksum(body: str) -> str:
    return f"{reduce(xor, body.encode('utf-8', 'surrogatepass'), 0):02X}"


def _tag(fields: str) -> str:
    return f"\\{fields}*{_checksum(fields)}\\"


@st.composite
def ais_files(draw) -> bytes:
    lines = list(AIS_LINES)
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["payload", "payload", "field", "tag", "drop", "copy", "swap", "junk"]))
        m = _SENTENCE.match(lines[i])
        if kind in ("payload", "field") and m:
            parts = m["body"].split(",")
            if kind == "payload" and len(parts) > 5:
                parts[5] = draw(st.one_of(
                    st.text(alphabet=_ARMOUR, min_size=0, max_size=90),
                    st.sampled_from(["H477Vkh", "H477VklU0", "5", "1", "B", "8" * 200, "w" * 28])))
            else:
                parts[draw(st.integers(1, len(parts) - 1))] = draw(
                    st.sampled_from(["", "0", "1", "2", "3", "9", "99", "-1", "A", "B", "x", "1e400"]))
            body = ",".join(parts)
            lines[i] = (m["tag"] or "") + body + "*" + _checksum(body[1:]) + m["rest"]
        elif kind == "tag" and m:
            c = draw(st.sampled_from(["99999999999999", "-1", "1e20", "", "x", "1714550400.5", "1714550400123",
                                      "253402300800", "0"]))
            lines[i] = _tag(f"s:{draw(st.sampled_from(['LV', 'x' * 600, '']))},c:{c}") + (m["body"] + "*" + m["sum"])
        elif kind == "drop" and len(lines) > 1:
            del lines[i]
        elif kind == "copy":
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, draw(hostile_text).replace("\n", " "))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------ raw Mode S (AVR, Beast)

MODES_FRAMES = [line.strip()[1:-1] for name in ("asmarques_adsb_frames.avr", "adsb_deku_frames.avr")
                for line in (SAMPLES.parent.parent / "tests" / "data" / "real" / "adsb" / name).read_text().splitlines()
                if line.strip()]


@st.composite
def modes_frames(draw) -> list[str]:
    """Real frames (hexadecimal), some with a digit changed, cut, doubled or replaced."""
    frames = list(MODES_FRAMES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(frames) - 1))
        kind = draw(st.sampled_from(["digit", "cut", "copy", "drop", "swap", "junk"]))
        if kind == "digit" and frames[i]:  # (a frame cut to nothing has no digit to change)
            j = draw(st.integers(0, len(frames[i]) - 1))
            frames[i] = frames[i][:j] + draw(st.sampled_from("0123456789ABCDEFx;*")) + frames[i][j + 1:]
        elif kind == "cut":
            frames[i] = frames[i][:draw(st.integers(0, len(frames[i])))]
        elif kind == "copy":
            frames.insert(draw(st.integers(0, len(frames))), frames[i])
        elif kind == "drop" and len(frames) > 1:
            del frames[i]
        elif kind == "swap":
            j = draw(st.integers(0, len(frames) - 1))
            frames[i], frames[j] = frames[j], frames[i]
        else:
            frames.insert(i, draw(st.sampled_from(["", "1A1A1A", "1A33", "00" * 40, "FF" * 14, "8D" * 14])))
    return frames


@st.composite
def avr_files(draw) -> bytes:
    lines = []
    for frame in draw(modes_frames()):
        prefix = draw(st.sampled_from(["", "", "1714550400.25 ", "9999999999999 ", "0 ", "@000000001000",
                                       "<00000000100080"]))
        mark = "" if prefix.startswith(("@", "<")) else "*"
        lines.append(prefix + mark + frame + ";")
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(hostile_text).replace("\n", " "))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


@st.composite
def beast_files(draw) -> bytes:
    out = bytearray()
    for i, frame in enumerate(draw(modes_frames())):
        try:
            data = bytes.fromhex(frame if len(frame) % 2 == 0 else frame + "0")
        except ValueError:
            data = frame.encode()
        kind = {2: b"1", 7: b"2", 14: b"3"}.get(len(data), draw(st.sampled_from([b"2", b"3", b"4", b"\xe3", b"9"])))
        body = (0x1A0000001A00 + i).to_bytes(6, "big") + b"\x1a" + data
        escaped = body.replace(b"\x1a", b"\x1a\x1a") if draw(st.integers(0, 9)) else body  # an unescaped one
        out += b"\x1a" + kind + escaped
    if draw(st.booleans()):
        at = draw(st.integers(0, len(out)))
        out[at:at] = draw(st.binary(max_size=200))
    return bytes(out[:draw(st.integers(len(out) // 2, len(out)))])


# ------------------------------------------------------------------ the tests

STRATEGIES = {
    "geojson": geojson_files(),
    "csv": csv_files(),
    "gpx": xml_mutations(GPX_SAMPLE),
    "cot": xml_mutations(COT_SAMPLE),
    "ais": ais_files(),
    "avr": avr_files(),
    "beast": beast_files(),
}
SAMPLE_BYTES = {
    "geojson": (SAMPLES / "events.geojson").read_bytes(),
    "csv": (SAMPLES / "events.csv").read_bytes(),
    "gpx": GPX_SAMPLE.encode(),
    "cot": COT_SAMPLE.encode(),
    "ais": (SAMPLES / "ais.nmea").read_bytes(),
}


def _real_captures(limit: int = 64 * 1024) -> list[tuple[str, str, bytes]]:
    """(name, format, bytes) of the real captures under tests/data/real/ (small ones), each
    format as sniffed: they are mutated beside the samples."""
    found = []
    for path in sorted(REAL.rglob("*")) if REAL.is_dir() else []:
        if not path.is_file() or path.suffix.lower() in (".md", ".txt", ".toml") or path.stat().st_size > limit:
            continue
        data = path.read_bytes()
        try:
            fmt = choose_format(data[:1024], path.name).name
        except IngestError:
            continue
        found.append((str(path.relative_to(REAL)), fmt, data))
    return found


REAL = SAMPLES.parent.parent / "tests" / "data" / "real"
CORPUS = [(f"assets/samples ({fmt})", fmt, data) for fmt, data in SAMPLE_BYTES.items()] + _real_captures()


@pytest.mark.parametrize("name, fmt, data", CORPUS, ids=[c[0] for c in CORPUS])
def test_the_samples_and_real_captures_go_through(name, fmt, data):
    buffer = through_copy(fmt, data)  # the property holds (a capture may hold only skipped input)
    assert isinstance(buffer, CopyBuffer)
    if name.startswith("assets/"):  # the samples are all good
        assert buffer.quarantined == 0 and sum(buffer.counts.values()) >= 3


def _ais(payload: str, tag: str = "") -> str:
    body = f"AIVDM,1,1,,B,{payload},0"
    return tag + f"!{body}*{_checksum(body)}\n"


def _gpx_nested(depth: int) -> str:
    at = GPX_SAMPLE.index(">", GPX_SAMPLE.index("<trkpt")) + 1
    return GPX_SAMPLE[:at] + "<x>" * depth + "</x>" * depth + GPX_SAMPLE[at:]


_CSV_HEAD = "Nr.;Datums;Laiks;Platums;Garums;Kategorija;Personas\n"
_FEATURE = json.dumps(GEOJSON_FEATURES[0])
# The inputs of issue 25 that failed their whole file, and their kin: each must come through.
KNOWN = {
    "geojson properties nested 300 deep": ("geojson", nested_json(_FEATURE.replace('"sensor": "radar R-4"',
                                                                                   '"sensor": "\\u0001nest300"'))),
    "geojson properties nested 5000 deep": ("geojson", nested_json(_FEATURE.replace(
        '"sensor": "radar R-4"', '"sensor": "\\u0001nest5000"'))),
    "geojson persons 1e400": ("geojson", _FEATURE.replace('"persons": 7', '"persons": 1e400')),
    "geojson id of 3000 characters": ("geojson", _FEATURE.replace("VP-DAU-20261121-17", HOSTILE_TEXT[3])),
    "csv persons inf": ("csv", _CSV_HEAD + "RS-1;21.11.2026;02:40;55,87;27,07;kontrabanda;inf\n"),
    "csv year 9999 beside a time": ("csv", _CSV_HEAD + "RS-1;31.12.9999;23:40;55,87;27,07;kontrabanda;1\n"),
    "csv Nr. of 3000 characters": ("csv", _CSV_HEAD + HOSTILE_TEXT[3] + ";21.11.2026;02:40;55,87;27,07;cits;1\n"),
    "ais short type 24": ("ais", _ais("H477Vkh") + _ais("H4")),
    "ais short type 24 after a tag block": ("ais", _ais("H477Vkh", _tag("s:LV,c:1714550420"))),
    "gpx trkpt holding 1000 nested elements": ("gpx", _gpx_nested(1000)),
    "gpx point time past year 9999 in UTC": ("gpx", GPX_SAMPLE.replace("2024-05-01T21:15:00Z", "9999-12-31T23:59:59-12:00", 1)),
    "gpx point time blank": ("gpx", GPX_SAMPLE.replace("2024-05-01T21:15:00Z", " ", 1)),
    "gpx waypoint event reference of 700 bytes": ("gpx", GPX_SAMPLE.replace("event: SIL-2024-0501-07", "event: " + "X" * 700, 1)),
    "gpx point at 0,0 (a lost fix)": ("gpx", GPX_SAMPLE.replace('lat="55.872911" lon="26.957046"', 'lat="0" lon="0"', 1)),
    "gpx point past the pole": ("gpx", GPX_SAMPLE.replace('lat="55.872911"', 'lat="95.0"', 1)),
    "gpx point time year 9999 without a zone, beside a waypoint":
        ("gpx", GPX_SAMPLE.replace("2024-05-01T21:05:00Z", "9999-12-31T23:59:59", 1)),
    "gpx waypoint time before year 1 in UTC": ("gpx", GPX_SAMPLE.replace("2024-05-01T21:16:40Z", "0001-01-01T00:00:00+14:00", 1)),
    "cot uid of 3000 characters": ("cot", COT_SAMPLE.replace("ANDROID-8a3f2c1d9e7b6a50", HOSTILE_TEXT[3], 1)),
    "cot delete (a closure)": ("cot", COT_SAMPLE + '<event version="2.0" uid="any-uid" type="t-x-d-d" '
                               'time="2024-05-01T21:20:00Z" start="2024-05-01T21:20:00Z" stale="2024-05-01T21:30:00Z" '
                               'how="h-g-i-g-o"><point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail>'
                               '<__forcedelete/><link uid="ANDROID-8a3f2c1d9e7b6a50-9-1-1" relation="none"/></detail></event>'),
    "cot detail nested 1000 deep": ("cot", COT_SAMPLE.replace("<detail>", "<detail>" + "<x>" * 1000 + "</x>" * 1000, 1)),
}


@pytest.mark.parametrize("case", sorted(KNOWN))
def test_known_hostile_inputs_fail_only_their_record(case):
    fmt, text = KNOWN[case]
    buffer = through_copy(fmt, text.encode("utf-8", "surrogatepass"))
    assert isinstance(buffer, CopyBuffer), buffer
    assert buffer.records >= 1
    if case == "cot delete (a closure)":
        assert buffer.counts["closure"] == 1 and buffer.rows["stage_closure"] == 1
    if fmt == "gpx" and case != "gpx trkpt holding 1000 nested elements":  # the sample's track, one point off
        assert buffer.counts["patrol"] == 1, buffer.rejections


def _fuzz(fmt: str):
    @FUZZ
    @given(data=STRATEGIES[fmt])
    def test(data):
        through_copy(fmt, data)

    test.__name__ = f"test_fuzz_{fmt}"
    return test


test_fuzz_geojson = _fuzz("geojson")
test_fuzz_csv = _fuzz("csv")
test_fuzz_gpx = _fuzz("gpx")
test_fuzz_cot = _fuzz("cot")
test_fuzz_ais = _fuzz("ais")
test_fuzz_avr = _fuzz("avr")
test_fuzz_beast = _fuzz("beast")


@FUZZ
@given(sample=st.sampled_from(CORPUS), ops=MUTATIONS)
def test_fuzz_bytes_of_every_sample(sample, ops):
    """Bytes flipped, dropped, repeated and inserted anywhere in a sample or a real capture (the
    format forced, as a feed's drop folder or ``?format=`` does)."""
    _name, fmt, data = sample
    through_copy(fmt, mutate(data, ops))
