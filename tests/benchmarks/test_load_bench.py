"""Load benchmark (issue 26 §4): a mixed workload over the real HTTP routes against gunicorn, on
1,000,000 events and 10,000,000 positions.

    make bench PYTEST_ARGS="-k load"
    NSP_BENCH_SCALE=0.01 NSP_BENCH_LOAD_SECONDS=20 NSP_BENCH_LOAD_USERS=5,20 \\
        .venv/bin/pytest tests/benchmarks/test_load_bench.py -s        # smaller, while developing

The server is ``nsp serve --workers N`` (gunicorn, gthread workers: what the compose file and
an operator run), ``NSP_BENCH_LOAD_WORKERS`` (default 2), on a port of its own. The users:

- **walls**: a kiosk session on /wall sending the wall's refresh callbacks every 15 s, the
  request bodies captured from the real page in Chromium (with the digests the page sends, so
  a layer that did not change comes back empty, as on a real wall);
- **commanders**: logged-in sector commanders changing the main view's filter (window,
  category, impact) every 5 s: the map-update callbacks of the main page (events; patrols,
  units and vessels), their bodies captured from the real page and given the new filter;
- **analysts**: downloading the weekly export (``/export/scheduled/<zip>``, made beforehand by
  ``nsp export weekly``) every 30 s;
- **GIS clients**: paging ``/ogc/collections/events/items?limit=100`` with a personal access
  token, following ``next`` links five pages deep, every 10 s.

Of N users, 40 % are walls, 30 % commanders, 10 % analysts and 20 % GIS clients (at least one
of each). First each kind alone, one user with no think time (the single-user figures), then
each level of ``NSP_BENCH_LOAD_USERS`` (default 10,50,200) for ``NSP_BENCH_LOAD_SECONDS``
(default 120). Prints p50, p95 and p99 per route at each level beside the single user's,
requests per second and errors. ``NSP_BENCH_SCALE`` scales the events and positions.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.state import parse_query
from geo.snapshot.week import Week
from nsp import db
from tests.auth_helpers import kiosk_url, login, make_user
from tests.support import load, nsp_serve
from tests.support.bench_inputs import EVENTS_SQL
from tests.support.dashboard import callback_requests

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("NSP_BENCH_SCALE", "1"))
N_EVENTS = int(1_000_000 * SCALE)
N_POSITIONS = int(10_000_000 * SCALE)
SECONDS = float(os.environ.get("NSP_BENCH_LOAD_SECONDS", "120"))
LEVELS = [int(n) for n in os.environ.get("NSP_BENCH_LOAD_USERS", "10,50,200").split(",") if n.strip()]
WORKERS = int(os.environ.get("NSP_BENCH_LOAD_WORKERS", "2"))
SINGLE_SECONDS = float(os.environ.get("NSP_BENCH_LOAD_SINGLE_SECONDS", "20"))
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load-bench-password-1"
TZ = "Europe/Riga"
COMMANDER_SECTIONS = ["LV-BY-01", "LV-RU-01"]
# The filters commanders switch between, as the filter bar writes them into the link.
FILTERS = ["window=24h", "window=7d", "window=7d&category=unauthorised_border_crossing", "window=24h&impact=high",
           "window=7d&impact=high&impact=very_high", "window=24h&category=cross_border_crime"]
MIX = (("wall", 0.4), ("commander", 0.3), ("analyst", 0.1), ("gis", 0.2))
THINK = {"wall": 15.0, "commander": 5.0, "analyst": 30.0, "gis": 10.0}
GIS_PAGES = 5

# Positions: 10 % own units, 20 % aircraft, 70 % vessels; each object a track over 28 days.
POSITIONS_SQL = """
INSERT INTO asset_position (source, object_id, kind, observed_at, geom, speed_kn, course_deg)
SELECT CASE WHEN o %% 10 = 0 THEN 'cot' WHEN o %% 10 < 3 THEN 'adsb' ELSE 'ais' END,
       CASE WHEN o %% 10 = 0 THEN 'UNIT-' WHEN o %% 10 < 3 THEN 'ICAO:' ELSE 'MMSI:' END || o,
       CASE WHEN o %% 10 = 0 THEN 'own' WHEN o %% 10 < 3 THEN 'aircraft' ELSE 'vessel' END,
       now() - make_interval(secs => (%(fixes)s - f) * 2419200.0 / %(fixes)s),
       ST_SetSRID(ST_MakePoint(21.0 + (o %% 50) * 0.1 + f * 0.00005, 55.7 + (o / 50 %% 30) * 0.07
                               + 0.01 * sin(f / 50.0)), 4326),
       10, (f / 50 %% 2) * 30
  FROM generate_series(1, %(objects)s) o, generate_series(1, %(fixes)s) f
