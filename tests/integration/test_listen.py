"""``nsp listen`` end to end: the real command on real UDP and TCP sockets, its files taken
by the drop folder and loaded by a real worker into PostGIS."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

from tests.support.delivery import (
    ROOT,
    run_worker_until_empty,
    start_listener,
    stop_listener,
    wait_for,
    watch_once,
    worker_env,
)
from tests.support.feeds import SA_DETAIL, event, position, static5, tag


def test_ais_over_udp_and_tcp_reaches_the_picture_with_the_time_it_was_heard(db_url, conn, tmp_path):
    inbox = tmp_path / "inbox"
    proc, ports = start_listener(db_url, inbox / "ais-shore", "--format", "ais", "--udp", "127.0.0.1:0",
                          "--tcp", "127.0.0.1:0", "--flush-seconds", "0.5")
    heard = datetime.now(UTC).replace(microsecond=0)
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # a receiver's datagrams: one sentence, then two in one datagram
        # each report carries the UTC second it was made (heard at once): the stamp is refined to it
        udp.sendto((position(mmsi=275000001, second=heard.second) + "\r\n").encode(), ("127.0.0.1", ports["udp"]))
        udp.sendto((position(mmsi=275000002, second=heard.second) + "\r\n"
                    + position(mmsi=275000003, second=heard.second) + "\r\n").encode(),
                   ("127.0.0.1", ports["udp"]))
        with socket.create_connection(("127.0.0.1", ports["tcp"])) as tcp:
            first, second = static5(mmsi=275000001, seq_id=7)
            logged = tag("s:LV-VENTSPILS,c:1764680000") + position(mmsi=275000004)
            stream = f"{first}\r\n{second}\r\n{logged}\r\n".encode()
            cut = len(first) + 10  # the second fragment arrives in another read, after a flush
            tcp.sendall(stream[:cut])
            time.sleep(0.8)  # a flush (every 0.5 s) comes between; the group waits for it
            tcp.sendall(stream[cut:])
        wait_for(lambda: len(list((inbox / "ais-shore").glob("*.nmea"))) >= 2, 10, "the listener's files")
    finally:
        err = stop_listener(proc)
    assert "wrote 6 message(s)" in err

    assert watch_once(inbox) >= 2  # the sub-folder is the source
    done = run_worker_until_empty(db_url)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = conn.execute("SELECT object_id, observed_at, attrs->>'time_source' AS how FROM asset_position "
                        "WHERE source = 'ais-shore' ORDER BY object_id").fetchall()
    assert [r["object_id"] for r in rows] == [f"MMSI:27500000{i}" for i in (1, 2, 3, 4)]
    for r in rows[:3]:  # stamped on receipt, not when the worker read the file
        assert r["how"] == "tag_block" and abs((r["observed_at"] - heard).total_seconds()) < 5
    # its own tag block (12:53:20), refined by its UTC second (0)
    assert rows[3]["observed_at"] == datetime(2025, 12, 2, 12, 53, 0, tzinfo=UTC)
    vessel = conn.execute("SELECT name, callsign FROM tracked_object WHERE object_id = 'MMSI:275000001'").fetchone()
    assert vessel == {"name": "BALTIC STAR", "callsign": "YLBT"}  # the fragments were kept together
    assert conn.execute("SELECT count(*) AS n FROM quarantine").fetchone()["n"] == 0


def test_cot_over_tcp_loads_the_good_events_and_quarantines_the_broken_one(db_url, conn, tmp_path):
    inbox = tmp_path / "inbox"
    proc, ports = start_listener(db_url, inbox / "tak", "--format", "cot", "--tcp", "127.0.0.1:0",
                          "--flush-seconds", "30")
    try:
        with socket.create_connection(("127.0.0.1", ports["tcp"])) as tcp:
            stream = (event(uid="sus-1", type_="a-s-S") + event(uid="sus-2", type_="a-h-A-M-F-Q")).encode()
            for i in range(0, len(stream), 97):  # in pieces that cut tags
                tcp.sendall(stream[i:i + 97])
                time.sleep(0.01)
            tcp.sendall(b'<event version="2.0" uid="cut-off" type="a-h-G"><point lat="55.9"')
    finally:
        err = stop_listener(proc)  # the broken event is written on the way out, not lost
    assert "wrote 3 message(s) in 1 file(s)" in err
    assert watch_once(inbox) == 1
    assert run_worker_until_empty(db_url).returncode == 0
    events = conn.execute("SELECT source_ref, subtype FROM event WHERE source = 'tak' ORDER BY source_ref").fetchall()
    assert events == [{"source_ref": "sus-1", "subtype": "suspect_vessel"},
                      {"source_ref": "sus-2", "subtype": "suspect_uav"}]
    [bad] = conn.execute("SELECT raw, reason FROM quarantine WHERE source = 'tak'").fetchall()
    assert 'uid="cut-off"' in bad["raw"] and bad["reason"]


def test_cot_from_a_multicast_group_as_tak_devices_send_their_positions(db_url, conn, tmp_path):
    """ATAK's situational awareness goes to the multicast group 239.2.3.1 (port 6969; here a
    free port): the listener joins the group."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    inbox = tmp_path / "inbox"
    proc, ports = start_listener(db_url, inbox / "tak-sa", "--format", "cot", "--udp", f"239.2.3.1:{port}",
                          "--flush-seconds", "0.3")
    try:
        assert ports == {"udp": port}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as send:
            send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            send.sendto(event(uid="ANDROID-1", type_="a-f-G-U-C", lat="56.95", lon="24.1", detail=SA_DETAIL).encode(),
                        ("239.2.3.1", port))
        wait_for(lambda: list((inbox / "tak-sa").glob("*.cot")), 10, "a file from the group")
    finally:
        stop_listener(proc)
    assert watch_once(inbox) == 1 and run_worker_until_empty(db_url).returncode == 0
    row = conn.execute("SELECT object_id, kind FROM asset_position WHERE source = 'tak-sa'").fetchone()
    assert row == {"object_id": "ANDROID-1", "kind": "own"}


