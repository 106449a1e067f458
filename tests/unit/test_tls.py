"""ingest.delivery.tls: the certificate files of ``nsp listen --tls`` — PEM and a TAK server's PKCS#12 —
and the clear errors for files that cannot be used."""

from __future__ import annotations

import ssl

import pytest
from click.testing import CliRunner

from ingest.delivery.tls import TlsError, TlsFiles, client_context, handshake_reason, server_context
from tests.tls_certs import PASSWORD, make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


def test_pem_and_pkcs12_give_the_same_trust_and_identity(certs):
    for files in (TlsFiles(cert=certs.client, ca=certs.ca),
                  TlsFiles(cert=certs.client_p12, ca=certs.truststore, password=PASSWORD)):
        context = client_context(files)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert [c["subject"][-1][0][1] for c in context.get_ca_certs()] == ["nsp test CA"]
    server = server_context(TlsFiles(cert=certs.server, ca=certs.ca))
    assert server.verify_mode == ssl.CERT_REQUIRED  # a sender must present a certificate
    assert server_context(TlsFiles(cert=certs.server)).verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize("files, says", [
    (lambda c: TlsFiles(cert=c.client_p12, password="wrong"), "user.p12: not a PKCS#12 file, or the password is wrong"),
    (lambda c: TlsFiles(cert=c.client_p12), "usually need NSP_LISTEN_TLS_PASSWORD"),
    (lambda c: TlsFiles(cert=c.truststore, password=PASSWORD), "holds no private key and certificate (a truststore?"),
    (lambda c: TlsFiles(cert=c.ca), "ca.pem: not a usable certificate and key"),
    (lambda c: TlsFiles(ca=c.client_p12.with_name("missing.pem")), "missing.pem: not a usable CA file"),
    (lambda c: TlsFiles(ca=c.client_p12.with_name("gone.p12"), password=PASSWORD), "gone.p12: cannot read"),
])
def test_a_file_that_cannot_be_used_is_named_with_the_reason(certs, files, says):
    with pytest.raises(TlsError) as err:
        client_context(files(certs))
    assert says in str(err.value)


def test_a_tls_server_needs_its_certificate():
    with pytest.raises(TlsError, match="needs this listener's certificate"):
        server_context(TlsFiles())


@pytest.mark.parametrize("args, says", [
    (["--udp", "0", "--tls-ca", "x.pem"], "--tls-cert, --tls-key and --tls-ca need --tls"),
    (["--udp", "0", "--tls"], "--tls is for TCP"),
    (["--tcp", "0", "--tls"], "needs this listener's certificate"),
    (["--connect", "127.0.0.1:9", "--tls", "--tls-cert", "nowhere.p12"], "nowhere.p12: cannot read"),
    (["--tcp", "0", "--tak-user", "ncc"], "give --format cot and --connect"),
    (["--connect", "127.0.0.1:9", "--tak-user", "ncc"], "needs its password in NSP_LISTEN_TAK_PASSWORD"),
    (["--connect", "127.0.0.1:9", "--tak-uid", "nsp-1"], "--tak-uid needs --tak-user"),
])
def test_nsp_listen_refuses_tls_options_it_cannot_use(tmp_path, args, says, monkeypatch):
    from ingest.delivery.delivery_cli import listen

    for var in ("NSP_LISTEN_TLS", "NSP_LISTEN_TLS_CERT", "NSP_LISTEN_TLS_KEY", "NSP_LISTEN_TLS_CA"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(listen, ["--format", "cot", "--out", str(tmp_path / "in"), *args])
    assert result.exit_code == 2 and says in result.output, result.output
    assert not (tmp_path / "in").exists()  # refused before anything was made


def test_a_handshake_that_is_not_an_ssl_refusal_still_says_what_happened():
    # the three refusals with OpenSSL reasons are met for real in tests/integration/test_listen.py
    assert handshake_reason(ConnectionResetError()) == "the sender closed the connection during the handshake"
    slow = ConnectionAbortedError("SSL handshake is taking longer than 10.0 seconds: aborting the connection")
    assert handshake_reason(slow) == str(slow)


def test_a_sender_that_never_finishes_its_handshake_is_dropped_and_logged(certs, tmp_path, caplog):
    # a real listener on a real socket, in this process, with a short handshake limit
    import asyncio
    import socket

    from ingest.delivery.listen import Address, Collector, Listener

    async def scenario() -> bytes:
        stop, bound = asyncio.Event(), []
        listener = Listener(Collector(tmp_path / "in", "cot", "t", 100), [], [Address("127.0.0.1", 0)], 0.2, 65536,
                            ready=bound.extend, tls_server=server_context(TlsFiles(cert=certs.server)),
                            handshake_seconds=0.5)
        task = asyncio.create_task(listener.run(stop))
        while not bound:
            await asyncio.sleep(0.05)
        with socket.create_connection(("127.0.0.1", bound[0][2]), timeout=5) as silent:  # says nothing
            got = await asyncio.to_thread(silent.recv, 1)  # b"" once the listener hangs up
        stop.set()
        await task
        return got

    with caplog.at_level("WARNING", logger="nsp.ingest.listen"):
        assert asyncio.run(scenario()) == b""
    refused = [r for r in caplog.records if getattr(r, "action", None) == "listen_tls_refused"]
    assert len(refused) == 1 and "taking longer than 0.5 seconds" in refused[0].error, caplog.text
    assert refused[0].peer.startswith("127.0.0.1:")
