"""A throwaway certificate authority and server certificate, so the emulator can serve HTTPS.

Capture is HTTPS only, and the extension's client verifies certificates. The emulator makes a
private CA and a certificate for ``localhost``, ``127.0.0.1`` and ``::1`` signed by it; a
client trusts the CA file (``CAPTURE_LINK_CA_BUNDLE``). A separate CA, rather than one
self-signed leaf, satisfies OpenSSL's strict X.509 checks that newer Pythons switch on.
Uses the ``cryptography`` package, a dependency of the extension (it seals the session's tokens).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=30)

#: Kept certificates are made anew when they expire sooner than this.
_RENEW_BEFORE = datetime.timedelta(days=1)


@dataclass(frozen=True)
class TLSFiles:
    """PEM files in one directory: the CA certificate, the server certificate and its key."""

    ca_bundle: Path
    certificate: Path
    private_key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context (TLS 1.2 or later) with the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.private_key)
        return context


def kept_tls_files(directory: Path) -> TLSFiles:
    """The CA and server certificate kept in ``directory``: made there the first time, and made
    anew when one is missing or unreadable, they do not belong together, or the certificate
    expires within a day. A site that trusts the CA file keeps trusting the emulator across
    restarts. Emulators starting at once on one directory take turns making them; usable
    files are only read (the directory may be read-only)."""
    files = _files_in(directory)
    if _usable(files):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / ".lock"):
        if _usable(files):  # made meanwhile by another emulator
            return files
        return make_tls_files(directory)


def _usable(files: TLSFiles) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(files.ca_bundle.read_bytes())
        certificate = x509.load_pem_x509_certificate(files.certificate.read_bytes())
        key = serialization.load_pem_private_key(files.private_key.read_bytes(), password=None)
        certificate.verify_directly_issued_by(ca)  # signed by this CA
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, public) != certificate.public_key().public_bytes(
        pem, public
    ):
        return False  # the key of another certificate
    now = datetime.datetime.now(datetime.timezone.utc)
    return _expires(certificate) - now > _RENEW_BEFORE


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes, where the system has ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, one emulator at a time
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_tls_files(directory: Path) -> TLSFiles:
    """Write a fresh CA and a server certificate for the loopback names into ``directory``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Flask-Capture-Link emulator CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    server_cert = (
        _builder(_name("localhost"), ca_name, server_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = _files_in(directory)
    key = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(files.private_key, key, mode=0o600)  # readable by its owner only
    _write(files.certificate, server_cert.public_bytes(serialization.Encoding.PEM))
    _write(files.ca_bundle, ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` at once (a reader sees the old file or the new one)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _files_in(directory: Path) -> TLSFiles:
    return TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")


def _expires(certificate: x509.Certificate) -> datetime.datetime:
    after = getattr(certificate, "not_valid_after_utc", None)  # cryptography 42 and later
    if after is None:  # pragma: no cover - cryptography 41
        after = certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return after


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
