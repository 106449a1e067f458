"""A WSGI app served over real HTTP from a thread on 127.0.0.1 (a free port, or one asked for).

    with serve(app) as live:          # a block or a fixture's yield
        requests.get(live.url + "/")
    live = start(app); ...; live.shutdown()
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

POLL_SECONDS = 0.05


class LiveServer:
    """``app`` served by werkzeug (threaded) from a daemon thread until ``shutdown()``, with
    the request handler `nsp serve` uses (dashboard.security: no version in ``Server``)."""

    def __init__(self, app, port: int = 0):
        from dashboard.security import make_server

        self._httpd = make_server("127.0.0.1", port, app, threaded=True)
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

    def shutdown(self) -> None:
        self._httpd.shutdown()
        self._thread.join(5)
        self._httpd.server_close()


def start(app, port: int = 0) -> LiveServer:
    return LiveServer(app, port)


@contextmanager
def serve(app, port: int = 0) -> Iterator[LiveServer]:
    """Serve ``app`` until the block ends; yields the server (its ``port`` and base ``url``).
    ``port`` 0 is a free one; another port taken at the moment is a free one too."""
    try:
        live = LiveServer(app, port)
    except OSError:
        if not port:
            raise
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
