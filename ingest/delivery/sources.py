"""Ingest sources and their bearer tokens (for ``POST /api/ingest``).

A token is 32 random bytes (``secrets.token_urlsafe``), shown once by ``nsp sources add``;
the database keeps only its SHA-256. A random 256-bit token cannot be guessed, so a slow
password hash would add nothing but latency on every request. Adding and revoking are
written to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from nsp.access import audit
from nsp.errors import NspError

TOKEN_PREFIX = "nsp_"


class SourceError(NspError):
    """A source command could not be done (unknown name, already active, bad name)."""


@dataclass
class Source:
    id: int
    name: str
    description: str | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _audit(conn: psycopg.Connection, actor: str, action: str, name: str, details: dict) -> None:
    audit(conn, actor, action, f"ingest_source:{name}", details)


def add(conn: psycopg.Connection, name: str, actor: str, description: str | None = None) -> str:
    """Create an active source ``name``; return its clear token (shown once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        try:
            row = conn.execute(
                "INSERT INTO ingest_source (name, token_sha256, description, created_by) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (name, hash_token(token), description, actor),
            ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise SourceError(
                f"source {name!r} already has an active token; revoke it first "
                f"(`nsp sources revoke {name}`)"
            ) from exc
        except psycopg.errors.CheckViolation as exc:
            raise SourceError(
                f"invalid source name {name!r}: use letters, digits, '.', '_' or '-' "
                "(at most 64, starting with a letter or digit)"
            ) from exc
        _audit(conn, actor, "source_add", name, {"id": _id(row)})
    return token


def _id(row) -> int:
    return row["id"] if isinstance(row, dict) else row[0]


def revoke(conn: psycopg.Connection, name: str, actor: str) -> None:
    with conn.transaction():
        row = conn.execute(
            "UPDATE ingest_source SET revoked_at = now(), revoked_by = %s "
            "WHERE name = %s AND revoked_at IS NULL RETURNING id",
            (actor, name),
        ).fetchone()
        if row is None:
            raise SourceError(f"no active source named {name!r} (see `nsp sources list`)")
        _audit(conn, actor, "source_revoke", name, {"id": _id(row)})


def list_sources(conn: psycopg.Connection, include_revoked: bool = True) -> list[Source]:
    cur = conn.cursor(row_factory=class_row(Source))
    return cur.execute(
        "SELECT id, name, description, created_at, created_by, last_used_at, revoked_at, revoked_by "
        "FROM ingest_source WHERE %s OR revoked_at IS NULL ORDER BY name, id",
        (include_revoked,),
    ).fetchall()


def authenticate(conn: psycopg.Connection, token: str) -> str | None:
    """The name of the active source holding ``token``, or None; records the use."""
    if not token:
        return None
    row = conn.execute(
        "UPDATE ingest_source SET last_used_at = now() "
        "WHERE token_sha256 = %s AND revoked_at IS NULL RETURNING name",
        (hash_token(token),),
    ).fetchone()
    if row is None:
        return None
    return row["name"] if isinstance(row, dict) else row[0]
