"""A partner share's token on ``/ogc``: the share becomes the request's scope (geo/shares.py).

dashboard/tokens.py asks :func:`user_for_token` when a token is not a personal one. A share's
token is honoured under ``/ogc`` only (not ``/tiles``: tiles carry no delay), for an active
share; the request then reads as ``Scope("share:NAME", "kiosk", <the share's sections>)``
and dashboard/ogc.py applies the share's layers, delay, lowest impact and detail
(:func:`current_share`). Every request is audited (``share_pull``, with the path and query).
"""

from __future__ import annotations

from flask import Request, g

from geo.shares import Share
from nsp import access

OGC_PREFIX = "/ogc"


def current_share() -> Share | None:
    """The share the current request reads as, or None (a user or a session)."""
    try:
        return g.get("nsp_share")
    except RuntimeError:  # outside a request (tests, scripts)
        return None


def user_for_token(conn, token_hash: str, req: Request, user_cls):
    """A ``user_cls`` for the active share whose token hash is ``token_hash``, or None
    (no such share). ``conn`` runs as the login machinery (system scope). A revoked share,
    or one asked outside /ogc, is refused: (None, reason)."""
    row = conn.execute("SELECT name, partner, sections, layers, min_impact, delay, detail, place_decimals, "
                       "revoked_at IS NOT NULL AS revoked FROM partner_share WHERE token_sha256 = %s",
                       (token_hash,)).fetchone()
    if row is None:
        return None, None
    if row["revoked"]:
        return None, "revoked share"
    if not (req.path == OGC_PREFIX or req.path.startswith(OGC_PREFIX + "/")):
        return None, "a share's token reads /ogc only"
    share = Share.from_row(row)
    g.nsp_share = share
    conn.execute("UPDATE partner_share SET last_used_at = now() WHERE name = %s "
                 "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", (share.name,))
    access.audit(conn, share.scope.user, "share_pull", share.name,
                 {"path": req.path, "query": req.query_string.decode("latin-1")[:500]}, req.remote_addr)
    scope = share.scope
    return user_cls("share", scope.user, scope.role, scope.sections), None
