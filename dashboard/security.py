"""Web hardening: security headers, a self-only CSP, CSRF by Origin check, no tracebacks.

``init_security(server)`` (called by ``dashboard.auth.init_app``) adds to the Flask server:

- **Content-Security-Policy**: everything from ``'self'`` only. Dash renders two inline
  scripts itself (its JSON config, which is not executed, and ``new DashRenderer()``) and
  one per inline clientside callback; rather than allowing inline scripts, each HTML
  response carries the SHA-256 of exactly the inline scripts it contains. Styles allow
  ``'unsafe-inline'`` because Leaflet and Plotly set element styles at run time; no
  style can load anything from outside ``'self'``.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (and
  ``frame-ancestors 'none'``), ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy``,
  ``Permissions-Policy``, and ``Strict-Transport-Security`` on HTTPS requests.
- **CSRF**: every state-changing request (anything but GET/HEAD/OPTIONS) must carry an
  ``Origin`` (or, failing that, a ``Referer``) whose host is the request's own host or one
  of ``NSP_AUTH_ALLOWED_ORIGINS``; the session cookie is also ``SameSite=Lax`` (or
  ``Strict``). This covers Dash's ``POST /_dash-update-component`` without changes to Dash.
  Paths in ``NSP_AUTH_TOKEN_AUTH_PREFIXES`` (the ingest API, bearer tokens, no cookies)
  are exempt.
- ``Cache-Control: no-store`` on every response but the static assets
  (:data:`STATIC_PREFIXES`): no page, callback answer or export stays in a browser's or a
  proxy's cache. The static assets are ``private`` (a browser keeps them, no shared proxy),
  and their answers do not vary by the session cookie (:class:`SessionInterface`): the cookie
  is signed anew at every answer (the idle time slides), so with ``Vary: Cookie`` a browser
  fetched some 3 MB of the bundles again after every sign-in. ``Server`` names no version
  (``nsp``); :func:`make_server` is the werkzeug server with that handler (gunicorn sends
  only ``gunicorn``).
- A Dash callback whose input has the wrong shape or type (``TypeError``, ``ValueError``,
  ``KeyError``, ``AttributeError``, ``IndexError`` while handling ``/_dash-update-component``,
  or a body that is not a JSON object) answers ``400``; the server log says why.
- Never debug mode; an unhandled error answers a generic 500, the traceback goes to the log.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.serving import make_server as _werkzeug_make_server

from dashboard.access_log import RedactingRequestHandler, redact
from nsp.auth_settings import auth_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SERVER_NAME = "nsp"
#: Versioned or public files a browser may cache: Dash's and the components' bundles, the
#: app's assets, the sign-in stylesheet and the offline basemap. Everything else: no-store.
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/auth/login.css", "/basemap/", "/_favicon.ico",
                   "/vocab.js")
CALLBACK_PATH = "/_dash-update-component"
#: What a callback raises when its input is not what its component would ever send.
INPUT_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)
_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
_TYPE_ATTR = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_EXECUTABLE_TYPES = {"", "text/javascript", "application/javascript", "module"}

BASE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions ('sha256-...') of the executable inline scripts in ``html``."""
    out = []
    for m in _INLINE_SCRIPT.finditer(html):
        attrs = m.group("attrs")
        if re.search(r"\bsrc\s*=", attrs, re.IGNORECASE):
            continue
        t = _TYPE_ATTR.search(attrs)
        if (t.group(1).lower() if t else "") not in _EXECUTABLE_TYPES:
            continue  # JSON data blocks are never executed
        digest = base64.b64encode(hashlib.sha256(m.group("body").encode()).digest()).decode()
        out.append(f"'sha256-{digest}'")
    return sorted(set(out))


def csp_header(script_hashes: list[str] | None = None) -> str:
    parts = []
    for directive, sources in BASE_CSP.items():
        if directive == "script-src" and script_hashes:
            sources = sources + script_hashes
        parts.append(f"{directive} {' '.join(sources)}")
    return "; ".join(parts)


def origin_allowed(origin: str, host: str, extra: list[str]) -> bool:
    """Is ``origin`` (scheme://host[:port]) this server's own host or an allowed one?"""
    netloc = urlsplit(origin).netloc.lower()
    if not netloc:
        return False
    if netloc == host.lower():
        return True
    return any(urlsplit(o).netloc.lower() == netloc for o in extra)


def _check_csrf():
    if request.method in SAFE_METHODS:
        return None
    s = auth_settings()
    if any(request.path.startswith(p) for p in s.token_auth_prefixes):
        return None
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        referer = request.headers.get("Referer", "")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    if not origin or not origin_allowed(origin, request.host, s.allowed_origins):
        abort(403, description="cross-site request refused (Origin check)")
    return None


def _headers(response: Response) -> Response:
    hashes = None
    if response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = inline_script_hashes(response.get_data(as_text=True))
    response.headers["Content-Security-Policy"] = csp_header(hashes)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    s = auth_settings()
    if request.is_secure and s.hsts_seconds:
        response.headers["Strict-Transport-Security"] = f"max-age={s.hsts_seconds}; includeSubDomains"
    if request.path.startswith(STATIC_PREFIXES) and response.status_code < 400:
        response.cache_control.private = True
    else:
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
        response.headers.pop("ETag", None)
        response.headers.pop("Last-Modified", None)
    return response


def check_callback_body():
    """A Dash callback request must be a JSON object (anything else is the client's error).
    Registered after the login gate (dashboard.auth.init_app): strangers get 401 first."""
    if request.path == CALLBACK_PATH and request.method == "POST":
        if not isinstance(request.get_json(silent=True), dict):
            raise BadRequest("a Dash callback takes a JSON object")
    return None


def _generic_error(exc: Exception):
    if isinstance(exc, HTTPException):
        return exc
    from flask import current_app

    if request.path == CALLBACK_PATH and isinstance(exc, INPUT_ERRORS):
        current_app.logger.warning("callback input refused on %s: %s: %s", redact(request.path),
                                   type(exc).__name__, exc, exc_info=exc)
        return Response("Bad callback input.\n", status=400, mimetype="text/plain")

    current_app.logger.exception("unhandled error on %s %s", request.method, redact(request.path))
    return Response("Internal error. It was logged; please tell the administrator the time.\n",
                    status=500, mimetype="text/plain")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but a static asset's answer does not vary by the cookie
    (its content is the same for every signed-in user; see the module's note)."""

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if request.path.startswith(STATIC_PREFIXES):
            response.vary.discard("Cookie")


def init_security(server: Flask) -> None:
    server.session_interface = SessionInterface()
    server.debug = False
    server.config.update(DEBUG=False, PROPAGATE_EXCEPTIONS=False, TRAP_HTTP_EXCEPTIONS=False)
    server.before_request(_check_csrf)
    server.after_request(_headers)
    server.register_error_handler(Exception, _generic_error)


class QuietRequestHandler(RedactingRequestHandler):
    """werkzeug's handler without its version (``Server: Werkzeug/x Python/y``), with no access
    log unless NSP_WEB_ACCESS_LOG is on and no kiosk token in any line (dashboard/access_log.py)."""

    def version_string(self) -> str:
        return SERVER_NAME


def make_server(host: str, port: int, app, **kwargs):
    """:func:`werkzeug.serving.make_server` with :class:`QuietRequestHandler`."""
    return _werkzeug_make_server(host, port, app, request_handler=QuietRequestHandler, **kwargs)
