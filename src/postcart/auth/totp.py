"""TOTP codes (pyotp, RFC 6238): which time step a code belongs to, so each can be spent once."""

from __future__ import annotations

import hmac
import time

import pyotp

WINDOW = 1  # accept the previous and the next 30-second step too: clocks drift


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, label: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name="postcart")


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is (within WINDOW of now), or None; a bad secret matches nothing."""
    try:
        totp = pyotp.TOTP(secret)
        current = int((time.time() if now is None else now) // totp.interval)
        for step in range(current - WINDOW, current + WINDOW + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
    except ValueError:  # not base32 (binascii.Error is a ValueError)
        return None
    return None
