"""Known vulnerabilities in the pinned set (`make audit`), from PyPI's vulnerability data.

    python .ci/audit_lock.py [requirements.lock] [--index https://pypi.org/pypi]

PyPI publishes the known vulnerabilities (from the OSV database) of every release in its JSON
API: ``/pypi/NAME/VERSION/json`` for one release and ``/pypi/NAME/json`` for the latest. Some
mirrors and proxies serve only the latter (the per-release document answers 404), and so does
the proxy of the machine nsp is developed on; pip-audit then refuses the whole lock. This
script uses the per-release document where it is served, else the latest-release document when
the pin *is* the latest release, and otherwise says plainly that the pin could not be checked.

Exit status: 0 every pin checked and none has a known vulnerability; 1 a pin has one;
3 no known vulnerability, but some pins could not be checked (the report names them);
2 usage error or the index unreachable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def read_pins(path: Path) -> list[tuple[str, str]]:
    """``name==version`` lines of a pip freeze file (comments, options and markers skipped)."""
    pins = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if "==" not in line:
            raise ValueError(f"{path}:{n}: not pinned with ==: {raw!r}")
        name, version = (p.strip() for p in line.split("==", 1))
        pins.append((name, version))
    return pins


def judge(version: str, release_doc: dict | None, project_doc: dict | None) -> tuple[str, list[dict]]:
    """``("vulnerable", vulns)``, ``("clean", [])`` or ``("unchecked", [])`` for one pin.

    ``release_doc`` is PyPI's document of the pinned release (None when not served);
    ``project_doc`` that of the project, whose ``vulnerabilities`` are the latest release's.
    Withdrawn advisories do not count.
    """
    if release_doc is not None:
        doc = release_doc
    elif project_doc is not None and project_doc.get("info", {}).get("version") == version:
        doc = project_doc
    else:
        return "unchecked", []
    if "vulnerabilities" not in doc:
        return "unchecked", []
    vulns = [v for v in doc["vulnerabilities"] or [] if not v.get("withdrawn")]
    return ("vulnerable" if vulns else "clean"), vulns


def why_older(info: dict, python: tuple[int, int]) -> str:
    """Why a pin may lag the latest release: "it requires Python >=3.12" when the latest
    release's ``requires_python`` lower bound is above ``python``; else ``""``."""
    for spec in (info.get("requires_python") or "").split(","):
        m = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)(?:\.\d+)*\s*", spec)
        if m and (int(m[1]), int(m[2])) > python:
            return f"it requires Python {spec.strip()}, this is {python[0]}.{python[1]}"
    return ""


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def audit(pins: list[tuple[str, str]], index: str) -> list[tuple[str, str, str, list[dict], str]]:
    def one(pin):
        name, version = pin
        release = _get(f"{index}/{name}/{version}/json")
        project = None if release is not None else _get(f"{index}/{name}/json")
        status, vulns = judge(version, release, project)
        info = (project or release or {}).get("info", {})
        latest = info.get("version", "?")
        if status == "unchecked" and project is not None:
            reason = why_older(info, sys.version_info[:2])
            latest = f"{latest}{'; ' + reason if reason else ''}"
        return name, version, status, vulns, latest

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, pins))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lock", nargs="?", default="requirements.lock", type=Path)
    ap.add_argument("--index", default="https://pypi.org/pypi", help="PyPI JSON API base URL")
    args = ap.parse_args(argv)
    try:
        pins = read_pins(args.lock)
    except (OSError, ValueError) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    try:
        results = audit(pins, args.index.rstrip("/"))
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
        print(f"audit: cannot read {args.index}: {exc}", file=sys.stderr)
        return 2
    bad = [r for r in results if r[2] == "vulnerable"]
    unchecked = [r for r in results if r[2] == "unchecked"]
    for name, version, _s, vulns, _l in bad:
        for v in vulns:
            fixed = ", ".join(v.get("fixed_in") or []) or "no fix yet"
            print(f"VULNERABLE {name}=={version}: {v.get('id')} {' '.join(v.get('aliases') or [])} (fixed in {fixed})")
    for name, version, _s, _v, latest in unchecked:
        print(f"unchecked  {name}=={version}: the index serves no vulnerability data for this "
              f"release (latest is {latest})")
    clean = len(results) - len(bad) - len(unchecked)
    print(f"{len(results)} pins in {args.lock}: {clean} without known vulnerabilities, "
          f"{len(bad)} vulnerable, {len(unchecked)} unchecked")
    if bad:
        return 1
    return 3 if unchecked else 0


if __name__ == "__main__":
    sys.exit(main())
