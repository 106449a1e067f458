"""`make test` hands out the test files longest first (tests/conftest.py), in a clean clone too:
there pytest's cache holds no times yet, and a test that waits by design says how long with its
``seconds`` mark. Without the marks, a file of two outage tests (about a minute each) counted as
two typical integration tests and was handed out among the last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _files_in_order(*files: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--dist", "loadfile",
                          "-p", "no:cacheprovider", *files], cwd=ROOT, capture_output=True, text=True, check=True)
    order: list[str] = []
    for line in out.stdout.splitlines():
        if "::" in line and line.split("::", 1)[0] not in order:
            order.append(line.split("::", 1)[0])
    return order


def test_without_earlier_times_a_marked_wait_goes_before_files_of_many_tests():
    # test_picture.py: 47 tests of the typical 1.5 s; test_outage.py: 2 tests marked 45 and 40 s
    assert _files_in_order("tests/unit/test_geojson.py", "tests/integration/test_picture.py",
                           "tests/integration/test_outage.py") == [
        "tests/integration/test_outage.py", "tests/integration/test_picture.py", "tests/unit/test_geojson.py"]
