"""Sealed values: AES-GCM under a key derived from the site's secret, bound to a purpose."""

from __future__ import annotations

import ast
import base64
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from flask_capture_link import sealing
from flask_capture_link.sealing import SealError, seal, unseal

PURPOSE = b"session tokens"


def raw(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def text(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


@given(data=st.binary(max_size=2000), secret=st.text(min_size=1) | st.binary(min_size=1))
def test_what_is_sealed_opens_with_the_same_secret(data: bytes, secret: str | bytes) -> None:
    assert unseal(seal(data, [secret], purpose=PURPOSE), [secret], purpose=PURPOSE) == (data, 0)


def test_the_sealed_value_does_not_show_the_data() -> None:
    data = b'{"a":"an-access-token-0123456789"}'
    sealed = seal(data, ["k"], purpose=PURPOSE)
    assert b"access" not in raw(sealed)
    assert "access" not in sealed
    assert len(raw(sealed)) == 1 + 12 + len(data) + 16  # version, nonce, data, tag


def test_another_secret_does_not_open_it() -> None:
    sealed = seal(b"data", ["right"], purpose=PURPOSE)
    with pytest.raises(SealError):
        unseal(sealed, ["wrong"], purpose=PURPOSE)
    with pytest.raises(SealError):
        unseal(sealed, [], purpose=PURPOSE)


def test_a_fallback_secret_opens_it_and_says_which() -> None:
    sealed = seal(b"data", ["old"], purpose=PURPOSE)
    assert unseal(sealed, ["new", "", "old"], purpose=PURPOSE) == (b"data", 2)


def test_the_first_secret_seals() -> None:
    sealed = seal(b"data", ["new", "old"], purpose=PURPOSE)
    assert unseal(sealed, ["new"], purpose=PURPOSE) == (b"data", 0)
    with pytest.raises(SealError):
        unseal(sealed, ["old"], purpose=PURPOSE)


def test_every_seal_draws_a_new_nonce() -> None:
    sealed = [raw(seal(b"same data", ["k"], purpose=PURPOSE)) for _ in range(50)]
    assert len({value[1:13] for value in sealed}) == 50
    assert len(set(sealed)) == 50


def test_the_purpose_is_bound() -> None:
    sealed = seal(b"data", ["k"], purpose=b"session tokens")
    with pytest.raises(SealError):
        unseal(sealed, ["k"], purpose=b"something else")


def test_the_version_is_bound() -> None:
    value = raw(seal(b"data", ["k"], purpose=PURPOSE))
    with pytest.raises(SealError, match="unknown version"):
        unseal(text(b"\x02" + value[1:]), ["k"], purpose=PURPOSE)


@pytest.mark.parametrize("at", [0, 1, 12, 13, -1])
def test_a_changed_byte_does_not_open(at: int) -> None:
    value = bytearray(raw(seal(b"some data", ["k"], purpose=PURPOSE)))
    value[at] ^= 0x01
    with pytest.raises(SealError):
        unseal(text(bytes(value)), ["k"], purpose=PURPOSE)


@pytest.mark.parametrize(
    "value", ["", "AQ", "not base64 at all!", "é", text(b"\x01" + b"\x00" * 27)]
)
def test_what_is_not_a_sealed_value_is_refused_without_quoting_it(value: str) -> None:
    with pytest.raises(SealError) as refused:
        unseal(value, ["k"], purpose=PURPOSE)
    assert value not in str(refused.value) or not value


def test_there_is_no_sealing_without_a_secret() -> None:
    for secrets in ([], [""], [b""]):
        with pytest.raises(ValueError, match="no secret key"):
            seal(b"data", secrets, purpose=PURPOSE)


def test_the_key_is_hkdf_sha256_of_the_secret_with_its_own_salt_and_info() -> None:
    secret = "the site's secret key"
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=sealing.SALT, info=sealing.INFO).derive(
        secret.encode()
    )
    value = raw(seal(b"data", [secret], purpose=PURPOSE))
    nonce, sealed = value[1:13], value[13:]
    assert AESGCM(key).decrypt(nonce, sealed, sealing.VERSION + PURPOSE) == b"data"
    # Its own salt and info: not the key a plain HKDF of the secret would give.
    plain = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"").derive(secret.encode())
    assert key != plain
    assert key != secret.encode()


def test_keys_are_derived_once_per_secret_and_held_by_its_hash() -> None:
    sealing._KEYS.clear()
    for _ in range(3):
        seal(b"data", ["one secret"], purpose=PURPOSE)
    assert len(sealing._KEYS) == 1
    assert b"one secret" not in next(iter(sealing._KEYS))
    for n in range(sealing._KEYS_MAX + 5):
        seal(b"data", [f"secret {n}"], purpose=PURPOSE)
    assert 0 < len(sealing._KEYS) <= sealing._KEYS_MAX


def test_the_module_imports_no_flask() -> None:
    path = Path(sealing.__file__)
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"flask", "werkzeug", "flask_login", "itsdangerous"}), imported
    # And it loads on its own, with no Flask in the process.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('sealing', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "sealed = module.seal(b'x', ['k'], purpose=b'p')\n"
        "assert module.unseal(sealed, ['k'], purpose=b'p') == (b'x', 0)\n"
        "assert 'flask' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
