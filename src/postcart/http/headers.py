"""Response headers every answer carries (security, caching default, server name) and CORS for the
browser origins listed in POSTCART_CORS_ORIGINS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SERVER = "postcart"
# JSON never needs to load anything or be framed; pages that do (the API explorer) set their own policy.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-site",
}
HSTS = "max-age=31536000; includeSubDomains"

# What a browser may send and read across origins.
CORS_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Cart-Token, X-Request-Id"
CORS_EXPOSED_HEADERS = "ETag, Idempotent-Replayed, Location, Retry-After, X-Request-Id"
CORS_MAX_AGE = "600"


def apply(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Set the headers every response carries, without overriding what a handler chose."""
    headers = response.headers
    headers[hdrs.SERVER] = SERVER
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Content-Security-Policy", API_CSP)
    # Only catalog reads are cacheable (they set their own Cache-Control); everything else may carry
    # personal data or credentials.
    headers.setdefault(hdrs.CACHE_CONTROL, "no-store")
    if request.secure:
        headers.setdefault("Strict-Transport-Security", HSTS)


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    apply(request, response)


def cors_middleware(origins: frozenset[str], allow_credentials: bool) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Answer preflights and add Access-Control-* headers for listed origins ("*" allows any origin, never
    with credentials); other origins get no CORS headers at all, so browsers keep them out."""
    any_origin = "*" in origins

    def allowed(origin: str | None) -> bool:
        return origin is not None and (any_origin or origin in origins)

    def cors_headers(origin: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": "*" if any_origin else origin}
        if allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        wanted = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_METHOD)
        if request.method == hdrs.METH_OPTIONS and wanted and allowed(origin):
            assert origin is not None
            methods = _allowed_methods(request)
            if not methods:
                return await handler(request)  # no such resource: the usual 404
            response = web.Response(status=204, headers={
                **cors_headers(origin),
                "Access-Control-Allow-Methods": ", ".join(sorted(methods)),
                "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
                "Access-Control-Max-Age": CORS_MAX_AGE,
                hdrs.VARY: "Origin",
            })
            return response
        response = await handler(request)
        if allowed(origin):
            assert origin is not None
            response.headers.update(cors_headers(origin))
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
        if origins and not any_origin:
            vary = response.headers.get(hdrs.VARY)
            response.headers[hdrs.VARY] = f"{vary}, Origin" if vary else "Origin"
        return response

    return middleware


def _allowed_methods(request: web.Request) -> set[str]:
    """The methods the router serves at this path (it answered OPTIONS with 405 and knows them)."""
    refusal = request.match_info.http_exception
    if isinstance(refusal, web.HTTPMethodNotAllowed):
        return set(refusal.allowed_methods)
    return set()
