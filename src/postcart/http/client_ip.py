"""The client's address for the rate limits: the connection's peer, or, when that peer is a proxy the
operator trusts (POSTCART_TRUSTED_PROXIES), the address the proxies report in X-Forwarded-For. Never the
header alone: any client can send one."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

Network = IPv4Network | IPv6Network


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_ip(request: web.Request, proxies: Sequence[Network]) -> str | None:
    """Walk X-Forwarded-For from the right (each proxy appends the peer it saw) while the hop is trusted; the
    first untrusted address is the client. A malformed entry stops the walk at the last trusted hop."""
    peer = _parse(request.remote or "")
    if not _trusted(peer, proxies):
        return None if peer is None else str(peer)
    client = peer
    for hop in reversed(",".join(request.headers.getall("X-Forwarded-For", [])).split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    return None if client is None else str(client)