"""


@pytest.fixture(scope="module")
def load_db(pg_admin_url, sections_template):
    from tests.support.db import create, drop

    name = f"load_bench_{os.getpid()}"
    url = create(pg_admin_url, name, template=sections_template)
    t0 = time.perf_counter()
    with db.connect(url, autocommit=True) as conn:
        now = conn.execute("SELECT now() AS t").fetchone()["t"]
        weeks = 4
        assert EVENTS_SQL.count("'b' || n") == 1
        for w in range(weeks):  # four weeks of events in the sections, in time order
            conn.execute(EVENTS_SQL.replace("'b' || n", f"'w{w}-' || n"),
                         {"n": N_EVENTS // weeks, "start": now - timedelta(days=7 * (weeks - w))})
        conn.execute("SELECT nsp_ensure_position_partitions(now() - interval '29 days', now() + interval '1 day')")
        objects = max(10, min(2000, N_POSITIONS // 1000))
        conn.execute(POSITIONS_SQL, {"objects": objects, "fixes": N_POSITIONS // objects})
        conn.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('bench', 'done', now())")
        conn.execute("ANALYZE")
        n_events = conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"]
        n_positions = conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"]
    print(f"\nseeded {n_events:,} events and {n_positions:,} positions in {time.perf_counter() - t0:.0f} s")
    assert n_events >= N_EVENTS * 0.99 and n_positions >= N_POSITIONS * 0.99
    yield url
    db.close_pool()
    drop(pg_admin_url, name)


@pytest.fixture(scope="module")
def site(load_db, tmp_path_factory):
    """``nsp serve --workers WORKERS`` (gunicorn) on the benchmark's database, with the week's
    export made beforehand by ``nsp export weekly`` in its export folder."""
    out = tmp_path_factory.mktemp("load-exports")
    env = {**os.environ, "DATABASE_URL": load_db, "NSP_AUTH_SECRET_KEY": "l" * 64, "NSP_AUTH_COOKIE_SECURE": "false",
           "NSP_EXPORT_OUT_DIR": str(out), "NSP_WEB_ACCESS_LOG": "false"}
    week = Week.last_complete(TZ)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nsp.cli", "export", "weekly", "--week", week.label, "--out", str(out),
                    "--no-pdf"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=1800)
    zips = sorted(p.name for p in out.glob("nsp-snapshot-*.zip"))
    assert zips == [f"nsp-snapshot-{week.label}.zip"], zips
    print(f"weekly export {zips[0]} ({(out / zips[0]).stat().st_size / 1e6:.1f} MB) made in "
          f"{time.perf_counter() - t:.0f} s")
    log = out / "serve.log"
    with log.open("wb") as err:
        proc, base = nsp_serve.start(env, "--workers", str(WORKERS), stderr=err, cwd=ROOT)
    try:
        nsp_serve.wait_until_answers(proc, f"{base}/login", timeout=180, accept=lambda r: r.status_code == 200,
                                     log=log)
        yield {"base": base, "zip": zips[0], "db": load_db}
    finally:
        nsp_serve.stop(proc)


def _wait_for_bodies(driver, wanted, timeout: float, what: str) -> list[dict]:
    """Callback bodies the page sends until ``wanted(bodies)`` holds (read from Chromium's log)."""
    bodies: list[dict] = []
    deadline = time.monotonic() + timeout
    while not wanted(bodies):
        assert time.monotonic() < deadline, f"the page did not send {what} in {timeout:.0f} s: " \
                                            f"{[b.get('output') for b in bodies]}"
        time.sleep(0.5)
        bodies += callback_requests(driver)
    return bodies


def _inputs(body: dict) -> set[str]:
    return {i["id"] for i in body.get("inputs", []) if isinstance(i, dict)}


@pytest.fixture(scope="module")
def captured(site, chromium):
    """The wall's refresh callbacks and the main page's map callbacks, as Chromium sends them."""
    base = site["base"]
    make_user(site["db"], "cmdr", "sector_commander", PASSWORD, sections=COMMANDER_SECTIONS)
    driver = chromium.fresh()
    chromium.origins.add(base)
    driver.get(kiosk_url(site["db"], base))

    def ticked(bs):  # sent by a refresh tick (not the first load)
        return list({b["output"]: b for b in bs if "wall-refresh.n_intervals" in b.get("changedPropIds", [])
                     }.values())

    wall = ticked(_wait_for_bodies(driver, lambda bs: len(ticked(bs)) >= 3, 120, "the wall's refresh"))
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    login(driver, base, "cmdr", PASSWORD)
    driver.get(f"{base}/?window=24h")

    def maps(bs):
        return [b for b in bs if {"main-state", "main-map"} <= _inputs(b)]

    main = maps(_wait_for_bodies(driver, lambda bs: len({b["output"] for b in maps(bs)}) >= 2, 120,
                                 "the main map's callbacks"))
    main = list({b["output"]: b for b in main}.values())
    assert len(wall) >= 3, [b["output"] for b in wall]
    assert len(main) == 2, [b["output"] for b in main]
    return {"wall": wall, "main": main}


def _label(body: dict) -> str:
    first = body["output"].lstrip(".").split("...")[0].split(".")[0]
    return first


def _users(n: int, site: dict, captured: dict, token: str) -> list[load.User]:
    base = site["base"]
    counts = {kind: max(1, round(n * share)) for kind, share in MIX}
    counts["wall"] = max(1, n - sum(c for k, c in counts.items() if k != "wall"))
    users: list[load.User] = []
    for kind, count in counts.items():
        for i in range(count):
            users.append(_user(kind, i, base, site, captured, token))
    return users


def _user(kind: str, i: int, base: str, site: dict, captured: dict, token: str, think: float | None = None):
    think = THINK[kind] if think is None else think
    headers = {"Origin": base, "Content-Type": "application/json"}
    if kind == "wall":
        kiosk = kiosk_url(site["db"], base)

        def setup(s):
            assert s.get(kiosk, timeout=60).status_code == 200

        def turn(s, rec):
            for body in captured["wall"]:
                rec.request(s, f"wall refresh: {_label(body)}", "POST", f"{base}/_dash-update-component",
                            data=json.dumps(body), headers=headers)
        return load.User(kind, turn, think, setup)
    if kind == "commander":
        state = {"n": i}

        def setup(s):
            login(s, base, "cmdr", PASSWORD, timeout=60)

        def turn(s, rec):
            state["n"] += 1
            new = parse_query(FILTERS[state["n"] % len(FILTERS)])
            for body in captured["main"]:
                body = copy.deepcopy(body)
                for inp in body["inputs"]:
                    if inp["id"] == "main-state":
                        inp["value"] = new
                body["changedPropIds"] = ["main-state.data"]
                for st in body.get("state", []):
                    if st["property"] == "data" and st["id"].endswith("digests"):
                        st["value"] = None  # a new filter: every layer is new
                rec.request(s, f"commander filter: {_label(body)}", "POST", f"{base}/_dash-update-component",
                            data=json.dumps(body), headers=headers)
        return load.User(kind, turn, think, setup)
    if kind == "analyst":
        def setup(s):
            login(s, base, "ana", PASSWORD, timeout=60)

        def turn(s, rec):
            rec.request(s, "analyst: weekly export download", "GET", f"{base}/export/scheduled/{site['zip']}")
        return load.User(kind, turn, think, setup)

    def turn(s, rec):
        url = f"{base}/ogc/collections/events/items?limit=100"
        for _ in range(GIS_PAGES):
            r = rec.request(s, "GIS: /ogc events page", "GET", url,
                            headers={"Authorization": f"Bearer {token}", "Accept": "application/geo+json"})
            nxt = [link["href"] for link in (r.json().get("links", []) if r is not None else [])
                   if link.get("rel") == "next"]
            if not nxt:
                break
            url = nxt[0]
    return load.User("gis", turn, think)


def _summary(rec: load.Recorder, seconds: float) -> dict:
    routes: dict[str, list[float]] = {}
    for s in rec.samples:
        if s.ok:
            routes.setdefault(s.route, []).append(s.ms)
    return {"routes": {r: (load.pct(v, 0.5), load.pct(v, 0.95), load.pct(v, 0.99), len(v)) for r, v in routes.items()},
            "rps": len(rec.samples) / seconds, "errors": dict(rec.errors), "n": len(rec.samples)}


def test_mixed_load(site, captured, load_db):
    from dashboard import tokens

    make_user(load_db, "ana", "analyst", PASSWORD)
    make_user(load_db, "gis", "watch_officer", PASSWORD)
    with db.connect(load_db) as conn, conn.transaction():
        token = tokens.create_token(conn, "gis", "load benchmark")[1]

    single: dict[str, tuple] = {}
    single_errors: dict[str, int] = {}
    for kind, _share in MIX:
        rec, secs = load.run([_user(kind, 0, site["base"], site, captured, token, think=0.0)], SINGLE_SECONDS)
        s = _summary(rec, secs)
        single.update(s["routes"])
        single_errors.update(s["errors"])
    levels, mixes = {}, {}
    for n in LEVELS:
        users = _users(n, site, captured, token)
        mixes[n] = ", ".join(f"{sum(u.kind == k for u in users)} {k}" for k, _ in MIX)
        rec, secs = load.run(users, SECONDS)
        levels[n] = _summary(rec, secs)

    print(f"\nload: {N_EVENTS:,} events, {N_POSITIONS:,} positions, gunicorn {WORKERS} workers x 4 threads, "
          f"{SECONDS:.0f} s per level (single user: {SINGLE_SECONDS:.0f} s per kind, no think time); "
          f"{os.cpu_count()} CPUs shared with the client; ms p50 / p95 / p99")
    for n in LEVELS:
        print(f"{n} users: {mixes[n]}")
    head = "| route | 1 user | " + " | ".join(f"{n} users" for n in LEVELS) + " |"
    print(head + "\n|" + " --- |" * (len(LEVELS) + 2))
    for route in sorted(single):
        cells = [single[route]] + [levels[n]["routes"].get(route) for n in LEVELS]
        print(f"| {route} | " + " | ".join(f"{c[0]:.0f} / {c[1]:.0f} / {c[2]:.0f}" if c else "-" for c in cells)
              + " |")
    print("| requests/s | - | " + " | ".join(f"{levels[n]['rps']:.1f}" for n in LEVELS) + " |")
    print("| errors | " + str(sum(single_errors.values())) + " | "
          + " | ".join(f"{sum(levels[n]['errors'].values())} of {levels[n]['n']}" for n in LEVELS) + " |")
    for n in LEVELS:
        for what, count in sorted(levels[n]["errors"].items()):
            print(f"  {n} users: {count} x {what}")
    if LEVELS:
        p95 = {r: levels[LEVELS[0]]["routes"][r][1] / single[r][1] for r in single if r in levels[LEVELS[0]]["routes"]}
        print(f"p95 at {LEVELS[0]} users / single user: "
              + ", ".join(f"{r} {v:.1f}x" for r, v in sorted(p95.items())))

    # Every kind's routes answered, alone and at every level; a refused request (4xx) means the
    # workload is wrong, not that the server is slow, so there must be none at any level.
    kinds = {"wall refresh", "commander filter", "analyst", "GIS"}
    assert {r.split(":")[0] for r in single} == kinds, single
    assert not single_errors, single_errors
    for n in LEVELS:
        assert set(single) <= set(levels[n]["routes"]), (n, sorted(levels[n]["routes"]))
        assert not [e for e in levels[n]["errors"] if "HTTP 4" in e], levels[n]["errors"]
