"""Helpers for tests that need a logged-in dashboard (any area's tests may use them).

    from tests.auth_helpers import make_user, login, logout, kiosk_url

    make_user(db_url, "anna", "watch_officer", "correct horse battery")
    s = requests.Session(); login(s, base_url, "anna", "correct horse battery")
    login(driver, base_url, "anna", "correct horse battery")     # a selenium driver
    driver.get(kiosk_url(db_url, base_url))                      # a read-only wall session
    logout(s, base_url)                       # GET /logout asks; its form POSTs the token

The app must run with ``NSP_AUTH_COOKIE_SECURE=false`` when served over plain http
(as in tests), otherwise the browser never sends the session cookie back.
A requests session gets an ``Origin`` header, which every POST (Dash callbacks
included) needs to pass the CSRF check.
"""

from __future__ import annotations

import re
import time

from nsp import db

DEFAULT_PASSWORD = "test-password-123"


def make_user(url: str, name: str, role: str, password: str = DEFAULT_PASSWORD,
              sections: list[str] | tuple[str, ...] | None = None) -> None:
    """Create (or replace) a dashboard user in the database at ``url``."""
    from nsp.users import add_user

    with db.connect(url) as conn, conn.transaction():
        conn.execute("DELETE FROM app_user WHERE name = %s", (name,))
        add_user(conn, name, role, password, list(sections or []), actor="test")


def kiosk_url(url: str, base_url: str, sections: list[str] | tuple[str, ...] | None = None,
              label: str = "test-wall") -> str:
    """A fresh kiosk-token URL (``/kiosk/<token>``, which redirects to ``/wall``)."""
    from nsp.users import create_kiosk_token

    with db.connect(url) as conn, conn.transaction():
        _, token = create_kiosk_token(conn, label, list(sections or []) or None, actor="test")
    return f"{base_url.rstrip('/')}/kiosk/{token}"


def login(client, base_url: str, name: str, password: str = DEFAULT_PASSWORD, timeout: float = 10.0,
          then: str | None = None):
    """Log ``client`` in: a ``requests.Session`` or a selenium WebDriver. Raises on failure.

    A WebDriver lands on the login's ``next`` page, ``then`` (say ``/healthz``, which draws
    nothing), else the main view."""
    base_url = base_url.rstrip("/")
    if hasattr(client, "find_element"):  # selenium
        from urllib.parse import quote

        from selenium.webdriver.common.by import By

        client.get(f"{base_url}/login" + (f"?next={quote(then, safe='/')}" if then else ""))
        client.find_element(By.ID, "login-username").send_keys(name)
        client.find_element(By.ID, "login-password").send_keys(password)
        client.find_element(By.ID, "login-submit").click()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "/login" not in client.current_url:
                return client
            if client.find_elements(By.CSS_SELECTOR, ".error"):
                break
            time.sleep(0.1)
        raise AssertionError(f"login of {name!r} failed in the browser (still at {client.current_url})")
    client.headers.setdefault("Origin", base_url)
    r = client.post(f"{base_url}/login", data={"username": name, "password": password},
                    allow_redirects=False, timeout=timeout)
    if r.status_code != 302 or "nsp_session" not in client.cookies:
        raise AssertionError(f"login of {name!r} failed: HTTP {r.status_code} {r.text[:200]!r}")
    return client


def logout(client, base_url: str, timeout: float = 10.0):
    """Log a ``requests.Session`` out as the browser does: the confirmation page's form."""
    base_url = base_url.rstrip("/")
    page = client.get(f"{base_url}/logout", allow_redirects=False, timeout=timeout)
    found = re.search(r'name="token" value="([0-9a-f]+)"', page.text)
    if page.status_code != 200 or not found:
        raise AssertionError(f"no logout form: HTTP {page.status_code} {page.text[:200]!r}")
    client.headers.setdefault("Origin", base_url)
    r = client.post(f"{base_url}/logout", data={"token": found.group(1)}, allow_redirects=False, timeout=timeout)
    if r.status_code != 302:
        raise AssertionError(f"logout failed: HTTP {r.status_code} {r.text[:200]!r}")
    return r
