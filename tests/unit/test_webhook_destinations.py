"""Which addresses a webhook may be delivered to by default (src/postcart/integrations/webhooks.py)."""

import pytest

from postcart.integrations.webhooks import is_public, refused_literal


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
])
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(address)


def test_only_literal_addresses_are_judged_before_resolving() -> None:
    assert refused_literal("http://169.254.169.254/latest/meta-data") == "169.254.169.254 is not a public address"
    assert refused_literal("https://[::1]:8443/hook") == "::1 is not a public address"
    assert refused_literal("https://1.1.1.1/hook") is None
    assert refused_literal("https://hooks.example.com/x") is None  # the resolver checks names
