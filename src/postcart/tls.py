"""TLS: the HTTPS server's context from an operator's certificate, and the self-signed certificate the
embedded cluster presents to TCP clients when it requires TLS (docs/operations.md, "TLS")."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .settings import SettingsError

# Names the embedded cluster's certificate is valid for: it listens on loopback only.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SELF_SIGNED_DAYS = 3650


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """An HTTPS server context (TLS 1.2 and later, the ssl module's default ciphers) from a PEM certificate
    chain and its private key; a file that is missing or does not fit is a SettingsError naming it."""
    for path in (cert, key):
        if not path.is_file():
            raise SettingsError(f"TLS: no such file {path}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(f"TLS: cannot use certificate {cert} with key {key}: {exc.strerror or exc}") from None
    return context


def write_self_signed(cert_path: Path, key_path: Path, names: tuple[str, ...] = LOOPBACK_NAMES) -> None:
    """A new P-256 key and a self-signed certificate for `names` (host names and IP addresses), valid ten
    years. Clients trust it by pinning it (sslrootcert=<cert_path> with sslmode=verify-full). The key file
    is created readable by its owner only."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alternatives: list[x509.GeneralName] = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
