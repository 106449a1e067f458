"""Test fixtures: one template database per run, a fresh copy per test.

The server is the one DATABASE_URL points at (used as an admin connection), else the
suite's own cluster in memory (tests/support/cluster.py), or with NSP_TEST_DB=local the
embedded default of ``nsp db up`` (a local server on 127.0.0.1:5432, or the project-local
cluster). A run that cannot reach PostGIS fails: it never skips.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from pathlib import Path

import psycopg
import pytest

from ingest.settings import ingest_settings
from nsp import db
from nsp.settings import db_settings, geo_settings
from tests.support import chrome, cluster
from tests.support.db import PREFIX as _PREFIX
from tests.support.db import create as _create
from tests.support.db import drop as _drop
from tests.support.db import drop_later, dropped

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()

# Passwords are hashed at a low argon2id cost in the tests (NSP_AUTH_HASH_*, nsp/passwords.py):
# a user made and logged in is a hash and a verification, some 0.2 core-s each at the
# production cost, in hundreds of tests. Set in the environment, so `nsp` subprocesses hash
# alike; tests/unit/test_passwords.py checks the production cost.
for _name, _value in (("NSP_AUTH_HASH_TIME_COST", "1"), ("NSP_AUTH_HASH_MEMORY_KIB", "8192"),
                      ("NSP_AUTH_HASH_PARALLELISM", "1")):
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        url = cluster.admin_url()
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - reported as a failure, never a skip
        pytest.fail(f"PostgreSQL is not reachable for the tests: {exc}", pytrace=False)
    yield url
    failures = dropped()  # the tests' copies, dropped by a thread while the next tests ran
    assert not failures, "test databases not dropped:\n" + "\n".join(failures)


# The template databases are shared by the test processes of a run and by the runs after it:
# each is named by a digest of what it is built from, and built once, by the first process
# that needs it (the others wait on an advisory lock), under another name and renamed when
# complete. Building them took some 3 core-s of the server each, in every test process.
TEMPLATE_PREFIX = "nsp_tpl_"


def _digest(*parts) -> str:
    """A digest of files (every file under a folder) and strings."""
    import hashlib

    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            for f in sorted(part.rglob("*") if part.is_dir() else [part]):
                if f.is_file() and "__pycache__" not in f.parts:
                    h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode())
                    h.update(f.read_bytes())
        else:
            h.update(str(part).encode())
    return h.hexdigest()[:16]


def _shared_template(admin: str, kind: str, key: str, build, template: str | None = None) -> str:
    """The template ``nsp_tpl_<kind>_<key>``, built by ``build(url)`` from ``template`` if it is
    not there yet. Older templates of the kind are dropped when a new one is built."""
    from psycopg import sql

    name = f"{TEMPLATE_PREFIX}{kind}_{key}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (TEMPLATE_PREFIX + kind,))
        try:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return name
            building = f"{name}_build"
            url = _create(admin, building, template=template)
            try:
                build(url)
            except BaseException:
                _drop(admin, building)
                raise
            finally:
                db.close_pool()
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building),
                                                                        sql.Identifier(name)))
            for (old,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                                       (f"{TEMPLATE_PREFIX}{kind}\\_%", name)).fetchall():
                try:
                    conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(old)))
                except psycopg.Error:
                    pass  # in use: left for a later run
            return name
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (TEMPLATE_PREFIX + kind,))


def _postgis_version(admin: str) -> str:
    with psycopg.connect(admin) as conn:
        return conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'").fetchone()[0]


@pytest.fixture(scope="session")
def schema_template(pg_admin_url):
    """A database with every migration applied; the template of ``empty_db_url``."""
    key = _digest(db.MIGRATIONS_DIR, ROOT / "nsp" / "db.py", _postgis_version(pg_admin_url))
    try:
        return _shared_template(pg_admin_url, "schema", key, db.migrate)
    except db.DatabaseError as exc:
        pytest.fail(f"cannot build the test schema (is PostGIS installed?): {exc}", pytrace=False)


@pytest.fixture(scope="session")
def sections_template(pg_admin_url, schema_template):
    """The schema plus the default (Latvian) border sections; the template of ``db_url``."""
    from geo import sections

    path = Path(geo_settings().sections_path)
    key = _digest(schema_template, path.parent if path.is_file() else path, ROOT / "assets" / "geodata",
                  ROOT / "geo", ROOT / "nsp")
    return _shared_template(pg_admin_url, "sections", key,
                            lambda url: sections.load(url, path, actor="system"), template=schema_template)


def _fresh(pg_admin_url, template, monkeypatch):
    name = f"{_PREFIX}_{next(_counter)}"
    url = _create(pg_admin_url, name, template=template)
    # Code under test that reads settings or the process pool sees this database.
    monkeypatch.setenv("DATABASE_URL", url)
    db_settings.cache_clear()
    db.close_pool()
    yield url
    db.close_pool()
    db_settings.cache_clear()
    drop_later(pg_admin_url, name)  # its checkpoint is waited for by a thread, not the next test


@pytest.fixture
def empty_db_url(pg_admin_url, schema_template, monkeypatch):
    """A fresh database with the schema and no data; DATABASE_URL points at it."""
    yield from _fresh(pg_admin_url, schema_template, monkeypatch)


@pytest.fixture
def db_url(pg_admin_url, sections_template, monkeypatch):
    """A fresh database with the schema and Latvia's sections; DATABASE_URL points at it."""
    yield from _fresh(pg_admin_url, sections_template, monkeypatch)


