"""Hostile input benchmark (`make bench`): a 20 MiB GeoJSON feature and a 1 MB CSV header.

Both were quadratic: the GeoJSON scanner rescanned a feature from its start after every
256 KiB read (85 s for 18 MB), and the unit-suffix regex on column names took 15 s for one
50 KB name. Each file is loaded by ``ingest_file`` into a fresh database; the time of the
parser alone and of the whole load is printed. The big feature is over the 16 MiB feature
limit, so it is quarantined alone and the features after it load.
"""

from __future__ import annotations

import io
import time

import orjson

from ingest.formats.base import ParseOptions
from ingest.formats.csv_ import CSVFormat
from ingest.formats.geojson import GeoJSONFormat
from ingest.loading.pipeline import ingest_file

FEATURE_MIB = 20
HEADER_BYTES = 1_000_000
ROWS = 10_000


def _feature(i: int, **extra) -> dict:
    props = {"category": "other", "time": f"2026-11-20T10:{i % 60:02d}:00Z", **extra}
    return {"type": "Feature", "id": f"B{i}", "geometry": {"type": "Point", "coordinates": [27.1, 56.2]},
            "properties": props}


def _big_collection() -> bytes:
    n = FEATURE_MIB * 2**20 // 22 + 1
    path = b",".join(b"[%.6f,%.6f]" % (27 + i * 1e-7, 56 + i * 1e-7) for i in range(n))
    big = orjson.dumps(_feature(0))[:-2] + b',"path":[' + path + b"]}}"
    rest = b",".join(orjson.dumps(_feature(i)) for i in range(1, 1001))
    return b'{"type":"FeatureCollection","features":[' + big + b"," + rest + b"]}"


def _wide_csv() -> bytes:
    junk = ["a" + "_" * 49_999, "(" * 50_000, "[)" * 25_000, "x" + "_(" * 25_000]
    names = [junk[i % 4] + str(i) for i in range(HEADER_BYTES // 50_000)]
    header = ",".join(["id", "lat (WGS84)", "lon (WGS84)", "time", "category"] + names)
    blanks = "," * len(names)
    rows = (f"R{i},56.{i % 900 + 100},27.{i % 900 + 100},2026-11-20T10:{i % 60:02d}:00Z,ubc{blanks}"
            for i in range(ROWS))
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def test_hostile_input_benchmark(db_url, tmp_path):
    big = tmp_path / "big-feature.geojson"
    big.write_bytes(_big_collection())
    wide = tmp_path / "wide-header.csv"
    wide.write_bytes(_wide_csv())
    lines = []
    for path, fmt in ((big, GeoJSONFormat), (wide, CSVFormat)):
        data = path.read_bytes()
        records, parse_s = _timed(lambda: list(fmt(ParseOptions()).parse(io.BytesIO(data))))
        summary, load_s = _timed(lambda: ingest_file(path, source="bench-hostile"))
        assert summary.status == "done", summary
        lines.append((path.name, len(data), len(records), parse_s, load_s, summary))
    print(f"\n{'file':<22} {'MB':>6} {'records':>8} {'parse s':>8} {'load s':>7} {'accepted':>9} {'quarantined':>11}")
    for name, size, n, parse_s, load_s, s in lines:
        print(f"{name:<22} {size / 1e6:>6.1f} {n:>8,} {parse_s:>8.2f} {load_s:>7.2f} {s.accepted:>9,} {s.quarantined:>11,}")
    geo, table = lines[0][5], lines[1][5]
    assert (geo.accepted, geo.quarantined) == (1000, 1) and "larger than 16 MiB" in geo.reasons[0]
    assert (table.accepted, table.quarantined) == (ROWS, 0)
    # Linear: minutes, hours before. Generous bounds for a loaded 2-core machine.
    assert lines[0][3] < 30 and lines[1][3] < 30
