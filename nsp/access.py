"""Who is asking: the scope every data read and write runs under.

All data access on behalf of a user (dashboard callbacks, exports, the ingest
API) takes its connection from :func:`connection`, which opens a transaction
and records the user's scope in transaction-local settings::

    nsp.user      the user's name (for audit rows)
    nsp.role      watch_officer | sector_commander | analyst | admin | kiosk | system
    nsp.sections  comma-separated section codes, or '*' for all

Row-level security policies in PostgreSQL read these settings (see the access
control migration), so a bug in a callback cannot widen what a user sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from nsp import db

ROLES = ("watch_officer", "sector_commander", "analyst", "admin", "kiosk", "system")


@dataclass(frozen=True)
class Scope:
    user: str
    role: str = "system"
    # None: every section. A tuple: only these section codes.
    sections: tuple[str, ...] | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")

    @property
    def all_sections(self) -> bool:
        return self.sections is None

    def allows(self, section_code: str | None) -> bool:
        return self.sections is None or section_code in self.sections

    def restrict(self, wanted: list[str] | tuple[str, ...] | None) -> list[str] | None:
        """Intersect a requested section filter with the scope (None means no filter)."""
        if self.sections is None:
            return list(wanted) if wanted else None
        if not wanted:
            return list(self.sections)
        return [c for c in wanted if c in self.sections]


SYSTEM = Scope(user="system", role="system")


def apply_scope(conn: psycopg.Connection, scope: Scope) -> None:
    """Set the scope for the current transaction of ``conn``."""
    sections = "*" if scope.sections is None else ",".join(scope.sections)
    conn.execute(
        "SELECT set_config('nsp.user', %s, true), set_config('nsp.role', %s, true), "
        "set_config('nsp.sections', %s, true)",
        (scope.user, scope.role, sections),
    )


@contextmanager
def connection(scope: Scope) -> Iterator[psycopg.Connection]:
    """A pooled connection inside a transaction that runs under ``scope``."""
    with db.pool().connection() as conn:
        with conn.transaction():
            apply_scope(conn, scope)
            yield conn
