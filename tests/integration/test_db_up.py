"""`nsp db up` / `nsp db down`: the embedded default when no server answers."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nsp(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "nsp.cli", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )


def test_db_up_starts_a_project_local_cluster_when_no_server_answers():
    # The state folder must be readable by the postgres user: keep it inside the project
    # (whose folders are world-traversable), not in pytest's private tmp.
    state = ROOT / ".nsp" / f"test-cluster-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NSP_DB_URL")}
    env.update(NSP_STATE_DIR=str(state), NSP_DB_LOCAL_PORT=str(_unused_port()),
               NSP_DB_CLUSTER_DIR=str(state / "pgdata"))
    try:
        first = _nsp("db", "up", env=env)
        assert first.returncode == 0, first.stderr
        url = first.stdout.strip()
        assert "project cluster" in first.stderr
        assert (state / "database_url").read_text().strip() == url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'postgis'").fetchone()
            user = conn.execute("SELECT current_user").fetchone()[0]
            assert user == "postgres"
            # PostGIS preloaded by the server: a new connection does not load it again
            assert conn.execute("SHOW shared_preload_libraries").fetchone()[0] == "postgis-3"
        second = _nsp("db", "up", env=env)  # idempotent: same database, still running
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == url
        migrated = _nsp("db", "migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        down = _nsp("db", "down", env=env)
        assert down.returncode == 0 and "stopped" in down.stdout
        try:
            psycopg.connect(url, connect_timeout=2).close()
            raise AssertionError("the cluster still answers after `nsp db down`")
        except psycopg.OperationalError:
            pass
    finally:
        _nsp("db", "down", env=env)
        shutil.rmtree(state, ignore_errors=True)


def test_db_up_with_database_url_uses_it(empty_db_url):
    env = dict(os.environ, DATABASE_URL=empty_db_url)
    result = _nsp("db", "up", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == empty_db_url


def test_a_user_error_prints_one_line_and_exits_non_zero():
    env = dict(os.environ, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    result = _nsp("db", "status", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to")
    assert "Traceback" not in result.stderr
