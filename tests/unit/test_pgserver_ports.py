"""The test clusters' ports (tests/support/pgserver.py): a port one test process has taken is not
handed to another before its cluster listens on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import pgserver

ROOT = Path(__file__).resolve().parents[2]
OTHER = "from tests.support.pgserver import free_port; print(free_port())"


def _other_process() -> int:
    out = subprocess.run([sys.executable, "-c", OTHER], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_a_port_taken_by_one_process_is_not_handed_to_another_nor_twice():
    port = pgserver.free_port()
    second = None
    try:
        assert port in pgserver.PORTS
        assert _other_process() != port  # nothing listens on it yet, and still it is taken
        second = pgserver.free_port()
        assert second != port  # nor handed out twice in one process
    finally:
        pgserver.release(port)
        if second is not None:
            pgserver.release(second)
