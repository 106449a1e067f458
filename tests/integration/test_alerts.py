"""Webhook alerts: the outbox in the ingest transaction, signed posts to a real HTTP server,
retries and giving up, the CLI, and a real worker that posts after it loaded a dropped file."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from ingest.delivery.alerts import deliver_due
from ingest.delivery.settings import AlertSettings
from ingest.loading.pipeline import LoadFailed, ingest_file
from nsp.cli import cli
from tests.support.delivery import run_worker_until_empty


class Receiver:
    """A webhook on 127.0.0.1 that records each POST and answers with the next status given."""

    def __init__(self, statuses=(200,)):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})  # case-insensitive
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                if 300 <= status < 400:  # a redirect to a path of this server that answers 200
                    self.send_header("Location", "/moved")
                self.end_headers()

            def do_GET(self):  # noqa: N802 - what urllib would send after a redirect
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": b""})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _add(name: str, url: str, *args: str) -> str:
    code, out = _run("alerts", "add", name, "--url", url, "--actor", "duty", *args)
    assert code == 0, out
    return re.search(r"signing secret \(shown only now\): (\S+)", out).group(1)


def _inside(conn, code: str) -> tuple[float, float]:
    row = conn.execute("SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointOnSurface(area) AS p"
                       " FROM border_section WHERE code = %s) s", (code,)).fetchone()
    return row["x"], row["y"]


def _feed(conn, path, events):
    """events: (id, section, category, impact, persons)"""
    lines = []
    for ref, code, category, impact, persons in events:
        x, y = _inside(conn, code)
        lines.append(json.dumps({"type": "Feature", "id": ref, "geometry": {"type": "Point", "coordinates": [x, y]},
                                 "properties": {"category": category, "impact": impact, "persons": persons,
                                                "occurred_at": "2026-12-01T21:40:00Z"}}))
    path.write_text("\n".join(lines) + "\n")
    return path


EVENTS = [
    ("E1", "LV-BY-01", "unauthorised_border_crossing", "high", 37),   # duty
    ("E2", "LV-BY-01", "unauthorised_border_crossing", "low", 3),     # nobody: low
    ("E3", "LV-RU-01", "cross_border_crime", "very_high", None),      # nobody: not LV-BY-01, not a crisis
    ("E4", "LV-RU-01", "crisis_situation", "medium", 2),              # crisis
]


def test_new_events_alert_once_signed_and_a_rolled_back_batch_alerts_nobody(db_url, conn, receiver, tmp_path):
    duty = _add("duty", receiver.url, "--sections", "LV-BY-01")
    crisis = _add("crisis", receiver.url + "/crisis", "--min-impact", "medium", "--categories", "crisis_situation")
    path = _feed(conn, tmp_path / "feed.geojsonl", EVENTS)
    assert ingest_file(path, source="board").accepted == 4
    queued = conn.execute("SELECT s.name, e.source_ref FROM alert_delivery d JOIN alert_subscription s"
                          " ON s.id = d.subscription_id JOIN event e ON e.id = d.event_id"
                          " WHERE d.status = 'queued' ORDER BY 1").fetchall()
    assert [(r["name"], r["source_ref"]) for r in queued] == [("crisis", "E4"), ("duty", "E1")]

    assert deliver_due() == {"sent": 2, "retry": 0, "failed": 0}
    by_path = {r["path"]: r for r in receiver.requests}
    assert set(by_path) == {"/hook", "/hook/crisis"}
    for path_, secret in (("/hook", duty), ("/hook/crisis", crisis)):
        req = by_path[path_]
        expected = "sha256=" + hmac.new(secret.encode(), req["body"], hashlib.sha256).hexdigest()
        assert req["headers"]["X-NSP-Signature"] == expected
        assert req["headers"]["Content-Type"].startswith("application/json")
    body = json.loads(by_path["/hook"]["body"])
    assert body["type"] == "nsp.alert" and body["subscription"] == "duty"
    assert body["text"] == "HIGH: Unauthorised border crossing · LV-BY-01 · 37 persons · 21:40 UTC"
    assert (body["event"]["section"], body["event"]["persons"], body["event"]["impact"]) == ("LV-BY-01", 37, "high")
    assert json.loads(by_path["/hook/crisis"]["body"])["text"].startswith("MEDIUM: Crisis situation · LV-RU-01")
    rows = conn.execute("SELECT status, attempts, http_status FROM alert_delivery").fetchall()
    assert {(r["status"], r["attempts"], r["http_status"]) for r in rows} == {("sent", 1, 200)}
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}  # nothing twice

    # the same file again, and in another file with a new event: only the new one alerts
    assert ingest_file(path, source="board").accepted == 0
    more = _feed(conn, tmp_path / "more.geojsonl", EVENTS[:1] + [("E5", "LV-BY-01", "other", "very_high", None)])
    assert ingest_file(more, source="board").accepted == 1
    assert deliver_due()["sent"] == 1 and len(receiver.requests) == 3
    assert json.loads(receiver.requests[-1]["body"])["text"] == "VERY HIGH: Other · LV-BY-01 · 21:40 UTC"

    # a batch that fails after its merge: no events, no alerts
    broken = _feed(conn, tmp_path / "broken.geojsonl", [("E6", "LV-BY-01", "crisis_situation", "very_high", 9)])
    conn.execute("""CREATE FUNCTION test_fail_done() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN IF NEW.status = 'done' THEN RAISE EXCEPTION 'disk full (test)'; END IF; RETURN NEW; END $$;
                    CREATE TRIGGER test_fail_done BEFORE UPDATE ON ingest_batch
                       FOR EACH ROW EXECUTE FUNCTION test_fail_done()""")
    with pytest.raises(LoadFailed):
        ingest_file(broken, source="board")
    assert conn.execute("SELECT count(*) AS n FROM event WHERE source_ref = 'E6'").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM alert_delivery").fetchone()["n"] == 3


def test_a_report_its_source_rejected_on_validation_alerts_nobody(db_url, conn, receiver, tmp_path):
    _add("duty", receiver.url)
    path = _feed(conn, tmp_path / "feed.geojsonl", [("R1", "LV-BY-01", "unauthorised_border_crossing", "very_high", 30),
                                                    ("R2", "LV-BY-01", "unauthorised_border_crossing", "high", 12)])
    text = path.read_text().replace('"impact": "very_high"', '"impact": "very_high", "validation": "rejected"')
    path.write_text(text)
    assert ingest_file(path, source="board").accepted == 2
    queued = conn.execute("SELECT e.source_ref FROM alert_delivery d JOIN event e ON e.id = d.event_id").fetchall()
    assert [r["source_ref"] for r in queued] == ["R2"]


def test_a_failing_webhook_is_retried_with_backoff_then_given_up_and_health_says_so(db_url, conn, tmp_path):
    from dashboard.health import check

    receiver = Receiver(statuses=(503, 500, 500))
    try:
        _add("pager", receiver.url)
        ingest_file(_feed(conn, tmp_path / "f.geojsonl", EVENTS[:1]), source="board")
        conn.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('x', 'done', now())")
        settings = AlertSettings(max_attempts=3, retry_seconds=0.2)
        assert deliver_due(settings) == {"sent": 0, "retry": 1, "failed": 0}
        row = conn.execute("SELECT status, attempts, http_status, last_error, next_attempt_at - last_attempt_at"
                           " AS wait FROM alert_delivery").fetchone()
        assert (row["status"], row["attempts"], row["http_status"]) == ("queued", 1, 503)
        assert row["last_error"].startswith("HTTP 503") and 0.15 < row["wait"].total_seconds() < 0.3
        assert deliver_due(settings) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
        time.sleep(0.25)
        assert deliver_due(settings)["retry"] == 1
        wait = conn.execute("SELECT next_attempt_at - last_attempt_at AS w FROM alert_delivery").fetchone()["w"]
        assert 0.35 < wait.total_seconds() < 0.5  # doubled
        assert check()[0]["alerts"] == "ok"  # still trying, not 10 minutes old
        time.sleep(0.45)
        assert deliver_due(settings) == {"sent": 0, "retry": 0, "failed": 1}
        row = conn.execute("SELECT status, attempts FROM alert_delivery").fetchone()
        assert (row["status"], row["attempts"]) == ("failed", 3) and len(receiver.requests) == 3
        # the same delivery id each time, so that a receiver can drop repeats
        assert len({r["headers"]["X-NSP-Delivery"] for r in receiver.requests}) == 1
        body, code = check()
        assert code == 200 and body["status"] == "degraded" and body["alerts"] == "failing"
        code, out = _run("alerts", "log", "--status", "failed")
        assert code == 0 and "pager" in out and "failed" in out and "HTTP 500" in out
    finally:
        receiver.close()


def test_an_unreachable_webhook_is_an_error_that_names_it(db_url, conn, tmp_path):
    _add("nowhere", "http://127.0.0.1:9/hook")  # nothing listens on port 9
    ingest_file(_feed(conn, tmp_path / "f.geojsonl", EVENTS[:1]), source="board")
    assert deliver_due(AlertSettings(timeout_seconds=2))["retry"] == 1
    error = conn.execute("SELECT last_error FROM alert_delivery").fetchone()["last_error"]
    assert error.startswith("no answer:") and "refused" in error.lower()
    code, out = _run("alerts", "test", "nowhere")
    assert code == 1 and "nowhere: not delivered to http://127.0.0.1:9/hook: no answer" in out


def test_a_redirect_or_an_answer_that_is_not_http_is_retried_not_taken_for_delivered(db_url, conn, tmp_path):
    import socketserver

    redirecting = Receiver(statuses=(302,))

    class Garbage(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.recv(65536)
            self.request.sendall(b"this is not HTTP\r\n\r\n")

    garbage = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=garbage.serve_forever, daemon=True).start()
    try:
        _add("moved", redirecting.url)
        _add("junk", f"http://127.0.0.1:{garbage.server_address[1]}/hook")
        ingest_file(_feed(conn, tmp_path / "f.geojsonl", EVENTS[:1]), source="board")
        assert deliver_due() == {"sent": 0, "retry": 2, "failed": 0}
        rows = {r["name"]: r for r in conn.execute(
            "SELECT s.name, d.status, d.attempts, d.http_status, d.last_error FROM alert_delivery d"
            " JOIN alert_subscription s ON s.id = d.subscription_id")}
        assert (rows["moved"]["status"], rows["moved"]["http_status"]) == ("queued", 302)
        assert rows["moved"]["last_error"].startswith("HTTP 302")
        assert [r["path"] for r in redirecting.requests] == ["/hook"]  # the redirect was not followed
        assert rows["junk"]["status"] == "queued" and rows["junk"]["attempts"] == 1
        assert rows["junk"]["last_error"]  # the reason is kept, and the next run is not blocked by it
    finally:
        redirecting.close()
        garbage.shutdown()
        garbage.server_close()


def test_alerts_cli_manages_subscriptions_and_is_audited(db_url, conn, receiver):
    _add("duty", receiver.url, "--sections", "LV-BY-01,LV-BY-02", "--min-impact", "very_high")
    code, out = _run("alerts", "add", "duty", "--url", receiver.url)
    assert code == 1 and "exists" in out
    for args, message in ((["x", "--url", "ftp://h/"], "http:// or https://"),
                          (["x", "--url", "http://host:abc/hook"], "Port could not be cast to integer"),
                          (["x", "--url", "http:///hook"], "with a host"),
                          (["x", "--url", receiver.url, "--sections", "LV-XX-99"], "unknown sections LV-XX-99"),
                          (["x", "--url", receiver.url, "--categories", "aliens"], "unknown categories aliens")):
        code, out = _run("alerts", "add", *args)
        assert code == 2 and message in out, out
    code, out = _run("alerts", "list")
    assert code == 0 and "duty (active): very_high+ · LV-BY-01, LV-BY-02 · all categories" in out
    assert "secret" not in _run("alerts", "list", "--json")[1]

    code, out = _run("alerts", "test", "duty")
    assert code == 0 and "duty: delivered to" in out and "(HTTP 200)" in out
    body = json.loads(receiver.requests[-1]["body"])
    assert body["type"] == "nsp.alert.test" and body["text"].startswith("TEST VERY HIGH:")
    assert conn.execute("SELECT count(*) AS n FROM alert_delivery").fetchone()["n"] == 0  # nothing stored

    assert _run("alerts", "disable", "duty", "--actor", "duty")[0] == 0
    assert "duty (disabled)" in _run("alerts", "list")[1]
    assert _run("alerts", "enable", "duty", "--actor", "duty")[0] == 0
    code, out = _run("alerts", "remove", "duty", "--actor", "duty")
    assert code == 0 and out.strip() == "duty: removed, with 0 delivery records"
    assert _run("alerts", "remove", "duty")[0] == 1
    actions = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE object = 'duty' ORDER BY id")]
    assert actions == ["alert_add", "alert_disable", "alert_enable", "alert_remove"]


def test_a_worker_posts_the_alert_of_a_dropped_file_after_loading_it(db_url, conn, receiver, tmp_path):
    from ingest.delivery.tasks import defer_file
    from nsp.queue import app

    _add("duty", receiver.url)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = _feed(conn, inbox / "report.geojsonl", EVENTS[:2])
    with app.open():
        defer_file(path, "board")
    result = run_worker_until_empty(db_url)
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 1, result.stderr
    assert json.loads(receiver.requests[0]["body"])["event"]["section"] == "LV-BY-01"
    # posted by the worker's deliver_alerts job (nothing else here posts), once
    assert conn.execute("SELECT status FROM alert_delivery").fetchone()["status"] == "sent"


def test_the_feeds_card_counts_webhook_alerts_for_those_who_see_every_section(db_url, conn, tmp_path):
    import dashboard.app  # noqa: F401 - the pages register with the app
    from dashboard.pages.main import side_panels
    from dashboard.scope import acting_as
    from geo import picture
    from nsp import access
    from nsp.access import Scope

    officer = Scope(user="anna", role="watch_officer")
    commander = Scope(user="janis", role="sector_commander", sections=("LV-BY-01",))
    conn.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('x', 'done', now())")
    assert picture.alert_health(officer) is None  # no subscription: no line
    failing = Receiver(statuses=(500,))
    try:
        _add("pager", failing.url)
        ingest_file(_feed(conn, tmp_path / "f.geojsonl", EVENTS[:2]), source="board")
        deliver_due(AlertSettings(max_attempts=1))
    finally:
        failing.close()
    health = picture.alert_health(officer)
    assert (health["subscriptions"], health["sent_24h"], health["waiting"], health["failed_24h"]) == (1, 0, 0, 1)
    with acting_as(officer):
        card = str(side_panels.feeds_view(0))
        assert "Webhook alerts, 24 h: 0 sent, 0 waiting, 1 given up" in card and "nsp-alert-trouble" in card
    assert picture.alert_health(commander) is None
    with acting_as(commander):
        assert "Webhook alerts" not in str(side_panels.feeds_view(0))
    # the app role gets counts only, and a commander's scope gets zeros even when it asks itself
    with access.connection(commander) as c:
        assert c.execute("SELECT * FROM nsp_alert_health()").fetchone() == {
            "subscriptions": 0, "sent_24h": 0, "waiting": 0, "waiting_long": 0, "failed_24h": 0}
        with pytest.raises(Exception, match="permission denied"):
            c.execute("SELECT url FROM alert_subscription")


def _marker(path, cot_type: str, when: str):
    """One Cursor on Target marker, uid M-1, near Silene (LV-BY-01)."""
    path.write_text(
        f'<event version="2.0" uid="M-1" type="{cot_type}" time="{when}" start="{when}" stale="2026-12-03T00:00:00Z"'
        ' how="h-g-i-g-o"><point lat="55.6955" lon="26.7730" hae="9999999.0" ce="9999999.0" le="9999999.0"/>'
        '<detail><remarks>vehicle at the border strip</remarks></detail></event>')
    return path


def test_an_event_raised_to_an_alerting_impact_by_a_newer_message_alerts_once(db_url, conn, receiver, tmp_path):
    _add("duty", receiver.url, "--min-impact", "medium")
    # an unknown vehicle (low): no alert
    ingest_file(_marker(tmp_path / "1.cot", "a-u-G-E-V", "2026-12-01T21:00:00Z"), source="tak")
    assert conn.execute("SELECT count(*) AS n FROM alert_delivery").fetchone()["n"] == 0
    # re-typed hostile (medium) by a newer message: raised, alerts
    ingest_file(_marker(tmp_path / "2.cot", "a-h-G-E-V", "2026-12-01T21:05:00Z"), source="tak")
    row = conn.execute("SELECT e.impact, d.raised_from FROM alert_delivery d JOIN event e ON e.id = d.event_id"
                       ).fetchone()
    assert (row["impact"], row["raised_from"]) == ("medium", "low")
    assert deliver_due()["sent"] == 1
    body = json.loads(receiver.requests[0]["body"])
    assert body["text"].startswith("MEDIUM (raised from low): Other · LV-BY-01") and body["event"]["raised_from"] == "low"
    code, out = _run("alerts", "log")
    assert code == 0 and "medium (from low)" in out and "sent" in out
    # a later message at the same impact, or the same file again: nothing more
    ingest_file(_marker(tmp_path / "3.cot", "a-h-G-E-V", "2026-12-01T21:10:00Z"), source="tak")
    ingest_file(tmp_path / "2.cot", source="tak")
    assert conn.execute("SELECT count(*) AS n FROM alert_delivery").fetchone()["n"] == 1
    # without a subscription nothing is kept about earlier impacts: the batch does no more work
    conn.execute("UPDATE alert_subscription SET active = false")
    ingest_file(_marker(tmp_path / "4.cot", "a-u-G-E-V", "2026-12-01T21:15:00Z"), source="tak")
    assert conn.execute("SELECT count(*) AS n FROM alert_delivery").fetchone()["n"] == 1


def test_a_late_feed_alerts_the_subscriptions_that_asked_once_per_silence(db_url, conn, receiver):
    from ingest.delivery.tasks import deliver_alerts

    _add("duty", receiver.url, "--feeds")
    _add("events-only", receiver.url + "/events")
    conn.execute("INSERT INTO ingest_batch (source, status, received_at, finished_at) VALUES"
                 " ('ais', 'done', now() - interval '40 minutes', now() - interval '40 minutes')")
    conn.execute("INSERT INTO feed_expectation (source, every, set_by) VALUES"
                 " ('ais', interval '10 minutes', 't'), ('radar', interval '1 hour', 't')")
    assert deliver_alerts(None) == {"sent": 2, "retry": 0, "failed": 0}  # the worker's periodic task
    bodies = sorted((json.loads(r["body"]) for r in receiver.requests), key=lambda b: b["feed"]["source"])
    assert [r["path"] for r in receiver.requests] == ["/hook", "/hook"]  # not to the events-only one
    ais, radar = bodies
    assert ais["type"] == "nsp.feed_late" and ais["feed"]["expected_every_seconds"] == 600
    assert ais["text"].startswith("FEED LATE: ais · last delivery ") and ais["text"].endswith("· expected every 10 min")
    assert radar["text"] == "FEED LATE: radar · no delivery on record · expected every 1 h"
    assert radar["feed"]["last_delivery"] is None
    # still silent: nothing more; delivers, then falls silent again: a new alert
    assert deliver_alerts(None)["sent"] == 0
    conn.execute("INSERT INTO ingest_batch (source, status, received_at, finished_at) VALUES"
                 " ('ais', 'done', now() - interval '20 minutes', now() - interval '20 minutes')")
    assert deliver_alerts(None)["sent"] == 1
    code, out = _run("alerts", "log")
    assert code == 0 and out.count("feed ais late") == 2 and "feed radar late" in out
    assert "late feeds" in _run("alerts", "list")[1]


def test_an_event_the_ncc_raises_to_an_alerting_impact_alerts_once(db_url, conn, receiver, tmp_path):
    from geo import picture
    from nsp import access
    from nsp.access import Scope

    officer = Scope(user="anna", role="watch_officer")
    commander = Scope(user="janis", role="sector_commander", sections=("LV-BY-01",))
    _add("duty", receiver.url, "--min-impact", "high")
    ingest_file(_marker(tmp_path / "1.cot", "a-u-G-E-V", "2026-12-01T21:00:00Z"), source="tak")
    event_id = str(conn.execute("SELECT id FROM event WHERE source_ref = 'M-1'").fetchone()["id"])
    assert picture.decide_event(officer, event_id, "impact", "closer look: armed", impact="medium")["alerts_queued"] == 0
    # a commander cannot queue one through the function either
    with access.connection(commander) as c:
        assert c.execute("SELECT nsp_queue_raised_alerts(%s, 'low') AS n", (event_id,)).fetchone()["n"] == 0
    assert picture.decide_event(officer, event_id, "impact", "armed group confirmed", impact="high")["alerts_queued"] == 1
    assert deliver_due()["sent"] == 1
    body = json.loads(receiver.requests[0]["body"])
    assert body["text"].startswith("HIGH (raised from medium)") and body["event"]["raised_from"] == "medium"
    # higher still: the event was announced to this subscription already
    assert picture.decide_event(officer, event_id, "impact", "shots fired", impact="very_high")["alerts_queued"] == 0
    assert conn.execute("SELECT count(*) AS n FROM alert_delivery").fetchone()["n"] == 1
