"""`nsp serve`'s console: no access lines unless NSP_WEB_ACCESS_LOG is on, and never a kiosk
token or a password in any line it writes, with either server (werkzeug, gunicorn)."""

from __future__ import annotations

import os
import subprocess

import pytest
import requests

from dashboard.access_log import redact
from tests.auth_helpers import login, make_user
from tests.support import nsp_serve


def test_redact_hides_the_token_in_every_shape_of_line():
    token = "AbC-123_xyz"
    for line in (f'127.0.0.1 - - [x] "GET /kiosk/{token} HTTP/1.1" 302 -',
                 f'"GET /kiosk/{token}?lang=lv HTTP/1.1"', f"/kiosk/{token}/more", f"http://h:1/kiosk/{token}#x"):
        out = redact(line)
        assert token not in out and "/kiosk/[redacted]" in out, out
    assert redact("GET /wall HTTP/1.1") == "GET /wall HTTP/1.1"


def _serve(workers: int, access_log: bool, out, err) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "NSP_AUTH_SECRET_KEY": "s" * 64, "NSP_AUTH_COOKIE_SECURE": "false",
           "NSP_WEB_ACCESS_LOG": "true" if access_log else "false", "NSP_LOG_LEVEL": "INFO"}
    return nsp_serve.start(env, "--workers", str(workers), stdout=out, stderr=err)


@pytest.mark.parametrize(("workers", "access_log"), [(1, False), (1, True), (2, True)],
                         ids=["werkzeug-default", "werkzeug-access-log", "gunicorn-access-log"])
def test_no_kiosk_token_or_password_in_the_server_s_logs(db_url, tmp_path, workers, access_log):
    from nsp import db
    from nsp.users import create_kiosk_token

    password = "Larch-Otter-Quartz-7319"
    make_user(db_url, "watch", "watch_officer", password)
    with db.connect(db_url) as conn, conn.transaction():
        _, token = create_kiosk_token(conn, "log test", None, actor="test")
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc, site = _serve(workers, access_log, out, err)
        try:
            nsp_serve.wait_until_answers(proc, site + "/healthz", accept=lambda r: True)
            kiosk = requests.Session()
            r = kiosk.get(f"{site}/kiosk/{token}?lang=lv")  # the wall's login, then the wall
            assert r.status_code == 200 and r.url.endswith("/wall?lang=lv"), r.url
            kiosk.get(f"{site}/wall", headers={"Referer": f"{site}/kiosk/{token}"})
            requests.get(f"{site}/kiosk/{token}/nothing", allow_redirects=False)  # no such page
            assert requests.get(f"{site}/kiosk/{token[:-2]}xx").status_code == 403  # a wrong token
            user = requests.Session()
            login(user, site, "watch", password)
            assert user.get(site + "/").status_code == 200
        finally:
            nsp_serve.stop(proc)
    text = out_path.read_text(errors="replace") + err_path.read_text(errors="replace")
    assert token not in text and token[:-2] not in text and password not in text
    access_lines = [line for line in text.splitlines() if "GET /" in line]
    if access_log:
        kiosk_lines = [line for line in access_lines if "/kiosk/" in line]
        assert len(kiosk_lines) >= 3 and all("/kiosk/[redacted]" in line for line in kiosk_lines), text
        assert any("GET /wall" in line for line in access_lines)
    else:
        assert access_lines == [], access_lines[:5]