@pytest.fixture
def conn(db_url):
    """An autocommit connection (dict rows) to ``db_url``."""
    with db.connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def anywhere(monkeypatch):
    """The real captures are from California, England, Africa, 2008-2024: widen the region and age."""
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    monkeypatch.setenv("NSP_INGEST_MAX_AGE_DAYS", "0")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    yield
    geo_settings.cache_clear()
    ingest_settings.cache_clear()


@pytest.fixture(scope="session")
def chromium():
    """The test process's one Chromium (tests/support/chrome.py), started at first use."""
    session = chrome.Session()
    yield session
    session.close()


@pytest.fixture
def browser(chromium):
    """The session's Chromium, clean as a new one: 1920x1080, no cookies, no storage."""
    driver = chromium.fresh()
    yield driver
    if chrome.alive(driver):
        driver.get("about:blank")  # a page left open would go on refreshing against no server


# The order of the files, for pytest-xdist's --dist loadfile (make test adds
# --no-loadscope-reorder, which would otherwise hand out the files with most tests first): the
# longest first, so that the last files to start are short ones and the processes end
# together. A test's length is its time in an earlier run here (pytest's cache, key
# TEST_SECONDS), else the length its ``seconds`` mark gives (a test that waits by design: an
# outage, a worker's interval), else the typical time of a test of its layer. Without the
# marks, a clean clone handed out the longest waits (one file of two tests, two minutes) last.
TEST_SECONDS = "nsp/test-seconds"
TYPICAL_SECONDS = {"browser": 8.0, "integration": 1.5, "unit": 0.05}


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _typical(nodeid: str) -> float:
    layer = nodeid.split("/")[1] if nodeid.startswith("tests/") and nodeid.count("/") > 1 else ""
    return TYPICAL_SECONDS.get(layer, TYPICAL_SECONDS["unit"])


def expected_seconds(item, known: dict[str, float]) -> float:
    """How long ``item`` should take: its time in the last run, its ``seconds`` mark, its layer's typical time."""
    if item.nodeid in known:
        return known[item.nodeid]
    mark = item.get_closest_marker("seconds")
    return float(mark.args[0]) if mark else _typical(item.nodeid)


def longest_files_first(items, known: dict[str, float]) -> None:
    """Sort ``items`` by their file's expected time, longest first; a file's tests keep their order."""
    per_file: dict[str, float] = defaultdict(float)
    for item in items:
        per_file[_file(item.nodeid)] += expected_seconds(item, known)
    items.sort(key=lambda item: (-per_file[_file(item.nodeid)], _file(item.nodeid)))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
    if config.getoption("dist", "no") in ("loadfile", "loadscope"):
        cache = getattr(config, "cache", None)
        longest_files_first(items, cache.get(TEST_SECONDS, {}) if cache else {})


_ran: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    if report.outcome != "skipped":
        _ran[report.nodeid] += report.duration  # set-up, call and tear-down


def pytest_sessionfinish(session):
    """The times of the tests that ran, into the cache (by the controller, or a lone process)."""
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _ran:
        return
    known = cache.get(TEST_SECONDS, {})
    known.update({nodeid: round(seconds, 3) for nodeid, seconds in _ran.items()})
    cache.set(TEST_SECONDS, known)
