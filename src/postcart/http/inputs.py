"""What the client sent, read defensively: the bearer token, the query string and the JSON body. Every
refusal is a 4xx in the error envelope, whatever the bytes were (NUL, lone surrogates, deep nesting)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from .errors import ApiError

MAX_DEPTH = 32  # no request of ours nests deeper; a 5,000-deep document must not reach a recursive parser
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def bearer_token(request: web.Request) -> str | None:
    """The access token of `Authorization: Bearer <token>`; None without the header; 401 when malformed."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii() or not token.isprintable():
        raise ApiError(401, "invalid_token", "Send `Authorization: Bearer <access_token>`.")
    return token


def _problem(value: str) -> str | None:
    """Why a client string cannot be stored as text, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode"
    return None


def _check_strings(value: Any, path: str, depth: int, fields: dict[str, str]) -> None:
    if depth > MAX_DEPTH:
        raise ApiError(400, "invalid_json", f"The request body nests deeper than {MAX_DEPTH} levels.",
                       {"fields": {path or "body": f"nests deeper than {MAX_DEPTH} levels"}})
    if isinstance(value, str):
        problem = _problem(value)
        if problem:
            fields.setdefault(path or "body", problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            problem = _problem(key)
            if problem:
                fields.setdefault(path or "body", f"has a member name that {problem.removeprefix('is ')}")
                continue
            _check_strings(item, name, depth + 1, fields)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}.{index}" if path else str(index), depth + 1, fields)


def _refuse_strings(fields: dict[str, str]) -> None:
    if fields:
        raise ApiError(400, "invalid_parameter", "Some values contain characters that cannot be stored.",
                       {"fields": fields})


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object of the body ({} when there is none)."""
    if request.method not in _BODY_METHODS or not request.can_read_body:
        return {}
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", f"The request body nests deeper than {MAX_DEPTH} levels.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    fields: dict[str, str] = {}
    _check_strings(body, "", 1, fields)
    _refuse_strings(fields)
    return body


def prefixed_fields(model: type[BaseModel] | None) -> set[str]:
    """Fields a route takes as a family of parameters `<field>.<name>=<value>`, each repeatable (e.g.
    attr.size=M&attr.size=L); they reach the database as {field: {name: [values]}}."""
    if model is None:
        return set()
    return {name for name, info in model.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("prefixed")}


def read_query(request: web.Request, model: type[BaseModel] | None) -> dict[str, Any]:
    """The query parameters the route declares (the fields of `model`); an unknown or repeated name is
    400, so a typo never silently filters nothing. Path parameters are checked here too."""
    known = set(model.model_fields) if model is not None else set()
    families = prefixed_fields(model)
    fields: dict[str, str] = {}
    query: dict[str, Any] = {}
    for name, value in request.query.items():
        name_problem, value_problem = _problem(name), _problem(value)
        family, _, member = name.partition(".")
        if name_problem:
            fields["query"] = name_problem
        elif value_problem:
            fields[name] = value_problem
        elif family in families and member:
            query.setdefault(family, {}).setdefault(member, []).append(value)
        elif name not in known or name in families:
            fields[name] = "is not a parameter of this route"
        elif name in query:
            fields[name] = "is given more than once"
        else:
            query[name] = value
    if fields:
        raise ApiError(400, "invalid_parameter", "Some query parameters are unknown or invalid.", {"fields": fields})
    path_fields: dict[str, str] = {}
    for name, value in request.match_info.items():
        problem = _problem(value)
        if problem:
            path_fields[name] = problem
    _refuse_strings(path_fields)
    return query


def wants_csv(request: web.Request, query: dict[str, Any]) -> bool:
    """Whether the client asked for CSV: ?format=csv, or an Accept header naming text/csv and not JSON."""
    if "format" in query:
        return query["format"] == "csv"
    accept = request.headers.get("Accept", "").lower()
    return "text/csv" in accept and "application/json" not in accept


async def read_csv_body(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """A text/csv body (RFC 4180, UTF-8) of at most max_bytes as {"rows": [[cell, ...], ...]}, the header
    row first; blank lines are skipped. The cells are strings; what they mean is the database's business."""
    if request.content_type != "text/csv":
        raise ApiError(415, "unsupported_media_type", "Send CSV (Content-Type: text/csv).")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):  # not request.read(): its limit is the JSON one
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "payload_too_large", f"The CSV is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_csv", "The CSV is not valid UTF-8.") from None
    if "\x00" in text:
        raise ApiError(400, "invalid_csv", "The CSV contains NUL characters.")
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    except csv.Error as exc:
        raise ApiError(400, "invalid_csv", f"The CSV is malformed: {exc}.") from None
    return {"rows": rows}
