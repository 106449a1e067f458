"""Browser fixtures: the real app in a server thread, a real headless Chromium (selenium).

The app runs in this process (werkzeug, threaded) against the test's fresh database, so
the tests can insert rows and watch the page change. A missing Chromium fails the tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from nsp import db

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("NSP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NSP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        from dashboard.auth_settings import auth_settings

        auth_settings.cache_clear()
    except (ImportError, AttributeError):
        pass
    yield
    web_settings.cache_clear()


@pytest.fixture
def picture_db(empty_db_url):
    """A fresh database with the test sections and a small picture (tests/browser/seed.py)."""
    from tests.browser.seed import seed_picture

    with db.connect(empty_db_url, autocommit=True) as conn:
        seed_picture(conn, 60)
    return empty_db_url


@pytest.fixture
def live_server(picture_db, web_env):
    """The dashboard served on 127.0.0.1:<free port> from a thread; yields its base URL."""
    from werkzeug.serving import make_server

    from dashboard.app import server

    # The app is built once per process (at import), maybe before web_env: plain http here.
    server.config["SESSION_COOKIE_SECURE"] = False
    port = _free_port()
    httpd = make_server("127.0.0.1", port, server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    thread.join(5)


def _chrome(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"Chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER}) are needed for the browser tests",
                    pytrace=False)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


@pytest.fixture
def browser():
    driver = _chrome(1920, 1080)
    yield driver
    driver.quit()


@pytest.fixture
def logged_in(browser, live_server, picture_db):
    """A browser logged in as a watch officer (when the login module is installed)."""
    try:
        from tests.auth_helpers import login, make_user
    except ImportError:
        return browser
    make_user(picture_db, "anna", "watch_officer", "correct horse battery staple")
    login(browser, live_server, "anna", "correct horse battery staple")
    return browser


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
