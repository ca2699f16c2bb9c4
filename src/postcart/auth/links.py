"""The tokens of the links mails carry (password reset, e-mail verification, unsubscribe): `<id>.<mac>`,
the mac being base64url HMAC-SHA256 of the server's secret key over `<purpose>:<id>`. Derived, never
stored: the worker makes the same token the web app later checks, and the database holds only the id,
which proves nothing without the key. Expiry and single use are the database's (the row the id names)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

PASSWORD_RESET = "password-reset"
EMAIL_VERIFICATION = "email-verification"
UNSUBSCRIBE = "unsubscribe"
MAX_LENGTH = 200  # longer input is no token of ours


def _mac(secret: str, purpose: str, row_id: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{row_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make(secret: str, purpose: str, row_id: object) -> str:
    """The token for row_id (a uuid) and purpose."""
    row = str(uuid.UUID(str(row_id)))
    return f"{row}.{_mac(secret, purpose, row)}"


def check(secret: str, purpose: str, token: object) -> str | None:
    """The id a well-formed, genuine token names (compared in constant time), else None."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or token.count(".") != 1:
        return None
    row, mac = token.split(".")
    try:
        row = str(uuid.UUID(row))
    except ValueError:
        return None
    return row if hmac.compare_digest(mac.encode(), _mac(secret, purpose, row).encode()) else None
