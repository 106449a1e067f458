"""Who is asking: the scope every data read and write runs under.

All data access on behalf of a user (dashboard callbacks, exports, the ingest
API) takes its connection from :func:`connection`, which opens a transaction,
switches to the application role ``nsp_app`` (``SET LOCAL ROLE``) and records
the user's scope in transaction-local settings::

    nsp.user      the user's name (for audit rows)
    nsp.role      watch_officer | sector_commander | analyst | admin | kiosk | system
    nsp.sections  comma-separated section codes, '*' for all, '' for none

Row-level security policies in PostgreSQL read these settings (migration
``0007_access.sql``), so a bug in a callback cannot widen what a user sees: the
role is not the owner of any table and cannot bypass RLS, and an unset scope
sees nothing.

Connections come from the process pool (``nsp.db.pool()``), which connects as
the database owner; ``SET LOCAL ROLE nsp_app`` then drops to the app role for
the transaction. In production, set ``NSP_DB_APP_URL`` to a login role that is
only a member of ``nsp_app``: the web app then has no rights beyond it even
outside these transactions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Lock

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nsp import db

ROLES = ("watch_officer", "sector_commander", "analyst", "admin", "kiosk", "system")
USER_ROLES = ("watch_officer", "sector_commander", "analyst", "admin")
APP_ROLE = "nsp_app"
SECTION_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")  # as border_section.code's CHECK


@dataclass(frozen=True)
class Scope:
    user: str
    role: str = "system"
    # None: every section. A tuple: only these section codes (empty: none).
    sections: tuple[str, ...] | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")
        if self.sections is not None:
            if not isinstance(self.sections, tuple):
                object.__setattr__(self, "sections", tuple(self.sections))
            bad = [c for c in self.sections if not isinstance(c, str) or not SECTION_CODE.match(c)]
            if bad:
                # A code with a comma would widen the comma-separated nsp.sections setting.
                raise ValueError(f"invalid section code(s) in scope: {bad!r}")
        if self.role == "sector_commander" and self.sections is None:
            raise ValueError("a sector commander's scope must name its sections")
        if self.role == "admin" and self.sections is None:
            # Admins manage users and sources; they see no operational data.
            object.__setattr__(self, "sections", ())

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

    # What the role may do (issue 6, part 1). The database enforces the same where it can.
    @property
    def can_change_levels(self) -> bool:
        return self.role in ("watch_officer", "system")

    @property
    def can_close_events(self) -> bool:
        return self.role in ("watch_officer", "system")

    @property
    def can_export(self) -> bool:
        return self.role in ("sector_commander", "analyst", "watch_officer", "system")

    @property
    def can_manage(self) -> bool:
        """Manage users and sources, read the audit log."""
        return self.role in ("admin", "system")

    @property
    def read_only(self) -> bool:
        return self.role == "kiosk"


SYSTEM = Scope(user="system", role="system")


class AccessSettings(BaseSettings):
    """How the web app reaches the database (env prefix ``NSP_DB_``)."""

    model_config = SettingsConfigDict(env_prefix="NSP_DB_", env_file=".env", extra="ignore")

    app_url: str | None = Field(
        default=None,
        description="libpq URL of a login role that is a member of nsp_app only; "
        "when unset, the owner's pool is used with SET LOCAL ROLE nsp_app",
    )


_app_pool: ConnectionPool | None = None
_app_pool_lock = Lock()


def _pool() -> ConnectionPool:
    global _app_pool
    url = AccessSettings().app_url
    if not url:
        return db.pool()
    with _app_pool_lock:
        if _app_pool is None:
            s = db.db_settings()
            _app_pool = ConnectionPool(
                url, min_size=s.pool_min, max_size=s.pool_max,
                kwargs={"row_factory": dict_row},
                check=ConnectionPool.check_connection, name="nsp-app", open=True,
            )
        return _app_pool


def close_pool() -> None:
    """Close the NSP_DB_APP_URL pool (if one was opened)."""
    global _app_pool
    with _app_pool_lock:
        if _app_pool is not None:
            _app_pool.close()
            _app_pool = None


def apply_scope(conn: psycopg.Connection, scope: Scope) -> None:
    """Set the scope for the current transaction of ``conn``."""
    sections = "*" if scope.sections is None else ",".join(scope.sections)
    conn.execute(
        "SELECT set_config('nsp.user', %s, true), set_config('nsp.role', %s, true), "
        "set_config('nsp.sections', %s, true)",
        (scope.user, scope.role, sections),
    )


def as_app_role(conn: psycopg.Connection) -> None:
    """Run the rest of the current transaction as ``nsp_app`` (subject to RLS)."""
    conn.execute("SET LOCAL ROLE nsp_app")


@contextmanager
def connection(scope: Scope, timeout: float | None = None) -> Iterator[psycopg.Connection]:
    """A pooled connection inside a transaction that runs as nsp_app under ``scope``.
    ``timeout``: seconds to wait for one (default: the pool's), then ``PoolTimeout``."""
    with _pool().connection(timeout=timeout) as conn:
        with conn.transaction():
            as_app_role(conn)
            apply_scope(conn, scope)
            yield conn


@contextmanager
def read_connection(scope: Scope) -> Iterator[psycopg.Connection]:
    """As :func:`connection`, for reads only: on a read replica (``NSP_DB_READ_URL``) within
    its lag limit, else on the primary (:mod:`nsp.replica`). The transaction is read-only on
    either, so a write slipped in here fails on the primary as it would on a standby."""
    from nsp import replica

    rs = replica.replicas()
    chosen = rs.choose()
    if chosen is None:
        with connection(scope) as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            yield conn
        return
    try:
        checkout = chosen.pool().connection(timeout=replica.CONNECT_TIMEOUT_S * 2)
        conn = checkout.__enter__()
    except (psycopg.OperationalError, PoolTimeout) as exc:
        rs.left_out(chosen, exc)
        with connection(scope) as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            yield conn
        return
    try:
        with conn.transaction():
            as_app_role(conn)
            apply_scope(conn, scope)
            yield conn
    except BaseException as exc:
        if isinstance(exc, psycopg.OperationalError):
            # the standby went away, or cancelled the read in a conflict with its replay: this
            # read fails; the next ones go elsewhere until a measure finds the standby back
            rs.left_out(chosen, exc)
        if not checkout.__exit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        checkout.__exit__(None, None, None)


def audit(
    conn: psycopg.Connection,
    actor: str,
    action: str,
    object: str | None = None,  # noqa: A002 - the audit_log column's name
    details: dict | None = None,
    remote_addr: str | None = None,
) -> None:
    """Append a row to audit_log in the caller's transaction.

    Works under any scope (the row is written even by scopes that may not read the
    log back, hence no RETURNING). Actions in use: ``login``, ``login_failed``,
    ``logout``, ``kiosk_login``, ``export``, ``snapshot_download``, ``impact_level_change``,
    ``event_impact``, ``event_close``, ``event_reopen``, ``user_add``, ``user_disable``, ``user_enable``,
    ``user_set_password``, ``kiosk_token_add``, ``kiosk_token_revoke``,
    ``token_add``, ``token_revoke``, ``token_failed``,
    ``source_add``, ``source_revoke``, ``object_restrict``, ``object_unrestrict``,
    ``feed_expect``, ``feed_forget``, ``alert_add``, ``alert_disable``, ``alert_enable``,
    ``alert_remove``, ``cot_out_start``, ``share_add``, ``share_revoke``, ``share_pull``, ``share_push``.
    """
    conn.execute(
        "INSERT INTO audit_log (actor, action, object, details, remote_addr) "
        "VALUES (%s, %s, %s, %s::jsonb, %s)",
        (actor, action, object, json.dumps(details or {}, default=str), remote_addr),
    )
