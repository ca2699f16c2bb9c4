"""Requests aiohttp refuses before any route or middleware runs (a request line over 8 KB, malformed
headers, a non-HTTP client) get the same JSON error envelope and headers as every other answer.

aiohttp builds those answers in RequestHandler.handle_error, as text/plain, and offers no hook for them;
`install()` replaces that one method. It also logs the refusal in one line, without echoing the bytes the
client sent (a request line may hold anything, tokens included)."""

from __future__ import annotations

import json
import logging

from aiohttp import http_exceptions, web, web_protocol

from . import headers

log = logging.getLogger("postcart.http")

_CODES = {
    400: ("bad_request", "The request is not valid HTTP."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The request line is longer than 8 KB."),
    431: ("headers_too_large", "The request headers are too large."),
    500: ("internal_error", "Something went wrong on our side; the request id identifies it."),
}


def _status_of(status: int, exc: BaseException | None) -> int:
    if isinstance(exc, http_exceptions.LineTooLong):
        # aiohttp says 400 for both and names neither; the line it quotes begins with the target when
        # the request line was too long (a path or an absolute URL), with a header's bytes otherwise.
        line = bytes(exc.args[0]) if exc.args and isinstance(exc.args[0], (bytes, bytearray)) else b""
        return 414 if line.startswith(b"/") or b"://" in line[:16] else 431
    return status


def handle_error(self: web_protocol.RequestHandler, request: web.BaseRequest, status: int = 500,
                 exc: BaseException | None = None, message: str | None = None) -> web.StreamResponse:
    status = _status_of(status, exc)
    log.info("refused a malformed request from %s: %s %s", request.remote, status,
             exc.__class__.__name__ if exc is not None else "")
    if request.writer.output_size > 0:
        raise ConnectionError("Response is sent already, cannot send another response with the error message")
    code, text = _CODES.get(status, ("bad_request", "The request is not valid HTTP."))
    body = json.dumps({"error": {"code": code, "message": text, "details": {}}})
    response = web.Response(status=status, text=body, content_type="application/json")
    headers.apply(request, response)
    response.force_close()
    return response


def install() -> None:
    web_protocol.RequestHandler.handle_error = handle_error  # type: ignore[method-assign]
