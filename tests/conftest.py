"""Test fixtures: one template database per run, a fresh copy per test.

The server is the one DATABASE_URL points at (used as an admin connection), or
else the embedded default of ``nsp db up`` (a local server on 127.0.0.1:5432, or
the project-local cluster). A run that cannot reach PostGIS fails: it never skips.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from nsp import db
from nsp.settings import db_settings, geo_settings

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()
_PREFIX = f"nsp_t{os.getpid()}"


def _admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    up = db.db_up()  # idempotent; creates the embedded default if needed
    return db.with_dbname(up.url, "postgres")


def _create(admin: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        q = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            q += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(q)
    return db.with_dbname(admin, name)


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        url = _admin_url()
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - reported as a failure, never a skip
        pytest.fail(f"PostgreSQL is not reachable for the tests: {exc}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def schema_template(pg_admin_url):
    """A database with every migration applied; the template of ``empty_db_url``."""
    name = f"{_PREFIX}_schema"
    url = _create(pg_admin_url, name)
    try:
        db.migrate(url)
    except db.DatabaseError as exc:
        _drop(pg_admin_url, name)
        pytest.fail(f"cannot build the test schema (is PostGIS installed?): {exc}", pytrace=False)
    yield name
    _drop(pg_admin_url, name)


@pytest.fixture(scope="session")
def sections_template(pg_admin_url, schema_template):
    """The schema plus the default (Latvian) border sections; the template of ``db_url``."""
    from geo import sections

    name = f"{_PREFIX}_sections"
    url = _create(pg_admin_url, name, template=schema_template)
    sections.load(url, geo_settings().sections_path, actor="system")
    yield name
    _drop(pg_admin_url, name)


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
    _drop(pg_admin_url, name)


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


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
