"""Crossing-detection benchmark (`make bench PYTEST_ARGS="-k crossings"`).

NSP_BENCH_AIRCRAFT_POSITIONS (default 1,000,000) aircraft positions as SBS-1 lines (the
receiver's port 30003 order: time first, aircraft interleaved), NSP_BENCH_AIRCRAFT aircraft
(default 1,000) flying north over the Belarusian border, each crossing it once. The same file is
loaded by `nsp ingest` into two fresh databases with Latvia's sections: with crossing detection
(the default) and with NSP_CROSSING_ENABLED=false. Prints positions/s of both, beside the
AIS messages/s of the same run (NSP_BENCH_AIS messages, default 100,000, the ingest benchmark's
AIS input), and checks that every track made exactly one crossing event.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from tests.support.db import create as _create
from tests.support.db import drop as _drop

ROOT = Path(__file__).resolve().parents[2]
POSITIONS = int(os.environ.get("NSP_BENCH_AIRCRAFT_POSITIONS", "1000000"))
AIRCRAFT = int(os.environ.get("NSP_BENCH_AIRCRAFT", "1000"))
AIS = int(os.environ.get("NSP_BENCH_AIS", "100000"))
# The real BaseStation example's MSG,3 line (tests/data/real/adsb/basestation_examples.sbs).
MSG3 = "MSG,3,496,211,{hex},10057,{date},{clock},{date},{clock},,{alt},,,{lat:.5f},{lon:.5f},,,0,0,0,0\n"


def _sbs(path: Path, positions: int, aircraft: int) -> None:
    """Aircraft i at 26.70 + 0.6 i / aircraft E (where the border with Belarus runs west to east,
    so each northward track crosses it once), from 55.60 to 56.00 N."""
    steps = max(2, positions // aircraft)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    with path.open("w") as f:
        for s in range(steps):
            t = t0 + timedelta(seconds=5 * s)
            date, clock = t.strftime("%Y/%m/%d"), t.strftime("%H:%M:%S.000")
            lat = 55.60 + 0.40 * s / (steps - 1)
            for i in range(aircraft):
                f.write(MSG3.format(hex=f"{0x100000 + i:06X}", date=date, clock=clock, alt=3000 + 10 * i,
                                    lat=lat, lon=26.70 + 0.6 * i / aircraft))


def _ingest(url: str, path: Path, fmt: str, **env) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nsp.cli", "ingest", str(path), "--format", fmt,
                           "--source", "bench", "--json"],
                          env={**os.environ, "DATABASE_URL": url, **env}, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    return elapsed


def test_crossings_benchmark(db_url, pg_admin_url, sections_template, tmp_path):
    from tests.support.bench_inputs import anchors_in_sections, messages_inputs

    sbs = tmp_path / "aircraft.sbs"
    _sbs(sbs, POSITIONS, AIRCRAFT)
    n = max(2, POSITIONS // AIRCRAFT) * AIRCRAFT
    plain = f"{sections_template}_nocross"
    plain_url = _create(pg_admin_url, plain, template=sections_template)
    try:
        without = _ingest(plain_url, sbs, "sbs", NSP_CROSSING_ENABLED="false")
        with_ = _ingest(db_url, sbs, "sbs")
        with psycopg.connect(db_url) as conn:
            events = conn.execute("SELECT count(*) FROM event WHERE source = 'nsp-crossings'").fetchone()[0]
            stored = conn.execute("SELECT count(*) FROM asset_position").fetchone()[0]
        with psycopg.connect(plain_url) as conn:
            none = conn.execute("SELECT count(*) FROM event WHERE source = 'nsp-crossings'").fetchone()[0]
        # AIS as the ingest benchmark loads it: its vessels jump between random points
        ais = messages_inputs(tmp_path, anchors_in_sections(db_url, 500), AIS)["ais"]
        ais_secs = _ingest(plain_url, ais, "ais", NSP_CROSSING_ENABLED="false")
    finally:
        _drop(pg_admin_url, plain)
    print(f"\n{'load':<44} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'vs plain':>9}")
    for name, rows, secs in (("nsp ingest SBS, no crossing detection", n, without),
                             ("nsp ingest SBS, with crossing detection", n, with_),
                             ("nsp ingest AIS messages (no aircraft)", AIS, ais_secs)):
        print(f"{name:<44} {rows:>10,} {secs:>8.1f} {rows / secs:>9,.0f} {without / secs * rows / n:>8.2f}x")
    print(f"crossing events: {events:,} ({AIRCRAFT:,} tracks, one crossing each)")
    assert stored == n
    assert (events, none) == (AIRCRAFT, 0)
