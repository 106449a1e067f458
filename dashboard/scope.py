"""Who is asking: the scope of the current request.

The scope is the logged-in user's (``dashboard.auth.current_scope()``); a request without a
user gets a scope that sees nothing. Outside a web request (tests, scripts, the benchmark)
:func:`acting_as` sets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from dashboard import auth
from dashboard.auth import NOBODY
from nsp.access import Scope

__all__ = ["NOBODY", "acting_as", "current_scope"]
_override: ContextVar[Scope | None] = ContextVar("nsp_scope_override", default=None)


@contextmanager
def acting_as(scope: Scope) -> Iterator[Scope]:
    """Run callbacks as ``scope`` outside a web request (tests, scripts, the benchmark)."""
    token = _override.set(scope)
    try:
        yield scope
    finally:
        _override.reset(token)


def current_scope() -> Scope:
    forced = _override.get()
    if forced is not None:
        return forced
    return auth.current_scope()