def test_tak_protocol_datagrams_as_atak_sends_them_by_default_reach_the_picture(db_url, conn, tmp_path, monkeypatch):
    """Since ATAK 4.x the SA multicast carries TAK Protocol Version 1 (protobuf, mesh header
    0xbf 0x01 0xbf), not XML: a real WinTAK beacon, an ATAK beacon and a broken datagram over
    UDP, beside an XML one."""
    import takproto

    from nsp.settings import geo_settings
    from tests.support.captures import real_cot as real

    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")  # the real captures lie outside Latvia
    geo_settings.cache_clear()
    inbox = tmp_path / "inbox"
    proc, ports = start_listener(db_url, inbox / "tak-mesh", "--format", "cot", "--udp", "127.0.0.1:0",
                          "--flush-seconds", "0.3")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as send:
            for datagram in (real("wintak_sa_mesh.takpb"),
                             bytes(takproto.xml2proto(real("atak_sa.cot.xml"), takproto.TAKProtoVer.MESH)),
                             b"\xbf\x01\xbf\x12\xff\xff broken",
                             event(uid="xml-1", type_="a-h-G", lat="56.95", lon="24.1").encode()):
                send.sendto(datagram, ("127.0.0.1", ports["udp"]))
        wait_for(lambda: list((inbox / "tak-mesh").glob("*.takpb")) and list((inbox / "tak-mesh").glob("*.cot")),
                 10, "a protobuf and an XML file")
    finally:
        stop_listener(proc)
    assert watch_once(inbox) == 2 and run_worker_until_empty(db_url).returncode == 0
    geo_settings.cache_clear()
    assets = {r["object_id"] for r in conn.execute("SELECT object_id FROM asset_position WHERE source = 'tak-mesh'")}
    assert assets == {"aa0b0312-b5cd-4c2c-bbbc-9c4c70216261", "ANDROID-deadbeef"}
    assert conn.execute("SELECT source_ref FROM event WHERE source = 'tak-mesh'").fetchone()["source_ref"] == "xml-1"
    [bad] = conn.execute("SELECT reason, raw FROM quarantine WHERE source = 'tak-mesh'").fetchall()
    assert "not a TAK protocol message" in bad["reason"] and bad["raw"].startswith("12 ff ff")


