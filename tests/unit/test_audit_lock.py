"""`make audit` (.ci/audit_lock.py): how a pin is judged from PyPI's vulnerability data.

The documents below have the shape of PyPI's JSON API (the ecdsa advisory as PyPI served it
on 2026-11-22); the network part is run by `make audit` itself.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit_lock", ROOT / ".ci" / "audit_lock.py")
audit_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_lock)

MINERVA = {"id": "PYSEC-2026-1325", "aliases": ["CVE-2024-23342", "GHSA-wj6h-64fc-37mp"], "fixed_in": [],
           "link": "https://osv.dev/vulnerability/PYSEC-2026-1325", "source": "osv", "withdrawn": None}


def project(latest, vulns):
    return {"info": {"name": "ecdsa", "version": latest}, "vulnerabilities": vulns, "releases": {}}


def test_latest_release_is_judged_by_the_project_document():
    assert audit_lock.judge("0.19.2", None, project("0.19.2", [MINERVA])) == ("vulnerable", [MINERVA])
    assert audit_lock.judge("0.19.2", None, project("0.19.2", [])) == ("clean", [])


def test_an_older_pin_without_its_release_document_is_unchecked_not_clean():
    # the project document's vulnerabilities are the latest release's: they say nothing of 0.18
    assert audit_lock.judge("0.18.0", None, project("0.19.2", [])) == ("unchecked", [])
    assert audit_lock.judge("0.18.0", None, None) == ("unchecked", [])


def test_the_release_document_wins_and_withdrawn_advisories_do_not_count():
    withdrawn = dict(MINERVA, withdrawn="2026-01-01T00:00:00Z")
    release = {"info": {"version": "0.18.0"}, "vulnerabilities": [withdrawn]}
    assert audit_lock.judge("0.18.0", release, None) == ("clean", [])
    assert audit_lock.judge("0.18.0", {"info": {}}, None) == ("unchecked", [])


def test_read_pins(tmp_path):
    lock = tmp_path / "r.lock"
    lock.write_text("# pinned\nDash==4.4.1\n-e .\nnumpy==2.4.6 ; python_version < '3.12'\n\n")
    assert audit_lock.read_pins(lock) == [("Dash", "4.4.1"), ("numpy", "2.4.6")]
    lock.write_text("dash>=4\n")
    with pytest.raises(ValueError, match=r"r.lock:1: not pinned"):
        audit_lock.read_pins(lock)


def test_the_project_lock_is_fully_pinned():
    pins = audit_lock.read_pins(ROOT / "requirements.lock")
    names = {n.lower() for n, _v in pins}
    assert {"dash", "psycopg", "procrastinate", "geopandas", "selenium"} <= names
    # the test extra no longer pulls dash[testing]'s selenium 4.2 and urllib3 1.26
    assert dict((n.lower(), v) for n, v in pins)["urllib3"].split(".")[0] == "2"


def test_why_an_unchecked_pin_lags_the_latest_release():
    assert audit_lock.why_older({"requires_python": ">=3.12"}, (3, 11)) == \
        "it requires Python >=3.12, this is 3.11"
    assert audit_lock.why_older({"requires_python": "!=3.0.*, >= 3.12.1"}, (3, 11)).startswith("it requires")
    assert audit_lock.why_older({"requires_python": ">=3.12"}, (3, 12)) == ""
    assert audit_lock.why_older({"requires_python": None}, (3, 11)) == ""
