"""Versions in the URLs of the responses a browser keeps (``?v=``).

The vocabulary script, the basemap's GeoJSON, the crossing points and the own tiles are
served with ``Cache-Control: max-age=3600``: a wall loads them once, not at every page. A
browser then used what it kept for up to an hour after the thing itself had changed (a new
crossing-points file, new tiles, a new release's vocabulary). Each such URL carries a version
of what it serves: the same content, the same URL and the kept copy; a changed file or
release, a new URL that the browser fetches.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def of_bytes(data: bytes) -> str:
    """The version of a body (12 hex digits of its SHA-256)."""
    return hashlib.sha256(data).hexdigest()[:12]


def of_files(*paths: str | os.PathLike | None) -> str:
    """The version of files as they are on disk now: their paths, sizes and modification
    times (no read of their content); a file that is missing counts as missing."""
    h = hashlib.sha256()
    for path in paths:
        if not path:
            h.update(b"\0none\0")
            continue
        p = Path(path)
        try:
            st = p.stat()
            h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        except OSError:
            h.update(f"{p}\0missing\0".encode())
    return h.hexdigest()[:12]


def url(path: str, version: str) -> str:
    """``path`` with its version (``path?v=version``)."""
    return f"{path}?v={version}"
