"""The HTTP side of outgoing webhooks (Standard Webhooks): each subscription's signing secret, derived from
the server's secret key so that it never reaches the database, the signed headers, the guard that keeps
deliveries off private networks, and one POST with a time limit whose outcome is a status code or an error,
never an exception."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from standardwebhooks import Webhook
from yarl import URL

USER_AGENT = "postcart-webhooks/1"
ERROR_LIMIT = 500  # characters of an error message kept in the delivery's history
ANSWER_LIMIT = 64 * 1024  # bytes of an answer's body read (and dropped): consumers should answer briefly


def subscription_secret(server_secret: str, subscription_id: str, version: int) -> str:
    """The subscription's signing secret, `whsec_` + base64 of 32 bytes: HMAC-SHA256 keyed with the
    server's secret key over the subscription id and the secret version. The web app derives it to show it
    once, the worker to sign; rotating (version + 1) gives a new one, and nobody without the key can
    recompute any of them, whatever the database holds."""
    message = f"postcart-webhook-secret\n{subscription_id}\n{version}".encode()
    digest = hmac.new(server_secret.encode(), message, hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def signed_headers(secrets: Sequence[str], message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for one attempt: webhook-id (the event id: consumers dedupe by it),
    webhook-timestamp (now, in seconds) and webhook-signature, one `v1,...` per secret, space-separated
    (two during a rotation, so consumers holding either secret verify)."""
    at = now or datetime.now(UTC)
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def is_public(address: str) -> bool:
    """Whether an IP address belongs to the public internet: not loopback, private, link-local (the cloud
    metadata service at 169.254.169.254), shared, reserved, multicast or unspecified, nor such an IPv4
    address written as IPv6."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class DestinationRefused(OSError):
    """A subscriber URL that leads to an address that is not public (see is_public)."""


class PublicAddressesOnly(AbstractResolver):
    """Resolves names as aiohttp does by default, and refuses a name when any of its addresses is not
    public. The connector connects to exactly the addresses this returns, so a name that resolves to a
    public address when the subscription is made and to an internal one later is still refused."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        for result in found:
            if not is_public(result["host"]):
                raise DestinationRefused(f"{host} resolves to {result['host']}, which is not a public address")
        return found

    async def close(self) -> None:
        await self._resolver.close()


def refused_literal(url: str) -> str | None:
    """Why a URL whose host is an IP address may not be sent to, or None. (aiohttp does not ask the
    resolver about IP addresses, so they are checked here.)"""
    host = URL(url).host or ""
    try:
        public = is_public(host)
    except ValueError:  # a name, not an address: the resolver checks it
        return None
    return None if public else f"{host} is not a public address"


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    duration_ms: int
    status: int | None  # the answer's HTTP status; None when there was no answer
    error: str | None  # why there was no answer at all (timeout, refused, ...), for the history

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def post(session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: str,
               timeout: float, public_only: bool = True) -> Outcome:
    """POST the body; at most `timeout` seconds from connecting to the end of the answer's headers and
    body. Redirects are not followed (a 3xx is a failed attempt, as the specification advises). With
    `public_only`, an IP address that is not public is refused here, and the session's connector must
    resolve names with PublicAddressesOnly. Whatever goes wrong becomes the outcome's error."""
    attempted_at = datetime.now(UTC)
    started = time.monotonic()
    status: int | None = None
    error: str | None = refused_literal(url) if public_only else None
    if error is not None:
        return Outcome(attempted_at, 0, None, f"refused: {error}")
    try:
        async with session.post(url, data=body.encode(), headers=headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            status = response.status
            # A short answer is read to the end, so its connection is reused; a long one is not read at all.
            await response.content.read(ANSWER_LIMIT)
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except aiohttp.ClientConnectorDNSError as exc:
        refused = exc.os_error if isinstance(exc.os_error, DestinationRefused) else None
        error = (f"refused: {refused}" if refused else f"{type(exc).__name__}: {exc}")[:ERROR_LIMIT]
    except aiohttp.ClientError as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    except (OSError, ValueError) as exc:  # e.g. an unresolvable or malformed URL
        error = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(attempted_at, duration_ms, status, error)

