"""The tests' own PostgreSQL server (tests/support/cluster.py): what the tests run on when no
DATABASE_URL is given, with the non-durable settings, and the durable local server for
NSP_TEST_DB=local."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg

from nsp import db
from tests.support import cluster


def _setting(url: str, name: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]


def test_the_tests_run_on_the_suites_own_cluster_in_memory_with_non_durable_settings(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NSP_TEST_DB", raising=False)
    url = cluster.admin_url()
    assert url == cluster.up(), "a second up() gives the running cluster"
    assert _setting(url, "data_directory") == str(cluster.root() / "data")
    for name, value in (("fsync", "off"), ("synchronous_commit", "off"), ("full_page_writes", "off"),
                        ("wal_level", "minimal"), ("shared_preload_libraries", db.PRELOAD)):
        assert _setting(url, name) == value, name
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'").fetchone()


def test_nsp_test_db_local_runs_the_tests_on_the_durable_server_of_nsp_db_up(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NSP_TEST_DB", "local")
    url = cluster.admin_url()
    assert url == db.with_dbname(db.db_up().url, "postgres")
    assert _setting(url, "fsync") == "on"
    assert not _setting(url, "data_directory").startswith(str(cluster.root()))


def test_the_cluster_goes_to_the_temporary_folder_where_dev_shm_is_small(monkeypatch):
    monkeypatch.setattr(cluster, "MIN_FREE", 0)
    assert cluster.base() == Path("/dev/shm")
    monkeypatch.setattr(cluster, "MIN_FREE", 1 << 60)  # more than any /dev/shm holds
    assert cluster.base() == Path(tempfile.gettempdir())
    assert cluster.root().parent == Path(tempfile.gettempdir())
