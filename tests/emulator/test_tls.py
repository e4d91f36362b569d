"""The throwaway CA and server certificate pass strict X.509 verification for loopback."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509

from flask_capture_link.emulator import tls
from flask_capture_link.emulator.tls import kept_tls_files, make_tls_files

from ..helpers import race


def test_the_certificate_names_loopback_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_bundle.read_bytes())
    cert = x509.load_pem_x509_certificate(files.certificate.read_bytes())

    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca)


def test_a_strict_client_accepts_it(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)
    client = ssl.create_default_context(cafile=str(files.ca_bundle))
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    server = files.server_context()
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            for _ in range(2):
                connection, _ = listener.accept()
                with server.wrap_socket(connection, server_side=True) as tls:
                    tls.sendall(tls.recv(5))

        thread = threading.Thread(target=serve)
        thread.start()
        for host in ("localhost", "127.0.0.1"):
            raw = socket.create_connection(listener.getsockname())
            with client.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(b"hello")
                assert tls.recv(5) == b"hello"
        thread.join()


def test_kept_files_are_made_once_and_used_again(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    first = kept_tls_files(kept)
    ca = first.ca_bundle.read_bytes()
    again = kept_tls_files(kept)
    assert again == first and again.ca_bundle.read_bytes() == ca


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_usable_kept_files_are_only_read(tmp_path: Path) -> None:
    # As in a read-only mount or another user's directory: nothing there can be opened to
    # write (here the lock, made a directory, even for root).
    kept = tmp_path / "kept"
    made = kept_tls_files(kept)
    (kept / ".lock").unlink()
    (kept / ".lock").mkdir()
    ca = made.ca_bundle.read_bytes()
    assert kept_tls_files(kept) == made
    assert made.ca_bundle.read_bytes() == ca


def test_the_key_is_its_owner_s_only_also_when_made_anew(tmp_path: Path) -> None:
    files = kept_tls_files(tmp_path)
    assert (mode(files.private_key), mode(files.ca_bundle)) == (0o600, 0o644)
    files.private_key.chmod(0o644)
    files.certificate.write_text("not a certificate")
    assert mode(kept_tls_files(tmp_path).private_key) == 0o600


def other_files(tmp_path: Path) -> tls.TLSFiles:
    (tmp_path / "other").mkdir()
    return make_tls_files(tmp_path / "other")


@pytest.mark.parametrize("replaced", ["ca_bundle", "private_key", "certificate"])
def test_files_that_do_not_belong_together_are_made_anew(tmp_path: Path, replaced: str) -> None:
    kept = tmp_path / "kept"
    first = kept_tls_files(kept)
    ca = first.ca_bundle.read_bytes()
    stranger = getattr(other_files(tmp_path), replaced)
    getattr(first, replaced).write_bytes(stranger.read_bytes())
    files = kept_tls_files(kept)
    assert files.ca_bundle.read_bytes() != ca
    assert tls._usable(files)
    files.server_context()  # the key is the certificate's


def test_kept_files_are_made_anew_when_about_to_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = kept_tls_files(tmp_path).ca_bundle.read_bytes()
    monkeypatch.setattr(tls, "_RENEW_BEFORE", tls._VALIDITY)  # it expires within that
    assert kept_tls_files(tmp_path).ca_bundle.read_bytes() != ca


def test_emulators_starting_at_once_on_one_directory_take_turns(tmp_path: Path) -> None:
    for attempt in range(6):  # each time on an empty directory
        kept = tmp_path / f"kept-{attempt}"
        made = race(6, lambda i, kept=kept: kept_tls_files(kept))
        assert all(files == made[0] for files in made)
        assert tls._usable(made[0])  # the certificate is the CA's, the key the certificate's
        assert sorted(path.name for path in kept.iterdir()) == [
            ".lock", "ca.pem", "server-key.pem", "server.pem"
        ]  # fmt: skip
