"""Sealed values: encrypted and authenticated with a key derived from the site's secret.

A sealed value can be kept where others can read it (a cookie, a Redis dump) without
revealing or letting anyone change what it holds. It is AES-256-GCM from ``cryptography``,
nothing hand-built:

* the key is derived from a secret (the site's ``SECRET_KEY``) with HKDF-SHA256 and this
  module's own salt and info, so it never equals the key itsdangerous signs with;
* every seal draws a fresh random 96-bit nonce;
* the associated data is the format's version byte and the value's ``purpose``, so a value
  sealed for one purpose does not open for another, and the format can change;
* the result is ``base64url(version || nonce || ciphertext || tag)``, a string a JSON session
  serializer keeps as is.

Several secrets may open a value (the current one and those a key rotation keeps, Flask's
``SECRET_KEY_FALLBACKS``); the first one always seals.

No Flask here: the caller reads the secrets from its app.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SealError", "seal", "unseal"]

#: The format this module writes; the first byte of every sealed value.
VERSION = b"\x01"

#: HKDF salt and info: this module's own, so the derived key differs from every other key
#: made from the same secret (itsdangerous' signing key among them).
SALT = b"flask-capture-link sealing"
INFO = b"flask-capture-link tokens"

_NONCE_BYTES = 12
_TAG_BYTES = 16

#: Derived keys by the SHA-256 of their secret (never the secret itself), so a request derives
#: nothing in the common case. A handful of secrets live at once (a rotation's); a process that
#: sees more (tests, many apps) starts over.
_KEYS: dict[bytes, AESGCM] = {}
_KEYS_MAX = 32
_KEYS_LOCK = threading.Lock()


class SealError(ValueError):
    """A value that does not open: not sealed by this module, sealed with another secret or for
    another purpose, changed, or of an unknown version. The message never quotes the value."""


def seal(data: bytes, secret_keys: Sequence[str | bytes], *, purpose: bytes) -> str:
    """``data`` encrypted with a key derived from ``secret_keys[0]``, bound to ``purpose``.

    :raises ValueError: when there is no secret (an empty first one included).
    """
    if not secret_keys or not secret_keys[0]:
        raise ValueError("no secret key to seal with")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(secret_keys[0]).encrypt(nonce, data, VERSION + purpose)
    return base64.urlsafe_b64encode(VERSION + nonce + sealed).rstrip(b"=").decode("ascii")


def unseal(value: str, secret_keys: Iterable[str | bytes], *, purpose: bytes) -> tuple[bytes, int]:
    """The data :func:`seal` sealed into ``value`` for ``purpose``, and the index of the secret
    that opened it (``0``: the current one; more: a fallback, so the caller may seal it again
    with the current one). Empty secrets are skipped.

    :raises SealError: when no secret opens it.
    """
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError, TypeError):
        raise SealError("not a sealed value") from None
    if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES:
        raise SealError("not a sealed value")
    if raw[:1] != VERSION:
        raise SealError("a sealed value of an unknown version")
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    for index, secret in enumerate(secret_keys):
        if not secret:
            continue
        try:
            return _aead(secret).decrypt(nonce, sealed, VERSION + purpose), index
        except InvalidTag:
            continue
    raise SealError("no secret key opens the sealed value (rotated away, or changed)")


def _aead(secret: str | bytes) -> AESGCM:
    """The AES-GCM cipher of ``secret``'s derived key, derived once per secret."""
    material = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    digest = hashlib.sha256(material).digest()
    found = _KEYS.get(digest)
    if found is not None:
        return found
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(material)
    cipher = AESGCM(key)
    with _KEYS_LOCK:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[digest] = cipher
    return cipher
