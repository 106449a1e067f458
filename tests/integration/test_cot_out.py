"""``nsp cot-out`` end to end: the picture in PostGIS, read under a user's scope, sent with pytak
to a receiver that reads with pytak's own RXWorker (a TAK server's part), over TCP, TLS with
client certificates, and the SA multicast. The markers arrive, change, and are deleted.

FreeTAKServer (2.2.1, the one on PyPI) installs but does not run here: its TCP and SSL CoT
services die at start (``AttributeError: property 'span_exporter' of 'BatchSpanProcessor'
object has no setter``, digitalpy against opentelemetry-sdk 1.45), so the receiver is pytak's.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from datetime import timedelta

import pytest
import takproto
from click.testing import CliRunner

from geo.cot_out import Style
from geo.cot_stream import CotOutError, Destination, Picture, Share, make_share, run
from ingest.delivery.tls import TlsFiles, server_context
from ingest.formats.base import Closure, Event, ParseOptions
from ingest.formats.cot import CotFormat, tak_frames
from nsp.access import Scope
from nsp.cli import cli
from tests.auth_helpers import make_user
from tests.support.cot_schema import check_event
from tests.support.tak import WAIT, Receiver
from tests.support.tak import deleted as _deleted
from tests.support.tak import of as _of
from tests.support.tak import uids as _uids
from tests.tls_certs import PASSWORD, make_certs

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # pytak's note that aiohttp (Marti HTTP) is missing
    import pytak

FAST = {"poll": timedelta(seconds=0.2), "resend": timedelta(minutes=5)}


def _insert(conn, ref: str, section: str, **cols) -> str:
    """An open event at the section's inside point; its id."""
    values = {"category": "cross_border_crime", "subtype": "suspect_vehicle", "impact": "medium", "persons": 2,
              "description": f"report {ref}"} | cols
    names = ", ".join(values)
    marks = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"INSERT INTO event (source, source_ref, occurred_at, geom, section_code, distance_to_border_m, {names})"
        f" SELECT 'test', %(ref)s, now() - interval '10 minutes', ST_PointOnSurface(area), code, 100, {marks}"
        f"   FROM border_section WHERE code = %(section)s RETURNING id",
        {"ref": ref, "section": section, **values}).fetchone()
    return str(row["id"])


@pytest.fixture
def picture(conn, db_url):
    """A commander of LV-BY-01, and events in LV-BY-01 (two open, one closed) and LV-BY-02."""
    make_user(db_url, "cmd-by1", "sector_commander", sections=["LV-BY-01"])
    make_user(db_url, "duty", "watch_officer")
    ids = {"van": _insert(conn, "van", "LV-BY-01"),
           "uav": _insert(conn, "uav", "LV-BY-01", category="other", subtype="suspect_uav", impact="high"),
           "other_section": _insert(conn, "other", "LV-BY-02"),
           "closed": _insert(conn, "closed", "LV-BY-01")}
    conn.execute("UPDATE event SET status = 'closed', closed_at = now() - interval '1 minute' WHERE id = %s",
                 (ids["closed"],))
    return ids


