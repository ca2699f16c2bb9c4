"""OpenAPI 3.1 from the route table, the pydantic shapes and the api functions' COMMENT text."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from .inputs import prefixed_fields
from .routes import Route
from .schemas import ErrorResponse

_REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "Malformed request (bad JSON, bad parameter)",
    "401": "Missing, invalid or revoked token",
    "403": "Signed in but not allowed",
    "404": "Unknown resource",
    "409": "Conflicts with the current state",
    "422": "Validation failed; details name the fields",
    "503": "Database unavailable or too busy; retry",
}
_RATE_LIMITED = ("Too many requests from this client (rate_limited; too_many_attempts on login): retry after "
                 "Retry-After seconds. By default the auth and checkout routes are limited.")


def _models(routes: tuple[Route, ...]) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"ErrorResponse": ErrorResponse}
    for route in routes:
        for model in (route.request, route.response):
            if model is not None:
                seen[model.__name__] = model
    return list(seen.values())


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", route.path)]
    if route.query is not None:
        schema = route.query.model_json_schema()
        families = prefixed_fields(route.query)
        for name, prop in schema.get("properties", {}).items():
            if name in families:  # a family of parameters named <name>.<member>, each a repeatable string
                params.append({"name": f"{name}.<name>", "in": "query", "required": False,
                               "description": prop.get("description", ""),
                               "schema": {"type": "array", "items": {"type": "string"}},
                               "style": "form", "explode": True})
                continue
            params.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                           "description": prop.get("description", ""), "schema": prop})
    return params


def _calls(route: Route) -> str:
    if route.step is not None:  # a preparation derives the server's values (hashes, re-authentication)
        return f"Calls `api.{route.function}(args jsonb, derived jsonb)`; secrets stay in the HTTP layer."
    return f"Calls `api.{route.function}(jsonb)`."


def _operation(route: Route, comments: dict[str, str]) -> dict[str, Any]:
    # The route table gives the one-line summary; the function's COMMENT, the rules it enforces.
    comment = comments.get(route.function or "", "")
    op: dict[str, Any] = {
        "operationId": route.function or route.step,
        "tags": [route.tag],
        "summary": route.summary,
        "description": (comment.strip() + "\n\n" if comment.strip() else "")
        + (_calls(route) if route.function else "Handled by the HTTP layer."),
        "parameters": _parameters(route),
        "responses": {},
    }
    if route.consumes == "text/csv":
        op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    elif route.request is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": _REF.format(model=route.request.__name__)}}}}
    ok: dict[str, Any] = {"description": "Success"}
    if route.produces == "text/csv":
        ok["content"] = {"text/csv": {"schema": {"type": "string"}}}
    elif route.response is not None and route.status != 204:
        ok["content"] = {"application/json": {"schema": {"$ref": _REF.format(model=route.response.__name__)}}}
        if route.csv_export:
            ok["content"]["text/csv"] = {"schema": {"type": "string"}}
    op["responses"][str(route.status)] = ok
    if route.cacheable:
        op["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
    for status, description in _ERRORS.items():
        op["responses"][status] = {"description": description, "content": {"application/json": {
            "schema": {"$ref": _REF.format(model="ErrorResponse")}}}}
    if route.tag != "service":
        # Any route's function may be named by a rate limit rule (docs/rate-limits.md), not only the defaults'.
        op["responses"]["429"] = {
            "description": _RATE_LIMITED,
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorResponse")}}},
        }
    if route.auth == "required":
        op["security"] = [{"bearer": []}]
    elif route.auth == "optional":
        op["security"] = [{}, {"bearer": []}]
    if route.step == "cart_token":  # a guest cart's routes (see http/carts.py)
        op["parameters"].append({"name": "X-Cart-Token", "in": "header", "required": False,
                                 "description": "A guest cart's cart_token (a customer's cart needs none)",
                                 "schema": {"type": "string", "maxLength": 200}})
    if route.method == "POST" and route.function:
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                 "description": "Replays the first response for the same key and body",
                                 "schema": {"type": "string", "maxLength": 255}})
    return op


def document(routes: tuple[Route, ...], comments: dict[str, str]) -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "validation") for m in _models(routes)], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, comments)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "postcart",
            "version": __version__,
            "description": "Headless commerce API. Errors are {\"error\": {code, message, details}}; "
                           "money is {amount (minor units), currency}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
