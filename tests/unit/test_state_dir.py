"""The state folder (``NSP_STATE_DIR``, ``.nsp``) is the working directory's, never the code's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from nsp.settings import SYSTEM_STATE_DIR, default_state_dir

ROOT = Path(__file__).resolve().parents[2]
# What a process reports as its state folder and every default derived from it.
PROBE = """
import json
from nsp.settings import STATE_DIR, DBSettings
from geo.snapshot.settings import ExportSettings
from ingest.delivery.settings import DemoSettings
print(json.dumps({"state": str(STATE_DIR), "cluster": str(DBSettings().cluster_dir),
                  "exports": str(ExportSettings().out_dir), "demo": str(DemoSettings().dir)}))
"""


def _probe(cwd: Path, code_dir: Path | None = None, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("NSP_", "XDG_")) and k != "DATABASE_URL"}
    if code_dir is not None:
        clean["PYTHONPATH"] = str(code_dir)
        clean["PYTHONSAFEPATH"] = "1"
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env={**clean, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_second_working_directory_keeps_its_own_state(tmp_path):
    other = tmp_path / "second-checkout"
    other.mkdir()
    got = _probe(other)
    assert got == {"state": str(other / ".nsp"), "cluster": str(other / ".nsp" / "pgdata"),
                   "exports": str(other / ".nsp" / "snapshots"), "demo": str(other / ".nsp" / "demo")}
    assert not any(v.startswith(str(ROOT / ".nsp")) for v in got.values())
    # from the project root (make demo, make test) it is the project's own .nsp, as before
    assert _probe(ROOT)["state"] == str(ROOT / ".nsp")
    # NSP_STATE_DIR wins; a relative one is taken from the working directory
    assert _probe(other, NSP_STATE_DIR="state")["exports"] == str(other / "state" / "snapshots")
    assert _probe(other, NSP_STATE_DIR="/srv/nsp/state")["state"] == "/srv/nsp/state"


def test_an_installed_copy_does_not_write_beside_its_code(tmp_path):
    """The packages copied as pip lays them out in site-packages: no pyproject.toml beside them."""
    site = tmp_path / "site-packages"
    for pkg in ("nsp", "geo", "ingest", "dashboard"):
        shutil.copytree(ROOT / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "home"
    got = _probe(work, code_dir=site, HOME=str(home))
    assert not any(v.startswith(str(site)) for v in got.values()), got
    expected = SYSTEM_STATE_DIR if os.geteuid() == 0 else home / ".local" / "state" / "nsp"
    assert got["state"] == str(expected)
    # a working directory that has its own .nsp keeps using it
    (work / ".nsp").mkdir()
    assert _probe(work, code_dir=site, HOME=str(home))["state"] == str(work / ".nsp")


def test_the_rule_for_each_case(tmp_path):
    env: dict[str, str] = {}
    assert default_state_dir(tmp_path, env, checkout=True, euid=1000) == tmp_path / ".nsp"
    assert default_state_dir(tmp_path, env, checkout=False, euid=0) == SYSTEM_STATE_DIR
    assert default_state_dir(tmp_path, env, checkout=False, euid=1000) == Path.home() / ".local/state/nsp"
    env = {"XDG_STATE_HOME": str(tmp_path / "xdg")}
    assert default_state_dir(tmp_path, env, checkout=False, euid=1000) == tmp_path / "xdg" / "nsp"
    env = {"XDG_STATE_HOME": "relative/ignored"}  # the XDG spec: relative paths are invalid
    assert default_state_dir(tmp_path, env, checkout=False, euid=1000) == Path.home() / ".local/state/nsp"
    (tmp_path / ".nsp").mkdir()
    assert default_state_dir(tmp_path, {}, checkout=False, euid=0) == tmp_path / ".nsp"
    assert default_state_dir(tmp_path, {"NSP_STATE_DIR": "s"}, checkout=True, euid=0) == tmp_path / "s"
