"""ingest.tls: the certificate files of ``nsp listen --tls`` — PEM and a TAK server's PKCS#12 —
and the clear errors for files that cannot be used."""

from __future__ import annotations

import ssl

import pytest
from click.testing import CliRunner

from ingest.tls import TlsError, TlsFiles, client_context, server_context
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
])
def test_nsp_listen_refuses_tls_options_it_cannot_use(tmp_path, args, says, monkeypatch):
    from ingest.delivery_cli import listen

    for var in ("NSP_LISTEN_TLS", "NSP_LISTEN_TLS_CERT", "NSP_LISTEN_TLS_KEY", "NSP_LISTEN_TLS_CA"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(listen, ["--format", "cot", "--out", str(tmp_path / "in"), *args])
    assert result.exit_code == 2 and says in result.output, result.output
    assert not (tmp_path / "in").exists()  # refused before anything was made
