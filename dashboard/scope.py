"""Who is asking: the scope of the current request.

With the login module (``dashboard.auth``, issue 6) installed, the scope is the logged-in
user's (``auth.current_scope()``); a request without a user gets a scope that sees nothing.
Without that module (a development checkout), every request is a watch officer named
``NSP_WEB_ANONYMOUS_USER`` who sees every section: the NCC's own view.
"""

from __future__ import annotations

import importlib

from dashboard.settings import web_settings
from nsp.access import Scope

NOBODY = Scope(user="anonymous", role="kiosk", sections=())


def _auth():
    try:
        return importlib.import_module("dashboard.auth")
    except ModuleNotFoundError as exc:
        if exc.name == "dashboard.auth":
            return None
        raise


def current_scope() -> Scope:
    auth = _auth()
    getter = getattr(auth, "current_scope", None) if auth else None
    if getter is None:
        return Scope(user=web_settings().anonymous_user, role="watch_officer")
    scope = getter()
    return scope if scope is not None else NOBODY
