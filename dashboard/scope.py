"""Who is asking: the scope of the current request.

With the login module (``dashboard.auth``, issue 6) installed, the scope is the logged-in
user's (``auth.current_scope()``); a request without a user gets a scope that sees nothing.
Without that module (a development checkout), every request is a watch officer named
``NSP_WEB_ANONYMOUS_USER`` who sees every section: the NCC's own view.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from dashboard.settings import web_settings
from nsp.access import Scope

NOBODY = Scope(user="anonymous", role="kiosk", sections=())
_override: ContextVar[Scope | None] = ContextVar("nsp_scope_override", default=None)


@contextmanager
def acting_as(scope: Scope) -> Iterator[Scope]:
    """Run callbacks as ``scope`` outside a web request (tests, scripts, the benchmark)."""
    token = _override.set(scope)
    try:
        yield scope
    finally:
        _override.reset(token)


def _auth():
    try:
        return importlib.import_module("dashboard.auth")
    except ModuleNotFoundError as exc:
        if exc.name == "dashboard.auth":
            return None
        raise


def current_scope() -> Scope:
    forced = _override.get()
    if forced is not None:
        return forced
    auth = _auth()
    getter = getattr(auth, "current_scope", None) if auth else None
    if getter is None:
        return Scope(user=web_settings().anonymous_user, role="watch_officer")
    scope = getter()
    return scope if scope is not None else NOBODY
