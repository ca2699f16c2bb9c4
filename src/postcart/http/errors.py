"""One error shape for every failure: {"error": {"code", "message", "details"}}, and the SQLSTATE map."""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
from aiohttp import web

log = logging.getLogger("postcart.http")


RETRY_AFTER = {429: 60, 503: 2}  # seconds, when the error does not say (details.retry_after)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = dict(headers or {})
        if status in RETRY_AFTER:
            retry_after = self.details.get("retry_after")
            seconds = retry_after if isinstance(retry_after, int) and retry_after > 0 else RETRY_AFTER[status]
            self.headers.setdefault("Retry-After", str(seconds))

    def response(self) -> web.Response:
        body = {"error": {"code": self.code, "message": self.message, "details": self.details}}
        return web.json_response(body, status=self.status, headers=self.headers)


# (SQLSTATE or its class prefix) → (status, code, message). PTnnn raised by our functions come first.
_SQLSTATES: list[tuple[str, int, str, str]] = [
    ("23505", 409, "conflict", "The request conflicts with existing data."),
    ("23503", 409, "conflict", "The request refers to data that does not exist or is still in use."),
    # PostgreSQL 18 reports a RESTRICT foreign key as restrict_violation, 15-17 as 23503.
    ("23001", 409, "conflict", "The request refers to data that is still in use."),
    ("23P01", 409, "conflict", "The request overlaps with existing data."),
    ("23514", 422, "validation_failed", "A value breaks a rule of the data."),
    ("23502", 422, "validation_failed", "A required value is missing."),
    ("22P02", 400, "invalid_parameter", "A value has the wrong format."),
    ("22023", 400, "invalid_parameter", "A value is not acceptable."),
    ("22003", 400, "invalid_parameter", "A number is out of range."),
    ("22007", 400, "invalid_parameter", "A date or time has the wrong format."),
    ("22008", 400, "invalid_parameter", "A date or time is out of range."),
    ("22P05", 400, "invalid_parameter", "A value contains characters that cannot be stored."),
    ("54001", 400, "invalid_parameter", "A value is nested too deeply."),
    ("40001", 503, "busy", "The request collided with others too often; try again."),
    ("40P01", 503, "busy", "The request collided with others too often; try again."),
    ("57014", 503, "timeout", "The request took too long."),
    ("08", 503, "database_unavailable", "The database is not reachable right now."),
    ("57P", 503, "database_unavailable", "The database is restarting or shutting down."),
    ("53", 503, "database_unavailable", "The database is out of resources right now."),
]


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def connection_lost(exc: BaseException) -> bool:
    """Whether the database went away (server down, restarting, connection broken, no connection to be
    had from the pool), as opposed to refusing this request."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    return state == "" or state.startswith(("08", "57P"))


def from_database(exc: psycopg.Error, authenticated: bool) -> ApiError:
    """Translate a database error; anything unexpected becomes a 500 that says nothing of the SQL."""
    state = exc.sqlstate or ""
    diag = exc.diag
    known = _from_diagnostics(state, diag.message_primary, diag.message_detail, diag.message_hint,
                              diag.constraint_name, diag.column_name, authenticated)
    if known is not None:
        return known
    if isinstance(exc, psycopg.OperationalError) and not state:
        return ApiError(503, "database_unavailable", "The database is not reachable right now.")
    log.error("unexpected database error %s: %s", state, exc)
    return internal_error()


def from_returned(error: dict[str, Any]) -> ApiError:
    """A client error auth.call_api returned instead of raising, so that the rate limit's count of the
    request committed (db.Result.error): the same answer as had it been raised."""
    known = _from_diagnostics(error.get("sqlstate") or "", error.get("message"), error.get("detail"),
                              error.get("hint"), error.get("constraint"), error.get("column"), True)
    if known is None:
        log.error("unexpected returned database error %s", error.get("sqlstate"))
        return internal_error()
    return known


def _from_diagnostics(state: str, message: str | None, detail: str | None, hint: str | None,
                      constraint: str | None, column: str | None, authenticated: bool) -> ApiError | None:
    if len(state) == 5 and state.startswith("PT") and state[2:].isdigit():
        code = message or "error"
        status, details = int(state[2:]), _json_object(detail)
        headers = {}
        if 300 <= status < 400:  # a redirect: PT301 with details.location, a path of this API
            location = details.get("location")
            if not (isinstance(location, str) and location.startswith("/") and not location.startswith("//")):
                log.error("redirect %s without a local details.location", state)
                return internal_error()
            headers["Location"] = location
        return ApiError(status, code, hint or code.replace("_", " "), details, headers)
    if state == "42501":
        if authenticated:
            return ApiError(403, "forbidden", "You are not allowed to do this.")
        return ApiError(401, "unauthorized", "Sign in to do this.")
    for prefix, status, code, text in _SQLSTATES:
        if state.startswith(prefix):
            details: dict[str, Any] = {}
            if constraint:
                details["constraint"] = constraint
            if column:
                details["fields"] = {column: text}
            return ApiError(status, code, text, details)
    return None


def internal_error() -> ApiError:
    return ApiError(500, "internal_error", "Something went wrong on our side; the request id identifies it.")


def from_http(exc: web.HTTPException) -> ApiError:
    """aiohttp's own refusals (404, 405, 413, ...) in our shape."""
    codes = {
        404: ("not_found", "No such resource."),
        405: ("method_not_allowed", "This resource does not accept that method."),
        413: ("payload_too_large", "The request body is too large."),
        415: ("unsupported_media_type", "Send JSON (Content-Type: application/json)."),
    }
    code, message = codes.get(exc.status, (exc.reason.lower().replace(" ", "_"), exc.reason))
    details: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if exc.status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
        details["allowed"] = sorted(exc.allowed_methods)
        headers["Allow"] = ", ".join(details["allowed"])
    return ApiError(exc.status, code, message, details, headers)