def test_markers_arrive_change_and_are_deleted_over_tcp(conn, picture):
    uid = {k: f"nsp.event.{v}" for k, v in picture.items()}

    async def scenario():
        rx = Receiver()
        port = await rx.start()
        share = make_share("cmd-by1", **FAST)
        assert share.sections == ("LV-BY-01",) and share.layers == {"events", "sections"}
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"tcp://127.0.0.1:{port}"), stop=stop))
        # arrive: the commander's open events and section line; a delete for the one closed lately
        await rx.wait_for(lambda m: {uid["van"], uid["uav"], "nsp.section.LV-BY-01.0"} <= set(_uids(m)))
        assert uid["closed"] in _deleted(rx.messages)
        assert _of(rx.messages, uid["uav"])[0].get("type") == "a-u-A-M-F-Q"
        assert _of(rx.messages, uid["van"])[0].get("type") == "a-h-G-E-V"
        # change: a new impact and head count go out at the next poll
        conn.execute("UPDATE event SET impact = 'very_high', persons = 7 WHERE id = %s", (picture["van"],))
        await rx.wait_for(lambda m: any("Impact: very high" in e.find("detail/remarks").text
                                        for e in _of(m, uid["van"])))
        assert "Persons: 7" in _of(rx.messages, uid["van"])[-1].find("detail/remarks").text
        # a raised section level recolours the line
        conn.execute("INSERT INTO impact_level_change (section_code, to_level, decided_by, reason)"
                     " VALUES ('LV-BY-01', 'critical', 'duty', 'test')")
        await rx.wait_for(lambda m: any(e.find("detail/strokeColor").get("value") == "-2680548"
                                        for e in _of(m, "nsp.section.LV-BY-01.0")))
        # delete: closing the event removes the marker
        conn.execute("UPDATE event SET status = 'closed', closed_at = now() WHERE id = %s", (picture["van"],))
        await rx.wait_for(lambda m: uid["van"] in _deleted(m))
        stop.set()
        counters = await task
        await rx.close()
        return rx, counters

    rx, counters = asyncio.run(scenario())
    assert counters.connects == 1 and counters.deletes == 2
    everything = set(_uids(rx.messages)) | set(_deleted(rx.messages))
    assert uid["other_section"] not in everything  # LV-BY-02 is outside the commander's scope
    assert {u for u in everything if ".section." in u} == {"nsp.section.LV-BY-01.0"}
    for msg in rx.messages:
        assert check_event(msg) == [], msg
    # what the TAK server received reads back through nsp's own CoT parser
    fmt = CotFormat(ParseOptions(source="tak"))
    records = list(fmt.parse(io.BytesIO(b"".join(rx.messages))))
    events = {r.source_ref for r in records if isinstance(r, Event)}
    closures = [r.source_ref for r in records if isinstance(r, Closure)]
    assert events == {uid["van"], uid["uav"]} and sorted(closures) == sorted([uid["closed"], uid["van"]])
    assert fmt.stats.get("rejected", 0) == 0


def test_the_whole_picture_is_sent_again_for_late_joiners(conn, picture):
    async def scenario():
        rx = Receiver()
        port = await rx.start()
        share = make_share("cmd-by1", layers=["events"], poll=timedelta(seconds=0.2),
                           resend=timedelta(seconds=0.6))
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"tcp://127.0.0.1:{port}"), stop=stop))
        van = f"nsp.event.{picture['van']}"
        await rx.wait_for(lambda m: len(_of(m, van)) >= 3)
        stop.set()
        await task
        await rx.close()
        return _of(rx.messages, van), share

    sent, share = asyncio.run(scenario())
    stales = [e.get("stale") for e in sent]
    assert stales == sorted(stales) and len(set(stales)) == len(stales)  # each resend pushes stale on
    assert not any(".section." in e.get("uid") for e in sent)  # the layer was not chosen
    assert share.keep_alive == timedelta(seconds=1.4)


def test_a_dropped_stream_is_reconnected_and_everything_sent_again(conn, picture):
    """The server drops the stream just as an event closes: the delete cot-out writes into the
    dead stream is lost, and goes again with the whole picture over the new connection."""

    async def scenario():
        rx = Receiver()
        port = await rx.start()
        share = make_share("cmd-by1", layers=["events"], **FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"tcp://127.0.0.1:{port}"), stop=stop))
        van, uav = f"nsp.event.{picture['van']}", f"nsp.event.{picture['uav']}"
        await rx.wait_for(lambda m: len(_of(m, van)) == 1 and uav in _uids(m))
        conn.execute("UPDATE event SET status = 'closed', closed_at = now() WHERE id = %s", (picture["uav"],))
        rx.drop()  # the server closes the stream (a restart), before cot-out's next poll
        await rx.wait_for(lambda m: len(_of(m, van)) >= 2 and uav in _deleted(m))
        stop.set()
        counters = await task
        await rx.close()
        return counters, rx

    counters, rx = asyncio.run(scenario())
    assert counters.connects == 2 and len(rx.peers) == 2


def test_tls_with_client_certificates_the_test_makes(conn, picture, tmp_path):
    certs = make_certs(tmp_path / "certs")
    server = server_context(TlsFiles(cert=certs.server, ca=certs.ca))  # asks for a client certificate

    async def scenario():
        rx = Receiver(server)
        port = await rx.start()
        share = make_share("duty", sections=["LV-BY-02"], layers=["events"], **FAST)
        dest = Destination(f"tls://127.0.0.1:{port}", tls_cert=certs.client_p12, tls_ca=certs.truststore,
                           tls_password=PASSWORD)
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, dest, stop=stop))
        await rx.wait_for(lambda m: f"nsp.event.{picture['other_section']}" in _uids(m))
        stop.set()
        await task
        await rx.close()
        return rx

    rx = asyncio.run(scenario())
    subject = dict(x[0] for x in rx.peers[0]["subject"])
    assert subject["commonName"] == "nsp-listen"  # the client certificate from user.p12
    assert _uids(rx.messages) == [f"nsp.event.{picture['other_section']}"]  # only the section asked for


