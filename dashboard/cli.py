"""``nsp serve``: run the dashboard (never in debug mode)."""

from __future__ import annotations

import click

from dashboard.settings import web_settings


def _gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            # the app is made once, before the workers are forked from it: each worker starts
            # without importing it again (it opens no connection and no thread at import)
            self.cfg.set("preload_app", True)
            # access lines only when asked for, and never with a kiosk token (dashboard/access_log.py)
            self.cfg.set("accesslog", "-" if web_settings().access_log else None)
            self.cfg.set("logger_class", "dashboard.access_log.GunicornLogger")

        def load(self):
            from dashboard.app import server

            return server

    _App().run()


@click.command("serve")
@click.option("--host", envvar="NSP_WEB_HOST", default=lambda: web_settings().host, show_default="127.0.0.1",
              help="Address to bind (env NSP_WEB_HOST).")
@click.option("--port", envvar="NSP_WEB_PORT", type=int, default=lambda: web_settings().port,
              show_default="8050", help="Port (env NSP_WEB_PORT).")
@click.option("--workers", envvar="NSP_WEB_WORKERS", type=click.IntRange(1, 64),
              default=lambda: web_settings().workers, show_default="1",
              help="Worker processes (env NSP_WEB_WORKERS); more than one runs gunicorn.")
def serve(host: str, port: int, workers: int):
    """Serve the situational picture (/) and the wall display (/wall).

    With one worker the threaded built-in server runs; with more, gunicorn (gthread
    workers). Stops cleanly on Ctrl-C / SIGTERM. Debug mode is never enabled.
    """
    click.echo(f"nsp dashboard: http://{host}:{port}/   wall: http://{host}:{port}/wall", err=True)
    if workers > 1:
        _gunicorn(host, port, workers)
    else:
        _threaded(host, port)


def _threaded(host: str, port: int) -> None:
    """One process, a thread per request (werkzeug); SIGTERM and SIGINT stop it cleanly."""
    import signal
    import threading

    from dashboard.app import server
    from dashboard.security import make_server  # werkzeug's, with no version in Server

    httpd = make_server(host, port, server, threaded=True)

    def stop(signum, _frame):
        click.echo(f"nsp serve: signal {signum}, stopping", err=True)
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    httpd.serve_forever()
