"""Named SQL blocks from ``sql/queries/*.sql`` (the procrastinate pattern).

A block starts with a header line ``-- name --`` followed by comment lines that
describe it; the SQL runs to the next header. Call them by name::

    conn.execute(queries["events_in_window"], {"start": ..., "end": ...})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from nsp.settings import SQL_DIR

_HEADER = re.compile(r"^--\s*([a-z_][a-z0-9_]*)\s*--\s*$", re.MULTILINE)


def parse(text: str, origin: str = "<string>") -> dict[str, str]:
    blocks: dict[str, str] = {}
    parts = _HEADER.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    for name, body in zip(parts[1::2], parts[2::2], strict=False):
        if name in blocks:
            raise ValueError(f"{origin}: query {name!r} is defined twice")
        lines = [ln for ln in body.strip().splitlines() if not ln.lstrip().startswith("--")]
        blocks[name] = "\n".join(lines).strip()
    return blocks


def load(directory: Path = SQL_DIR / "queries") -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, body in parse(path.read_text(), str(path)).items():
            if name in out:
                raise ValueError(f"{path}: query {name!r} is already defined in another file")
            out[name] = body
    return out


class _Queries(Mapping):
    """Loaded lazily, once per process."""

    _data: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._data is None:
            self._data = load()
        return self._data

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


queries = _Queries()
