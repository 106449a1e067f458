"""AIS parse benchmark (`make bench`): nsp's parse, validate and stage path against pyais alone,
on the ingest benchmark's AIS file (tests/support/bench_inputs.py), no database.

NSP_BENCH_AIS_PARSE (default 50,000) type 1 reports with tag blocks:

- **nsp**: ``AisFormat.parse`` (checksums, tag blocks, times) → ``Validator.check`` → the staging
  rows written as PostgreSQL binary COPY data (``tests.support.fuzz.CopyBuffer``: the pipeline's
  rows and dumpers, without the connection): what the ingest's parsing thread does per message;
- **pyais alone**: ``pyais.FileReaderStream`` over the same file, each message decoded and its
  position, speed, course, heading and second read — the decoder nsp uses, with nothing around it.

CPU time of this process (``time.process_time``), the best of three runs each, interleaved, so
that a loaded machine moves both alike. Prints messages/s and the ratio; asserts both read every
message.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest
from pyais import FileReaderStream

from ingest.formats.ais import AisFormat
from ingest.formats.base import ParseOptions
from ingest.formats.sniff import prepare
from ingest.loading.pipeline import stage
from ingest.loading.validate import Validator
from ingest.settings import ingest_settings
from tests.support.bench_inputs import messages_inputs
from tests.support.fuzz import CopyBuffer

pytestmark = pytest.mark.bench

MESSAGES = int(os.environ.get("NSP_BENCH_AIS_PARSE", "50000"))
RUNS = 3


def _nsp(path) -> int:
    settings = ingest_settings()
    options = ParseOptions(source="bench-ais", file_name=path.name, timezone="UTC",
                           delivered_at=datetime.now(UTC))
    staging = CopyBuffer()
    with path.open("rb") as f:
        prepared = prepare(f, str(path), settings.max_bytes, settings.fallback_encoding)
        stage(AisFormat(options), prepared, Validator(options, settings), staging)
    staging.finish()
    assert staging.quarantined == 0, staging.reasons
    return staging.rows["stage_position"]


def _pyais(path) -> int:
    n = 0
    for sentence in FileReaderStream(str(path)):
        msg = sentence.decode()
        msg.lon, msg.lat, msg.speed, msg.course, msg.heading, msg.second  # noqa: B018 - read, as nsp does
        n += 1
    return n


def test_ais_parse_benchmark(tmp_path):
    path = messages_inputs(tmp_path, [(24.0, 56.9)], MESSAGES)["ais"]
    best = {"nsp": float("inf"), "pyais": float("inf")}
    for _ in range(RUNS):
        for name, run in (("nsp", _nsp), ("pyais", _pyais)):
            t = time.process_time()
            n = run(path)
            best[name] = min(best[name], time.process_time() - t)
            assert n == MESSAGES, f"{name} read {n} of {MESSAGES} messages"
    print(f"\n{'AIS, parse path (CPU, best of 3)':<52} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'vs pyais':>8}")
    for name, label in (("nsp", "nsp parse → validate → staging rows"), ("pyais", "pyais FileReaderStream, decode")):
        rate = MESSAGES / best[name]
        print(f"{label:<52} {MESSAGES:>9,} {best[name]:>8.2f} {rate:>8,.0f} {best['pyais'] / best[name]:>7.2f}x")
