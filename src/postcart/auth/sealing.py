"""Sealing secrets the server must read back (TOTP secrets): AES-256-GCM under a key derived from the server's
secret key, so the database holds only ciphertext. The stored form names its key, which makes rotation
possible: values sealed under POSTCART_SECRET_KEY_PREVIOUS still open, and are re-sealed under the current
key at their next use or by `postcart reencrypt-secrets` (docs/privacy.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "enc:v1:"
_SEALED = re.compile(r"enc:v1:([0-9a-f]{16}):([A-Za-z0-9_-]{40,255})")
_NONCE = 12
# A purpose label per use: a key derived here opens nothing else derived from the same secret key.
_PURPOSE = b"postcart totp-secret v1"


class Unreadable(Exception):
    """A stored value no configured key opens (a wrong or missing POSTCART_SECRET_KEY_PREVIOUS)."""


@dataclass(frozen=True)
class _Key:
    id: str
    aead: AESGCM


def _key(secret_key: str) -> _Key:
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    # The id says which key sealed a value without revealing anything about the key itself.
    key_id = hmac.new(secret_key.encode(), b"postcart key id", hashlib.sha256).hexdigest()[:16]
    return _Key(key_id, AESGCM(material))


@dataclass(frozen=True)
class Keyring:
    current: _Key
    previous: tuple[_Key, ...] = ()

    def seal(self, plain: str, account_id: str) -> str:
        """The stored form of `plain`, bound to its account (a value copied to another row does not open)."""
        nonce = os.urandom(_NONCE)
        sealed = self.current.aead.encrypt(nonce, plain.encode(), account_id.encode())
        return f"{PREFIX}{self.current.id}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, stored: str, account_id: str) -> tuple[str, bool]:
        """(the plain secret, whether it should be re-sealed): a plain value from before sealing existed,
        or one sealed under a previous key, is returned with True. Raises Unreadable."""
        match = _SEALED.fullmatch(stored)
        if match is None:
            if stored.startswith(PREFIX):
                raise Unreadable("malformed sealed value")
            return stored, True  # a legacy plain base32 secret (migration 0037 allows it until re-sealed)
        key_id, body = match.groups()
        for key in (self.current, *self.previous):
            if key.id == key_id:
                raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
                try:
                    plain = key.aead.decrypt(raw[:_NONCE], raw[_NONCE:], account_id.encode())
                except InvalidTag:
                    raise Unreadable("the value does not open under its key") from None
                return plain.decode(), key is not self.current
        raise Unreadable(f"sealed under key {key_id}, which is not configured")


@lru_cache(maxsize=4)
def keyring(secret_key: str, previous: str | None = None) -> Keyring:
    """The keyring for the current secret key and, during a rotation, the previous one."""
    return Keyring(_key(secret_key), (_key(previous),) if previous else ())
