"""Certificates for the TLS tests, made with ``cryptography`` as a TAK server's certificate
scripts make them: a CA, a server certificate for 127.0.0.1, a client certificate, and the
PKCS#12 files a TAK server hands a client (``user.p12`` and ``truststore-root.p12``, both
under the password ``atakatak``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSWORD = "atakatak"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nsp tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False,
          server: bool = False) -> x509.Certificate:
    now = datetime.now(UTC)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                            critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Certs:
    ca: Path  # PEM
    truststore: Path  # PKCS#12 with the CA, password PASSWORD
    server: Path  # PEM: key and certificate for 127.0.0.1
    client: Path  # PEM: key and certificate, CN "nsp-listen"
    client_p12: Path  # PKCS#12 of the client's key and certificate, password PASSWORD


def make_certs(folder: Path, ca_name: str = "nsp test CA") -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(ca_name, ca_key, _name(ca_name), ca_key, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = _cert("takserver", server_key, ca.subject, ca_key, server=True)
    client = _cert("nsp-listen", client_key, ca.subject, ca_key)
    enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    paths = Certs(ca=folder / "ca.pem", truststore=folder / "truststore-root.p12", server=folder / "server.pem",
                  client=folder / "client.pem", client_p12=folder / "user.p12")
    paths.ca.write_bytes(_pem(ca))
    paths.truststore.write_bytes(pkcs12.serialize_key_and_certificates(b"truststore", None, None, [ca], enc))
    paths.server.write_bytes(_pem_key(server_key) + _pem(server))
    paths.client.write_bytes(_pem_key(client_key) + _pem(client))
    paths.client_p12.write_bytes(pkcs12.serialize_key_and_certificates(b"nsp-listen", client_key, client, [ca], enc))
    return paths
