"""Benchmark: /ogc's events pages cost the same however deep (keyset paging).

300,000 events; a GIS client reads them 100 at a time by following next links. Prints the
first page's time (which also counts the matches) and the time of a page 100,000 events
deep, for a watch officer and for a sector commander (row-level security). NSP_BENCH_SCALE
scales the number of events; the limits are asserted at full size only.
"""

from __future__ import annotations

import os
import time

import pytest
from flask import Flask

from dashboard import ogc
from dashboard.scope import acting_as
from nsp import db
from nsp.access import Scope
from tests.support.seed import seed_picture

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("NSP_BENCH_SCALE", "1"))
N_EVENTS = int(300_000 * SCALE)
DEPTH = int(100_000 * SCALE)


def test_a_deep_events_page_costs_what_the_first_does(empty_db_url):
    with db.connect(empty_db_url, autocommit=True) as conn:
        seed_picture(conn, 60)
        conn.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, impact)
                        SELECT 'bench', 'b' || i, 'other', now() - (i %% 100000) * interval '1 minute',
                               ST_SetSRID(ST_MakePoint(26 + random() * 2, 55.7 + random() * 1.5), 4326), 'low'
                          FROM generate_series(1, %s) i""", (N_EVENTS,))
        conn.execute("ANALYZE")
    events = ogc.COLLECTIONS["events"]
    app = Flask("bench")
    for scope in (Scope("anna", "watch_officer"), Scope("janis", "sector_commander", sections=("LV-BY-01",))):
        with acting_as(scope), app.test_request_context("/ogc"):
            t = time.perf_counter()
            _, matched = ogc.select_items(events, limit=100)
            first = time.perf_counter() - t
            depth = min(DEPTH, matched - 200)
            with db.connect(empty_db_url) as conn:  # the key of the feature `depth` deep
                row = conn.execute(f"SELECT occurred_at, id::text AS id FROM event WHERE parent_id IS NULL "
                                   f"AND validation <> 'rejected' {'AND section_code = %s' if scope.sections else ''} "
                                   "ORDER BY occurred_at DESC, id DESC OFFSET %s LIMIT 1",
                                   (*(scope.sections or ()), depth)).fetchone()
            t = time.perf_counter()
            rows, _ = ogc.select_items(events, limit=100, after=[ogc.json_default(row["occurred_at"]), row["id"]])
            deep = time.perf_counter() - t
        assert len(rows) == 101
        print(f"\n{N_EVENTS} events, {scope.role}: first page {first * 1000:.0f} ms ({matched} matched), "
              f"a page {depth} deep {deep * 1000:.0f} ms")
        if SCALE == 1:
            assert first < 2.0 and deep < 0.2