def test_a_tls_server_whose_certificate_is_from_another_ca_gets_nothing(conn, picture, tmp_path):
    ours, theirs = make_certs(tmp_path / "ours"), make_certs(tmp_path / "theirs", ca_name="another CA")
    server = server_context(TlsFiles(cert=theirs.server, ca=theirs.ca))

    async def scenario():
        rx = Receiver(server)
        port = await rx.start()
        dest = Destination(f"tls://127.0.0.1:{port}", tls_cert=ours.client_p12, tls_ca=ours.truststore,
                           tls_password=PASSWORD)
        stop = asyncio.Event()
        task = asyncio.create_task(run(make_share("duty", layers=["events"], **FAST), dest, stop=stop,
                                       max_backoff=0.5))
        await asyncio.sleep(3)
        stop.set()
        counters = await task
        await rx.close()
        return counters, rx

    counters, rx = asyncio.run(scenario())
    assert counters.connects == 0 and counters.sent == 0 and rx.messages == []


def test_a_tls_destination_needs_a_client_certificate():
    with pytest.raises(CotOutError, match="client certificate"):
        Destination("tls://127.0.0.1:8089")
    with pytest.raises(CotOutError, match="tcp://HOST:PORT"):
        Destination("http://127.0.0.1:8089")
    with pytest.raises(CotOutError, match="are for tls://"):
        Destination("tcp://127.0.0.1:8087", tls_cert="user.p12")


def test_the_sa_multicast(conn, picture):
    group = "239.2.3.1:19741"

    async def scenario():
        reader, _ = await pytak.protocol_factory({"COT_URL": f"udp+ro://{group}"})
        rx = pytak.RXWorker(asyncio.Queue(), {}, reader)
        share = make_share("cmd-by1", layers=["events"], **FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"udp://{group}"), stop=stop))
        got = []
        want = {f"nsp.event.{picture['van']}", f"nsp.event.{picture['uav']}"}
        while not want <= set(_uids(got)):
            got.append(bytes(await asyncio.wait_for(rx.readcot(), WAIT)))
        stop.set()
        await task
        reader.close()
        return got

    got = asyncio.run(scenario())
    for msg in got:
        assert check_event(msg) == []


