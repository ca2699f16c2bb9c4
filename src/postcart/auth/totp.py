"""TOTP codes (pyotp, RFC 6238): which time step a code belongs to, so each can be spent once; and the
form in which a recovery code is looked up."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

import pyotp

WINDOW = 1  # accept the previous and the next 30-second step too: clocks drift
DIGITS = 6
_CODE = re.compile(r"[0-9]{%d}" % DIGITS)  # ASCII digits only: no full-width or other Unicode digits
# Recovery codes are made by the database (auth.new_recovery_code): 16 characters of Crockford's base32
# alphabet, shown in groups of four. What a user types is forgiving: any case, dashes and spaces, and
# the letters Crockford reads as digits.
_RECOVERY_ALPHABET = re.compile(r"[0-9a-hjkmnp-tv-z]{16}")
_CROCKFORD_ALIASES = str.maketrans({"o": "0", "i": "1", "l": "1", "-": None, " ": None})


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, label: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name="postcart")


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is (within WINDOW of now), or None; a bad secret, or a code that is
    not six ASCII digits, matches nothing."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    try:
        totp = pyotp.TOTP(secret)
        current = int((time.time() if now is None else now) // totp.interval)
        for step in range(current - WINDOW, current + WINDOW + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
    except ValueError:  # not base32 (binascii.Error is a ValueError)
        return None
    return None


def recovery_code_digest(code: object) -> bytes | None:
    """The sha256 under which the database keeps this recovery code (auth.recovery_code_hash), or None
    when `code` cannot be one."""
    if not isinstance(code, str) or len(code) > 64:
        return None
    normal = code.strip().lower().translate(_CROCKFORD_ALIASES)
    if not _RECOVERY_ALPHABET.fullmatch(normal):
        return None
    return hashlib.sha256(normal.encode()).digest()
