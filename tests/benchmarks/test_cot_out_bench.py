"""Benchmark: what one `nsp cot-out` poll costs (`make bench PYTEST_ARGS="-k cot_out"`).

NSP_BENCH_COT_EVENTS open events (default 5,000) in one section, read as a watch officer: the
full send (every marker made, as at start and every --resend) and a poll that finds nothing new
(read, fingerprint, nothing made). A poll must stay well inside the default --poll of 5 s.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from geo.cot_stream import Picture, make_share
from tests.auth_helpers import make_user

pytestmark = pytest.mark.bench

N_EVENTS = int(os.environ.get("NSP_BENCH_COT_EVENTS", "5000"))


def test_a_poll_that_finds_nothing_new_makes_no_message(conn, db_url):
    make_user(db_url, "duty", "watch_officer")
    conn.execute("""INSERT INTO event (source, source_ref, category, subtype, occurred_at, geom, section_code,
                    distance_to_border_m, impact, persons, description)
                    SELECT 'bench', 'b' || i, 'other', 'suspect_vehicle', now() - (i %% 600) * interval '1 minute',
                           ST_SetSRID(ST_MakePoint(27 + (i %% 100) * 0.001, 56 + (i / 100) * 0.001), 4326),
                           'LV-BY-01', 10, 'medium', 3, 'text of the report ' || i
                      FROM generate_series(1, %s) i""", (N_EVENTS,))
    picture = Picture(make_share("duty"))
    now = datetime.now(UTC)
    t = time.perf_counter()
    full = picture.changes(now, True)
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    poll = picture.changes(now + timedelta(seconds=5))
    t_poll = time.perf_counter() - t
    markers = sum(b".event." in m for m in full)
    print(f"\n{N_EVENTS} events: full send {len(full)} messages ({sum(map(len, full)) / 1e6:.2f} MB) in "
          f"{t_full:.2f} s; a poll with nothing new {t_poll * 1000:.0f} ms")
    assert markers == N_EVENTS and poll == []
    assert t_poll < 5.0
