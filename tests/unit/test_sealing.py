"""Sealing TOTP secrets (postcart.auth.sealing): what opens, what does not, and what asks to be re-sealed."""

from __future__ import annotations

import pytest

from postcart.auth.sealing import PREFIX, Unreadable, keyring

KEY, OLD = "current-secret-key-of-at-least-32-chars", "previous-secret-key-of-at-least-32-chars"
ACCOUNT = "6f1c2d3e-0000-4000-8000-000000000001"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_a_sealed_secret_opens_under_its_key_and_account_only() -> None:
    sealed = keyring(KEY).seal(SECRET, ACCOUNT)
    assert sealed.startswith(PREFIX) and SECRET not in sealed
    assert keyring(KEY).open(sealed, ACCOUNT) == (SECRET, False)
    assert keyring(KEY).seal(SECRET, ACCOUNT) != sealed  # a fresh nonce every time
    with pytest.raises(Unreadable):
        keyring(KEY).open(sealed, "6f1c2d3e-0000-4000-8000-000000000002")
    with pytest.raises(Unreadable):  # another key: its id is not configured
        keyring(OLD).open(sealed, ACCOUNT)


def test_a_tampered_or_malformed_value_does_not_open() -> None:
    sealed = keyring(KEY).seal(SECRET, ACCOUNT)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (flipped, PREFIX + "zz:abc", sealed.replace(PREFIX, PREFIX + "x")):
        with pytest.raises(Unreadable):
            keyring(KEY).open(bad, ACCOUNT)


def test_old_forms_open_and_ask_to_be_resealed() -> None:
    assert keyring(KEY).open(SECRET, ACCOUNT) == (SECRET, True)  # plain, from before migration 0037
    by_old = keyring(OLD).seal(SECRET, ACCOUNT)
    assert keyring(KEY, OLD).open(by_old, ACCOUNT) == (SECRET, True)
    assert keyring(KEY, OLD).open(keyring(KEY).seal(SECRET, ACCOUNT), ACCOUNT) == (SECRET, False)
