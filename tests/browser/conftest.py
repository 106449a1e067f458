"""Browser fixtures: the real app in a server thread, the session's headless Chromium (selenium).

The app runs in this process (werkzeug, threaded) against the test's fresh database, so
the tests can insert rows and watch the page change. The browser is the test process's
one Chromium (``browser`` in tests/conftest.py), made clean before each test. A missing
Chromium fails the tests.
"""

from __future__ import annotations

import pytest

from nsp import db
from tests.support.live import dashboard_app, serve


@pytest.fixture
def web_env(monkeypatch):
    """Settings for a test server: a short refresh, plain-http cookies."""
    from dashboard.settings import web_settings

    monkeypatch.setenv("NSP_WEB_REFRESH_SECONDS", "2")
    monkeypatch.setenv("NSP_WEB_STALE_MINUTES", "10")
    monkeypatch.setenv("NSP_WEB_REPLAY_TICK_SECONDS", "1")
    monkeypatch.setenv("NSP_AUTH_COOKIE_SECURE", "false")
    web_settings.cache_clear()
    try:
        from nsp.auth_settings import auth_settings

        auth_settings.cache_clear()
    except (ImportError, AttributeError):
        pass
    yield
    web_settings.cache_clear()


@pytest.fixture
def picture_db(empty_db_url):
    """A fresh database with the test sections and a small picture (tests/support/seed.py)."""
    from tests.support.seed import seed_picture

    with db.connect(empty_db_url, autocommit=True) as conn:
        seed_picture(conn, 60)
    return empty_db_url


# The port of this process's dashboard servers: each test has a server of its own, all on one
# port, so Chromium keeps Dash's scripts (some 9 MB a main view) and their compiled code from
# test to test, as a browser does from day to day. What the app lets a browser keep carries
# the version of what it serves (dashboard/versioned.py), so no test is drawn with another
# test's files; cookies and storage are cleared between tests (tests/support/chrome.py).
_port = [0]


@pytest.fixture
def live_server(picture_db, web_env, chromium):
    """The dashboard served on 127.0.0.1:<this process's port> from a thread; yields its base URL."""
    with serve(dashboard_app().server, _port[0]) as live:
        _port[0] = live.port  # the first server's, or a new one if that port was taken meanwhile
        chromium.origins.add(live.url)  # its storage is cleared before the next browser test
        yield live.url
        chromium.leave()  # the page closed first: no refresh of it reaches the server or database after the test


@pytest.fixture
def logged_in(browser, live_server, picture_db):
    """A browser logged in as a watch officer, on a page that draws nothing (``/healthz``): every
    test opens its own page next, and the main view drawn for nothing would cost a page load."""
    from tests.auth_helpers import login, make_user

    make_user(picture_db, "anna", "watch_officer", "correct horse battery staple")
    login(browser, live_server, "anna", "correct horse battery staple", then="/healthz")
    return browser


@pytest.fixture
def screen(logged_in):
    """screen(w, h): the page's viewport at a screen's size, emulated (as a device's screen is);
    the window's own size again after the test."""
    def emulate(width: int, height: int) -> None:
        logged_in.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    yield emulate
    logged_in.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves what its page showed: a screenshot (tests/browser/screenshots/
    failed/), the page's address, title and console, and the start of its text in the report."""
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser") or item.funcargs.get("logged_in") if hasattr(item, "funcargs") else None
    if report.when != "call" or not report.failed or driver is None:
        return
    from tests.support.chrome import SCREENSHOTS, alive

    if not alive(driver):
        report.sections.append(("browser", "the browser no longer answers"))
        return
    try:
        (SCREENSHOTS / "failed").mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "failed" / (item.name[:120].replace("/", "_") + ".png")
        driver.save_screenshot(str(shot))
        console = "\n".join(f"{e.get('level')} {e.get('message')}"[:500] for e in driver.get_log("browser")[-30:])
        text = driver.execute_script("return document.body ? document.body.innerText.slice(0, 1500) : ''")
        report.sections.append(("browser", f"url: {driver.current_url}\ntitle: {driver.title}\nscreenshot: {shot}\n"
                                           f"console (last 30):\n{console}\npage text:\n{text}\n"
                                           f"server: {_server_state(item.funcargs.get('live_server'))}"))
    except Exception as exc:  # noqa: BLE001 - what it could not keep is said, the test's own failure stands
        report.sections.append(("browser", f"could not keep the page: {exc!r}"))


def _server_state(url) -> str:
    """The test app's own view of its database: /healthz, and the process pool's target."""
    import urllib.request

    from nsp import db as nsp_db

    parts = []
    if url:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
                parts.append(f"healthz {r.status} {r.read()[:600]!r}")
        except Exception as exc:  # noqa: BLE001
            parts.append(f"healthz: {exc!r}")
    pool = getattr(nsp_db, "_pool", None)
    parts.append(f"pool: {pool.conninfo if pool else None} {pool.get_stats() if pool else ''}")
    parts.append(f"DATABASE_URL: {nsp_db.database_url()}; unreachable: {nsp_db.unreachable(nsp_db.database_url())}")
    return "\n".join(parts)