def test_the_protobuf_stream_reads_back_through_takproto_and_nsp(conn, picture):
    """--protocol protobuf: TAK Protocol Version 1 in stream framing, read by takproto and by
    nsp's own reader of TAK streams."""

    async def scenario():
        received = bytearray()

        async def client(reader, writer):
            while chunk := await reader.read(65536):
                received.extend(chunk)
            writer.close()

        server = await asyncio.start_server(client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        share = make_share("cmd-by1", layers=["events"], **FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(run(share, Destination(f"tcp://127.0.0.1:{port}", tak_proto=1), stop=stop))
        loop = asyncio.get_running_loop()
        end = loop.time() + WAIT
        while received.count(b"nsp.event.") < 2 and loop.time() < end:
            await asyncio.sleep(0.05)
        stop.set()
        await task
        await asyncio.sleep(0.2)
        server.close()
        return bytes(received)

    stream = asyncio.run(scenario())
    assert stream[:1] == b"\xbf"
    frames = list(tak_frames(io.BytesIO(stream)))
    assert frames and all(error is None for _f, _o, error in frames)
    by_takproto = {takproto.parse_proto(b"\xbf" + _varint(len(f)) + f).cotEvent.uid for f, _o, _e in frames}
    want = {f"nsp.event.{picture['van']}", f"nsp.event.{picture['uav']}"}
    assert want <= by_takproto
    records = list(CotFormat(ParseOptions(source="tak")).parse(io.BytesIO(stream)))
    assert want <= {r.source_ref for r in records if isinstance(r, Event)}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_row_level_security_holds_even_without_a_section_filter(conn, picture):
    """The scope, not the share's filter, is what keeps LV-BY-02 out."""
    share = Share(scope=Scope(user="cmd-by1", role="sector_commander", sections=("LV-BY-01",)), sections=None,
                  layers=frozenset({"events", "sections"}), style=Style())
    from datetime import UTC, datetime
    read = Picture(share).read(datetime.now(UTC))
    assert {f"nsp.event.{picture['van']}", f"nsp.event.{picture['uav']}"} == {u for u in read if ".event." in u}
    assert {u for u in read if ".section." in u} == {"nsp.section.LV-BY-01.0"}


def test_a_share_never_holds_more_than_its_user_may_see(conn, picture):
    with pytest.raises(CotOutError, match="LV-BY-02 are outside the scope of user 'cmd-by1'"):
        make_share("cmd-by1", sections=["LV-BY-02"])
    with pytest.raises(CotOutError, match="no active nsp user 'nobody'"):
        make_share("nobody")
    with pytest.raises(CotOutError, match="unknown layer"):
        make_share("duty", layers=["events", "weather"])
    with pytest.raises(CotOutError, match="no border section LV-XX-99"):
        make_share("duty", sections=["LV-XX-99"])
    result = CliRunner().invoke(cli, ["cot-out", "--to", "tcp://127.0.0.1:19799", "--actor", "cmd-by1",
                                      "--sections", "LV-BY-02"])
    assert result.exit_code != 0 and "outside the scope of user 'cmd-by1'" in result.output


def test_the_start_is_audited(conn, picture):
    async def scenario():
        rx = Receiver()
        port = await rx.start()
        stop = asyncio.Event()
        task = asyncio.create_task(run(make_share("cmd-by1", layers=["sections"], **FAST),
                                       Destination(f"tcp://127.0.0.1:{port}"), stop=stop))
        await rx.wait_for(lambda m: "nsp.section.LV-BY-01.0" in _uids(m))
        stop.set()
        await task
        await rx.close()

    asyncio.run(scenario())
    row = conn.execute("SELECT actor, object, details FROM audit_log WHERE action = 'cot_out_start'").fetchone()
    assert row["actor"] == "cmd-by1" and row["object"].startswith("tcp://127.0.0.1:")
    assert row["details"] == {"sections": ["LV-BY-01"], "layers": ["sections"]}


def test_the_command_runs_until_sigterm(conn, picture, tmp_path):
    """`nsp cot-out` itself, as a TAK administrator starts it: options from the environment."""
    import os
    import signal
    import sys

    async def scenario():
        rx = Receiver()
        port = await rx.start()
        env = {**os.environ, "NSP_COT_OUT_URL": f"tcp://127.0.0.1:{port}", "NSP_ACTOR": "cmd-by1",
               "NSP_COT_OUT_LAYERS": "events", "NSP_COT_OUT_POLL": "1s", "NSP_COT_OUT_UID_PREFIX": "ncc-lv"}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "nsp.cli", "cot-out", env=env,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            await rx.wait_for(lambda m: f"ncc-lv.event.{picture['van']}" in _uids(m), timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(proc.communicate(), 30)
        await rx.close()
        return proc.returncode, err.decode(), rx

    code, err, rx = asyncio.run(scenario())
    assert code == 0, err
    assert "cot-out to tcp://127.0.0.1:" in err and "as cmd-by1: events of LV-BY-01" in err
    assert "sent " in err and " over 1 connection(s)" in err
    assert {f"ncc-lv.event.{picture['van']}", f"ncc-lv.event.{picture['uav']}"} <= set(_uids(rx.messages))


def test_a_users_narrowed_scope_narrows_the_running_share_and_a_disabled_user_ends_it(conn, picture):
    """The share follows its user: sections taken away go as deletes at the next poll; a
    disabled user's share deletes everything it sent and stops."""
    uid = {k: f"nsp.event.{v}" for k, v in picture.items()}

    async def scenario():
        rx = Receiver()
        port = await rx.start()
        task = asyncio.create_task(run(make_share("duty", layers=["events"], **FAST),
                                       Destination(f"tcp://127.0.0.1:{port}")))
        await rx.wait_for(lambda m: {uid["van"], uid["uav"], uid["other_section"]} <= set(_uids(m)))
        conn.execute("UPDATE app_user SET role = 'sector_commander', sections = '{LV-BY-01}' WHERE name = 'duty'")
        await rx.wait_for(lambda m: uid["other_section"] in _deleted(m))
        assert uid["van"] not in _deleted(rx.messages)
        conn.execute("UPDATE app_user SET disabled = true WHERE name = 'duty'")
        with pytest.raises(CotOutError, match="no active nsp user 'duty'"):
            await asyncio.wait_for(task, WAIT)
        await rx.wait_for(lambda m: {uid["van"], uid["uav"]} <= set(_deleted(m)))
        await rx.close()

    asyncio.run(scenario())
