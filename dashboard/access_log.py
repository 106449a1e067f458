"""The web server's access log: off unless ``NSP_WEB_ACCESS_LOG`` is on, and never a secret.

A kiosk link carries its token in the path (``/kiosk/<token>``), so a plain access log would
keep the wall's secret in every log file and console it reaches. :func:`redact` replaces the
token with ``[redacted]``; both servers use it — werkzeug's (one worker,
:class:`RedactingRequestHandler`) and gunicorn's (more workers, :class:`GunicornLogger`) — and
so does the app's own error log (dashboard/security.py).
"""

from __future__ import annotations

import re

from werkzeug.serving import WSGIRequestHandler

REDACTED = "[redacted]"
# /kiosk/<token>: the token is everything up to the next /, ?, #, space or quote
_KIOSK = re.compile(r"(/kiosk/)[^/?#\s\"']+")


def redact(text: str) -> str:
    """``text`` with every kiosk token in a ``/kiosk/<token>`` path replaced by ``[redacted]``."""
    return _KIOSK.sub(r"\1" + REDACTED, text)


def access_log_on() -> bool:
    from dashboard.settings import web_settings

    return web_settings().access_log


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler: no access line unless NSP_WEB_ACCESS_LOG is on; every line
    it writes (access and errors) with kiosk tokens redacted."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if access_log_on():
            super().log_request(code, size)

    def log(self, type: str, message: str, *args) -> None:
        super().log(type, "%s", redact(message % args if args else message))


try:  # gunicorn is only needed with more than one worker
    from gunicorn.glogging import Logger as _GunicornBase
except ImportError:  # pragma: no cover - gunicorn is a dependency
    _GunicornBase = object


class GunicornLogger(_GunicornBase):
    """gunicorn's logger with every string of the access line (request line, path, referer,
    headers) redacted; its error log likewise."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}

    def error(self, msg, *args, **kwargs):
        super().error(redact(str(msg % args if args else msg)), **kwargs)

    def warning(self, msg, *args, **kwargs):
        super().warning(redact(str(msg % args if args else msg)), **kwargs)

    def info(self, msg, *args, **kwargs):
        super().info(redact(str(msg % args if args else msg)), **kwargs)
