"""Which address the rate limits count a request by (http/client_ip.py): X-Forwarded-For only through
trusted proxies, walked from the right."""

from __future__ import annotations

from ipaddress import ip_network
from unittest import mock

from aiohttp.test_utils import make_mocked_request

from postcart.http.client_ip import client_ip

PROXIES = (ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32"))


def request(peer: str, forwarded: str | None = None) -> object:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    transport = mock.Mock()
    transport.get_extra_info.return_value = (peer, 4711)
    return make_mocked_request("POST", "/v1/auth/login", headers=headers, transport=transport)


def test_the_peer_when_no_proxy_is_trusted() -> None:
    assert client_ip(request("198.51.100.7", "203.0.113.1"), ()) == "198.51.100.7"


def test_the_header_of_an_untrusted_peer_is_ignored() -> None:
    assert client_ip(request("198.51.100.7", "203.0.113.1"), PROXIES) == "198.51.100.7"


def test_the_first_untrusted_hop_from_the_right() -> None:
    # The client may prepend anything; only what the trusted proxies appended is believed.
    forwarded = "192.0.2.66, 203.0.113.1, 10.1.2.3"
    assert client_ip(request("127.0.0.1", forwarded), PROXIES) == "203.0.113.1"


def test_a_malformed_hop_stops_at_the_last_trusted_one() -> None:
    assert client_ip(request("127.0.0.1", "203.0.113.1, garbage, 10.1.2.3"), PROXIES) == "10.1.2.3"


def test_a_trusted_peer_without_the_header_is_the_client() -> None:
    assert client_ip(request("127.0.0.1"), PROXIES) == "127.0.0.1"
