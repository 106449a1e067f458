"""`nsp db up` run from another working directory records its database there, not in the
checkout whose code runs (the state folder is the working directory's `.nsp`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nsp import db
from tests.support.db import PREFIX as _PREFIX
from tests.support.db import drop as _drop

ROOT = Path(__file__).resolve().parents[2]


def test_db_up_from_another_directory_writes_only_there(tmp_path, pg_admin_url):
    recorded = ROOT / ".nsp" / "database_url"
    before = recorded.read_bytes() if recorded.exists() else None
    name = f"{_PREFIX}_state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSP_") and k != "DATABASE_URL"}
    env["NSP_DB_NAME"] = name
    url = None
    try:
        out = subprocess.run([sys.executable, "-m", "nsp.cli", "db", "up"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        url = out.stdout.strip()
        assert url.endswith("/" + name)
        assert (tmp_path / ".nsp" / "database_url").read_text().strip() == url
        # the checkout's own record is untouched
        assert (recorded.read_bytes() if recorded.exists() else None) == before
        # and a command run there finds that database
        status = subprocess.run([sys.executable, "-m", "nsp.cli", "db", "status", "--json"], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=120)
        assert status.returncode == 0 and name in status.stdout, status.stderr
    finally:
        # `nsp db up` without DATABASE_URL made the database on the embedded default's server
        # (127.0.0.1:5432, or the project-local cluster), not on the tests' one
        _drop(db.with_dbname(url, "postgres") if url else pg_admin_url, name)
