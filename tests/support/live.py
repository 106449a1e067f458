"""A WSGI app served over real HTTP from a thread on 127.0.0.1 (a free port each time).

    with serve(app) as live:          # a block or a fixture's yield
        requests.get(live.url + "/")
    live = start(app); ...; live.shutdown()
    live.idle()                       # no request being answered (a server kept between tests)
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

POLL_SECONDS = 0.05


class _InFlight:
    """The WSGI app, counting the requests it is answering (until their body is closed)."""

    def __init__(self, app):
        self.app = app
        self.answering: dict[int, str] = {}  # id -> method and path, of the requests being answered
        self.changed = threading.Condition()
        self._ids = itertools.count()

    @property
    def count(self) -> int:
        return len(self.answering)

    def _set(self, key: int, what: str | None) -> None:
        with self.changed:
            if what is None:
                self.answering.pop(key, None)
            else:
                self.answering[key] = what
            self.changed.notify_all()

    def __call__(self, environ, start_response):
        key = next(self._ids)
        self._set(key, f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}")
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._set(key, None)
            raise
        return _Closing(body, lambda: self._set(key, None))


class _Closing:
    """A response body that calls ``done`` once: when its last chunk has been written (the server
    asks for the next one), or when it is closed. Not at the close alone: werkzeug closes a body
    after reading what is left of the request, which waits for the client on a kept connection."""

    def __init__(self, body, done):
        self._body, self._done = body, done

    def __iter__(self):
        yield from self._body
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done:
            done()

    def close(self) -> None:
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._finish()


class LiveServer:
    """``app`` served by werkzeug (threaded) from a daemon thread until ``shutdown()``, with
    the request handler `nsp serve` uses (dashboard.security: no version in ``Server``)."""

    def __init__(self, app):
        from dashboard.security import make_server

        self._app = _InFlight(app)
        self._httpd = make_server("127.0.0.1", 0, self._app, threaded=True)
        # shutdown() waits for the requests being answered: none outlives the server (and reaches
        # the next test's database through the process's pool)
        self._httpd.daemon_threads = False
        self._httpd.block_on_close = True
        self.port: int = self._httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        # shutdown() waits for the loop's next look at its flag: every 0.05 s, not werkzeug's 0.5 s
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                                        daemon=True)
        self._thread.start()

    def idle(self, quiet: float = 0.2, timeout: float = 30) -> None:
        """Return once no request has been answered for ``quiet`` seconds (a request the
        server was reading as the count was looked at comes within that time)."""
        deadline = time.monotonic() + timeout
        with self._app.changed:
            while True:
                if not self._app.changed.wait_for(lambda: self._app.count == 0, deadline - time.monotonic()):
                    raise TimeoutError(f"still answered after {timeout} s: {sorted(self._app.answering.values())}")
                if not self._app.changed.wait(quiet):  # nothing started or ended meanwhile
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"requests kept coming for {timeout} s")

    def shutdown(self) -> None:
        self._httpd.shutdown()
        self._thread.join(5)
        self._httpd.server_close()


def start(app) -> LiveServer:
    return LiveServer(app)


@contextmanager
def serve(app) -> Iterator[LiveServer]:
    """Serve ``app`` until the block ends; yields the server (its ``port`` and base ``url``)."""
    live = LiveServer(app)
    try:
        yield live
    finally:
        live.shutdown()


def dashboard_app():
    """The process's one dashboard app, set for plain http on loopback.

    Dash hands the pages' callbacks to the first app that serves, so a second
    ``create_app()`` in a test process would leave the other tests' app without them."""
    from dashboard.app import app

    app.server.config["SESSION_COOKIE_SECURE"] = False
    return app
