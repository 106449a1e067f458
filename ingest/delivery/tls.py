"""TLS for ``nsp listen``: a TAK server's streaming port (8089) and senders that encrypt.

A TAK server speaks Cursor on Target over TLS with client certificates: it hands each client
a PKCS#12 file (``user.p12``) holding its key and certificate, and a truststore
(``truststore-root.p12``) holding the server's CA, both under one password (``atakatak``
unless changed). So a certificate or a CA file here may be PEM or PKCS#12 (``.p12``,
``.pfx``); PKCS#12 is read with ``cryptography``, the rest is the standard library's
:mod:`ssl`. A file that cannot be used is a :class:`TlsError` that names it and says why,
before anything listens or connects.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nsp.errors import NspError

PKCS12_SUFFIXES = {".p12", ".pfx"}


class TlsError(NspError):
    """A certificate, key or CA file that cannot be used."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path | None = None  # this end's certificate: PEM (with the key, or --tls-key) or PKCS#12
    key: Path | None = None  # its private key, when the PEM certificate does not hold it
    ca: Path | None = None  # whom to trust: PEM bundle or PKCS#12 truststore
    password: str | None = None  # of the key or the PKCS#12 files


def _reason(exc: OSError) -> str:
    """An OSError's own words ("No such file or directory"), else the ssl module's."""
    return exc.strerror or str(exc)


def _pkcs12(path: Path, password: str | None):
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TlsError(f"{path}: cannot read: {_reason(exc)}") from None
    try:
        return pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError as exc:
        hint = "" if password else " (a TAK server's files usually need NSP_LISTEN_TLS_PASSWORD)"
        raise TlsError(f"{path}: not a PKCS#12 file, or the password is wrong{hint}: {exc}") from None


def _pem(cert) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode()


def _load_ca(context: ssl.SSLContext, tls: TlsFiles) -> None:
    path = tls.ca
    try:
        if path.suffix.lower() in PKCS12_SUFFIXES:
            _key, cert, extra = _pkcs12(path, tls.password)
            certs = [c for c in (cert, *extra) if c is not None]
            if not certs:
                raise TlsError(f"{path}: the truststore holds no certificate")
            context.load_verify_locations(cadata="".join(_pem(c) for c in certs))
        else:
            context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"{path}: not a usable CA file: {_reason(exc)}") from None


def _load_cert(context: ssl.SSLContext, tls: TlsFiles) -> None:
    path = tls.cert
    if path.suffix.lower() not in PKCS12_SUFFIXES:
        try:
            context.load_cert_chain(str(path), str(tls.key) if tls.key else None, password=tls.password)
        except (OSError, ssl.SSLError) as exc:
            what = f"{path}" + (f" with the key {tls.key}" if tls.key else "")
            raise TlsError(f"{what}: not a usable certificate and key (PEM; the key in the same file or "
                           f"--tls-key; an encrypted key needs NSP_LISTEN_TLS_PASSWORD): "
                           f"{_reason(exc)}") from None
        return
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key, cert, extra = _pkcs12(path, tls.password)
    if key is None or cert is None:
        raise TlsError(f"{path}: holds no private key and certificate (a truststore? give it as --tls-ca)")
    chain = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode() + _pem(cert) + "".join(
        _pem(c) for c in extra)
    # ssl loads a chain from a file only: one that only this process can read, gone at once
    with tempfile.TemporaryDirectory(prefix="nsp-tls-") as tmp:
        pem = Path(tmp) / "chain.pem"
        fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(chain)
        context.load_cert_chain(str(pem))


def client_context(tls: TlsFiles) -> ssl.SSLContext:
    """For ``--connect``: the server's certificate is checked against ``ca`` (else the
    system's CAs; with ``ca``, that CA alone), with its name; ``cert`` is presented when the
    server asks for one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # checks the certificate and its name
    if tls.ca:
        _load_ca(context, tls)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if tls.cert:
        _load_cert(context, tls)
    return context


def server_context(tls: TlsFiles) -> ssl.SSLContext:
    """For ``--tcp``: ``cert`` is this listener's; with ``ca`` a sender must present a
    certificate signed by it (as a TAK server asks of its clients)."""
    if not tls.cert:
        raise TlsError("--tls with --tcp needs this listener's certificate: --tls-cert FILE")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_cert(context, tls)
    if tls.ca:
        _load_ca(context, tls)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


# A refused handshake in words an operator can act on, by the OpenSSL reason code.
_HANDSHAKE_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "the sender presented no certificate (--tls-ca asks for one)",
    "CERTIFICATE_VERIFY_FAILED": "the sender's certificate is not signed by --tls-ca, or has expired",
    "TLSV1_ALERT_UNKNOWN_CA": "the sender does not trust this listener's certificate (--tls-cert)",
    "WRONG_VERSION_NUMBER": "the sender does not speak TLS (plain TCP to a --tls port?)",
    "HTTP_REQUEST": "the sender does not speak TLS (plain HTTP to a --tls port)",
    "UNSUPPORTED_PROTOCOL": "the sender offers only a TLS version this listener refuses (below 1.2)",
}


def handshake_reason(exc: OSError) -> str:
    """Why a sender's TLS handshake failed: a known OpenSSL reason in words, else the error's
    own text, or that the sender hung up during the handshake."""
    if isinstance(exc, ssl.SSLError) and exc.reason in _HANDSHAKE_REASONS:
        return _HANDSHAKE_REASONS[exc.reason]
    if isinstance(exc, ConnectionError | TimeoutError) and not str(exc):
        return "the sender closed the connection during the handshake"
    return str(exc) or type(exc).__name__
