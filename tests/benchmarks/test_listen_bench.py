"""Listener benchmark (`make bench`): ``nsp listen`` against socat on the same AIS stream.

NSP_BENCH_LISTEN_MESSAGES (default 500,000) AIS sentences without a time, as a receiver sends
them, over one TCP connection on loopback:

- ``nsp listen --format ais --tcp``: framed into lines, each stamped with its reception time
  (a tag block), written into the drop folder as a file each time 5,000 lines (a TCP read more) wait;
- ``socat -u TCP-LISTEN:… OPEN:…``: the same bytes written to one file as they come (no
  framing, no stamps, no files to rename) — the limit of receiving and writing.

The clock runs from the connection until every message is on disk. Prints messages/s and the
ratio; asserts that nothing was lost.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.feeds import position

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = int(os.environ.get("NSP_BENCH_LISTEN_MESSAGES", "500000"))
STAMP_BYTES = len("\\c:1796225588*50\\")  # the tag block added to each line (10-digit unix time)


def _stream() -> tuple[bytes, int]:
    """MESSAGES sentences of one length (type 1 reports of 1,000 vessels, repeated), CR LF."""
    lines = [(position(mmsi=275000000 + i, lat=56.9 + i * 1e-4) + "\r\n").encode() for i in range(1000)]
    assert len({len(x) for x in lines}) == 1
    return b"".join(lines[i % 1000] for i in range(MESSAGES)), len(lines[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _send(port: int, data: bytes) -> float:
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    t0 = time.perf_counter()
    with sock:
        sock.sendall(data)
    return t0


def _wait_bytes(paths, expected: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        size = sum(p.stat().st_size for p in paths() if p.exists())
        if size >= expected:
            return time.perf_counter()
        time.sleep(0.02)
    raise AssertionError(f"only {size:,} of {expected:,} bytes arrived")


def test_listen_against_socat(tmp_path):
    socat = shutil.which("socat")
    assert socat, "socat is missing: `make bench` installs it (.ci/system-packages socat)"
    data, line = _stream()

    # socat: the bytes as they come, into one file
    port, raw = _free_port(), tmp_path / "socat.nmea"
    peer = subprocess.Popen([socat, "-u", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", f"OPEN:{raw},creat,append"])
    try:
        t0 = _send(port, data)
        t1 = _wait_bytes(lambda: [raw], len(data))
    finally:
        peer.wait(30)
    socat_rate = MESSAGES / (t1 - t0)

    # nsp listen: framed, stamped, one file per 5,000 lines, renamed when complete
    out = tmp_path / "inbox" / "ais"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "listen", "--format", "ais", "--tcp",
                             f"127.0.0.1:{port}", "--out", str(out), "--flush-seconds", "1"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        t0 = _send(port, data)
        # CR LF becomes LF, and each line gains its tag block
        t1 = _wait_bytes(lambda: list(out.glob("*.nmea")), MESSAGES * (line - 1 + STAMP_BYTES))
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    nsp_rate = MESSAGES / (t1 - t0)
    written = int(re.search(r"wrote (\d+) message", err).group(1))
    files = len(list(out.glob("*.nmea")))
    print(f"\n| receive {MESSAGES:,} AIS sentences over TCP (loopback) | s | messages/s | vs socat |\n"
          f"| --- | ---: | ---: | ---: |\n"
          f"| nsp listen → {files} files of about 5,000 stamped lines | {MESSAGES / nsp_rate:.2f} | {nsp_rate:,.0f} "
          f"| {nsp_rate / socat_rate:.2f}x |\n"
          f"| socat → one file, bytes as they come | {MESSAGES / socat_rate:.2f} | {socat_rate:,.0f} | 1.00x |")
    lines = sum(p.read_bytes().count(b"\n") for p in out.glob("*.nmea"))
    assert written == lines == MESSAGES and files > 1