def test_connected_to_an_ais_server_it_reconnects_when_the_connection_is_lost(db_url, conn, tmp_path):
    """Many AIS feeds are TCP servers that clients connect to: the listener connects, and when
    the server drops it (a restart), connects again and goes on."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    served = []

    def serve():
        for mmsi in (275000011, 275000012):  # one connection each, then closed by the server
            c, _ = server.accept()
            with c:
                c.sendall((position(mmsi=mmsi) + "\r\n").encode())
            served.append(mmsi)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    inbox = tmp_path / "inbox"
    proc, _ports = start_listener(db_url, inbox / "ais-server", "--format", "ais", "--connect", f"127.0.0.1:{port}",
                           "--flush-seconds", "0.3")
    try:
        thread.join(20)
        assert served == [275000011, 275000012]  # the second connection came after the first was lost
        wait_for(lambda: sum(p.read_bytes().count(b"\n") for p in (inbox / "ais-server").glob("*.nmea")) == 2,
                 10, "both sentences written")
    finally:
        err = stop_listener(proc)
        server.close()
    assert "connection lost" in err and "wrote 2 message(s)" in err
    assert watch_once(inbox) >= 1 and run_worker_until_empty(db_url).returncode == 0
    rows = conn.execute("SELECT object_id FROM asset_position WHERE source = 'ais-server' ORDER BY 1").fetchall()
    assert [r["object_id"] for r in rows] == ["MMSI:275000011", "MMSI:275000012"]


def _tak_server(certs, events: list[str], seen: list, login: tuple[str, str] | None = None):
    """A TAK server's TLS streaming port (as 8089): a client must present a certificate from
    its CA; it sends ``events`` to each client, notes its certificate, and closes. With
    ``login`` (user, password) the input also asks for a user, as TAK Server's "Use
    Authentication" does: the client's first message must be ``<auth>`` with them (noted in
    ``seen`` too), else the connection is closed at once."""
    import ssl
    import threading

    from defusedxml.ElementTree import fromstring

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certs.server))
    context.load_verify_locations(cafile=str(certs.ca))
    context.verify_mode = ssl.CERT_REQUIRED
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                raw, _ = server.accept()
            except OSError:  # closed by the test
                return
            try:
                with context.wrap_socket(raw, server_side=True) as c:
                    seen.append(dict(x[0] for x in c.getpeercert()["subject"]))
                    if login:
                        first = b""
                        while b"</auth>" not in first and (chunk := c.recv(4096)):
                            first += chunk
                        cot = fromstring(first.split(b"?>", 1)[-1]).find("cot")
                        seen.append(dict(cot.attrib))
                        if (cot.get("username"), cot.get("password")) != login:
                            continue
                    c.sendall("".join(events).encode())
                    time.sleep(0.5)
            except (ssl.SSLError, OSError) as exc:
                seen.append(exc)

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_connected_to_a_tak_server_over_tls_with_the_p12_files_it_hands_out(db_url, conn, tmp_path):
    """A TAK server streams CoT on 8089 over TLS, to clients with a certificate from its CA;
    it hands them user.p12 and truststore-root.p12 (password atakatak)."""
    from tests.tls_certs import PASSWORD, make_certs

    certs = make_certs(tmp_path / "certs")
    seen = []
    server = _tak_server(certs, [event(uid="tak-sus-1", type_="a-s-S"),
                                 event(uid="ANDROID-7", type_="a-f-G-U-C", lat="56.95", lon="24.1", detail=SA_DETAIL)], seen,
                         login=("ncc-watch", 'p&ss"<1>'))
    port = server.getsockname()[1]
    inbox = tmp_path / "inbox"
    env = {**worker_env(db_url), "NSP_LISTEN_TLS_PASSWORD": PASSWORD, "NSP_LISTEN_TAK_PASSWORD": 'p&ss"<1>'}
    proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "listen", "--out", str(inbox / "takserver"),
                             "--format", "cot", "--connect", f"127.0.0.1:{port}", "--tls",
                             "--tls-cert", str(certs.client_p12), "--tls-ca", str(certs.truststore),
                             "--tak-user", "ncc-watch", "--tak-uid", "nsp-ncc-riga", "--flush-seconds", "0.3"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: list((inbox / "takserver").glob("*.cot")), 15, "the events from the TAK server")
    finally:
        err = stop_listener(proc)
        server.close()
    assert f"from tls 127.0.0.1:{port}" in err and "wrote 2 message(s)" in err
    assert seen[0] == {"organizationName": "nsp tests", "commonName": "nsp-listen"}  # the user.p12 certificate
    assert seen[1] == {"username": "ncc-watch", "password": 'p&ss"<1>', "uid": "nsp-ncc-riga"}  # the login
    assert 'p&ss"<1>' not in err  # the password is never logged
    assert watch_once(inbox) >= 1 and run_worker_until_empty(db_url).returncode == 0
    assert conn.execute("SELECT source_ref, subtype FROM event WHERE source = 'takserver'").fetchall() == [
        {"source_ref": "tak-sus-1", "subtype": "suspect_vessel"}]
    assert conn.execute("SELECT object_id FROM asset_position WHERE source = 'takserver'").fetchone() == {
        "object_id": "ANDROID-7"}


def test_a_server_whose_certificate_is_not_from_the_ca_is_refused_and_tried_again(db_url, tmp_path):
    from tests.tls_certs import make_certs

    ours, theirs = make_certs(tmp_path / "ours"), make_certs(tmp_path / "theirs", ca_name="another CA")
    seen = []
    server = _tak_server(theirs, [event(uid="never", type_="a-s-S")], seen)
    port = server.getsockname()[1]
    inbox = tmp_path / "inbox"
    proc, _ports = start_listener(db_url, inbox / "tak", "--format", "cot", "--connect", f"127.0.0.1:{port}", "--tls",
                           "--tls-cert", str(ours.client), "--tls-ca", str(ours.ca), "--flush-seconds", "0.3")
    try:
        wait_for(lambda: len(seen) >= 2, 15, "a second attempt after the refused one")
    finally:
        err = stop_listener(proc)
        server.close()
    assert "cannot connect" in err and "CERTIFICATE_VERIFY_FAILED" in err
    assert "wrote 0 message(s)" in err and not list((inbox / "tak").glob("*.cot"))


def test_a_tak_server_that_refuses_the_login_sends_nothing_and_is_tried_again(db_url, tmp_path):
    from tests.tls_certs import make_certs

    certs, seen = make_certs(tmp_path / "certs"), []
    server = _tak_server(certs, [event(uid="never", type_="a-s-S")], seen, login=("ncc-watch", "right"))
    port = server.getsockname()[1]
    inbox = tmp_path / "inbox"
    proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "listen", "--out", str(inbox / "tak"),
                             "--format", "cot", "--connect", f"127.0.0.1:{port}", "--tls",
                             "--tls-cert", str(certs.client), "--tls-ca", str(certs.ca),
                             "--tak-user", "ncc-watch", "--flush-seconds", "0.3"],
                            cwd=ROOT, env={**worker_env(db_url), "NSP_LISTEN_TAK_PASSWORD": "wrong"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(seen) >= 4, 15, "a second login after the refused one")  # certificate, login, again
    finally:
        err = stop_listener(proc)
        server.close()
    assert seen[1]["password"] == "wrong" and seen[1]["uid"] == f"nsp-{socket.gethostname()}"
    assert "connection lost" in err and "wrote 0 message(s)" in err and not list((inbox / "tak").glob("*.cot"))


def test_a_tls_listener_takes_only_senders_with_a_certificate_from_its_ca(db_url, tmp_path):
    import ssl

    from tests.tls_certs import make_certs

    certs, stranger = make_certs(tmp_path / "certs"), make_certs(tmp_path / "stranger", ca_name="another CA")
    inbox = tmp_path / "inbox"
    proc, ports = start_listener(db_url, inbox / "tak", "--format", "cot", "--tcp", "127.0.0.1:0", "--tls",
                          "--tls-cert", str(certs.server), "--tls-ca", str(certs.ca), "--flush-seconds", "0.3")

    def send(cert, uid) -> str:
        """What became of the sender: "sent", or the error it got."""
        context = ssl.create_default_context(cafile=str(certs.ca))
        if cert:
            context.load_cert_chain(str(cert))
        try:
            with socket.create_connection(("127.0.0.1", ports["tls"]), timeout=5) as raw, \
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(event(uid=uid, type_="a-s-S").encode())
                # TLS 1.3 tells a refused client after the handshake, at its first read: an alert,
                # or the connection closed (a client the listener took is left open: no read)
                if cert is not certs.client and tls.recv(1) == b"":
                    return "closed"
        except (ssl.SSLError, ConnectionError) as exc:
            return type(exc).__name__
        return "sent"

    try:
        assert send(certs.client, "with-cert") == "sent"
        assert send(None, "no-cert") != "sent"
        assert send(stranger.client, "other-ca") != "sent"
        with socket.create_connection(("127.0.0.1", ports["tls"])) as plain:  # no TLS at all
            plain.sendall(event(uid="plain", type_="a-s-S").encode())
        wait_for(lambda: list((inbox / "tak").glob("*.cot")), 10, "the file of the sender with a certificate")
        time.sleep(0.6)
    finally:
        err = stop_listener(proc)
    assert "wrote 1 message(s)" in err
    written = b"".join(p.read_bytes() for p in (inbox / "tak").glob("*.cot"))
    assert b'uid="with-cert"' in written and b"no-cert" not in written and b"other-ca" not in written
    # each refused sender is logged with its address and a reason an operator can act on
    refused = [line for line in err.splitlines() if "action=listen_tls_refused" in line]
    assert len(refused) == 3, err
    assert all(re.search(r"peer=127\.0\.0\.1:\d+", line) for line in refused), refused
    reasons = "\n".join(refused)
    assert "presented no certificate" in reasons, refused
    assert "not signed by --tls-ca" in reasons, refused
    assert "does not speak TLS" in reasons, refused
