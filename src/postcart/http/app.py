"""The aiohttp application: middlewares, the generic route handler, and the service routes."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from psycopg import sql

from .. import db
from ..auth.tokens import TokenError, read_access_token
from ..migrate import migration_ids
from ..settings import Settings
from . import (
    carriers, carts, catalog_cache, dashboard, database, explorer, headers, lowlevel, mail, openapi, payments,
    search_events, sessions, tax, webhooks,
)
from .client_ip import client_ip
from .context import CALLER, CONTEXT, IDEMPOTENCY, RESPONSE_FIELDS, Context, request_id_var
from .errors import ApiError, from_database, from_http, internal_error
from .inputs import bearer_token, read_body, read_csv_body, read_query, wants_csv
from .routes import ROUTES, Route

log = logging.getLogger("postcart.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_NO_BODY_STATUSES = {204, 304}


# -- middlewares ----------------------------------------------------------------------------------
@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Accept a sane X-Request-Id or make one; echo it; every log line of the request carries it."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    request["request_id"] = request_id
    token = request_id_var.set(request_id)
    try:
        response = await handler(request)
    finally:
        request_id_var.reset(token)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as {"error": {...}}; unexpected ones are logged and say nothing inside."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return from_http(exc).response()
    except psycopg.Error as exc:  # database.py has already noted a lost connection
        return from_database(exc, "Authorization" in request.headers).response()
    except Exception:  # noqa: BLE001 - the last line of defence: log it, answer 500
        log.exception("unhandled error on %s %s", request.method, request.path)
        return internal_error().response()


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, bytes, milliseconds, request id."""

    @property
    def enabled(self) -> bool:
        # Below INFO aiohttp then neither times the request nor builds a line nobody writes.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # A token in the query (the one-click unsubscribe link) is a credential: never written out.
        target = str(request.rel_url.update_query(token="-")) if "token" in request.query else request.path_qs
        self.logger.info(
            '%s "%s %s" %s %s %.1fms', request.remote, request.method, target,
            response.status, response.body_length, time * 1000,
            extra={"request_id": request.get("request_id", "-")},
        )


# -- the caller and the arguments ----------------------------------------------------------------
def caller_of(request: web.Request, secret: str) -> db.Caller:
    """The session the access token names; the database derives the role and claims from it."""
    token = bearer_token(request)
    request_id = request.get("request_id", "")
    keys = limit_keys(request)
    if token is None:
        return db.Caller(request_id=request_id, limit_keys=keys)
    try:
        claims = read_access_token(secret, token)
    except TokenError:
        raise ApiError(401, "invalid_token", "The access token is invalid or expired.") from None
    return db.Caller(session_id=claims["sid"], request_id=request_id, limit_keys=keys)


def limit_keys(request: web.Request) -> dict[str, str] | None:
    """What the database's rate limits count this client by (db.Caller.limit_keys); None when they are off."""
    settings = request.app[CONTEXT].settings
    if not settings.rate_limits:
        return None
    ip = client_ip(request, settings.trusted_proxy_networks)
    return {} if ip is None else {"ip": ip}


def fingerprint(secret: str, request: web.Request, args: dict[str, Any]) -> bytes:
    """A keyed hash of the client's request, so a stored fingerprint reveals nothing of the body (which may
    hold a password) to whoever reads the database."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"))
    message = f"{request.method} {request.path}\n{canonical}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def anonymous_scope(request: web.Request, request_fingerprint: bytes) -> str:
    """Whose Idempotency-Key this is when nobody is signed in: the guest cart's token holder, or else the
    exact request (the same key with another body is then simply another key, never someone else's)."""
    cart_token = carts.header_token_sha256(request)
    if cart_token:
        return "cart:" + cart_token
    return "request:" + request_fingerprint.hex()


def idempotency_of(request: web.Request, route: Route, args: dict[str, Any]) -> db.Idempotency | None:
    """The request's Idempotency-Key record (POST only), or None."""
    key = request.headers.get("Idempotency-Key")
    if key is None or request.method != "POST":
        return None
    digest = fingerprint(request.app[CONTEXT].secret, request, args)
    return db.Idempotency(key, digest, anonymous_scope(request, digest), route.status)


# -- responses ------------------------------------------------------------------------------------
def json_response(request: web.Request, route: Route, status: int, body: str | None,
                  caller: db.Caller, as_csv: bool = False) -> web.Response:
    if status in _NO_BODY_STATUSES:
        return web.Response(status=status)
    if as_csv and status == 200:  # the function returned the CSV text as a JSON string
        return web.Response(text=json.loads(body or '""'), status=status, content_type="text/csv", charset="utf-8")
    text = body if body is not None else "null"
    response = web.Response(text=text, status=status, content_type="application/json")
    if route.cacheable and status == 200:  # signed-in catalog reads (anonymous ones: anonymous_catalog_read)
        etag = 'W/"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        response.headers.update(headers)
    return response


Step = Callable[[web.Request, dict[str, Any]], Awaitable[tuple[int, Any]]]
# A preparation turns the client's arguments into (what the function may see of them, what the server
# derived): secrets are taken out of the first and only their hashes go in the second.
Prepare = Callable[[web.Request, dict[str, Any], db.Caller],
                   Awaitable[tuple[dict[str, Any], dict[str, Any] | None]]]
# Routes without a function are handled whole in Python; with one, the step prepares its arguments.
STEPS: dict[str, Step] = {"login": sessions.login, "refresh": sessions.refresh, "totp_setup": sessions.totp_setup,
                          "create_payment": payments.create_payment, "card_webhook": payments.card_webhook,
                          "admin_refund": payments.admin_refund,
                          "shipping_rates": carriers.shipping_rates, "create_fulfillment": carriers.create_fulfillment,
                          "retry_label": carriers.retry_label, "carrier_webhook": carriers.carrier_webhook}
PREPARES: dict[str, Prepare] = {
    "register": sessions.prepare_register,
    "create_staff": sessions.prepare_create_staff,
    "enable_totp": sessions.prepare_enable_totp,
    "disable_totp": sessions.prepare_disable_totp,
    "delete_me": sessions.prepare_delete_me,
    "staff_invitation": sessions.prepare_staff_invitation,
    "cart_token": carts.prepare_cart_token,
    "new_cart": carts.prepare_new_cart,
    "webhook_secret": webhooks.prepare_webhook_secret,
    "checkout": tax.prepare_checkout,
    "password_reset": mail.prepare_password_reset,
    "email_verification": mail.prepare_email_verification,
}


def with_response_fields(request: web.Request, body: str | None) -> str | None:
    """The function's JSON object plus the members the preparation added (RESPONSE_FIELDS: a secret made
    in Python, never stored, such as a guest cart's token; or a function of the answer giving them, such
    as a webhook's secret derived from its id), also on a replay."""
    fields = request.get(RESPONSE_FIELDS)
    if not fields or body is None:
        return body
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        return body
    added = fields(parsed) if callable(fields) else fields
    return json.dumps({**parsed, **added}) if added else body


async def anonymous_catalog_read(request: web.Request, route: Route, args: dict[str, Any],
                                 caller: db.Caller) -> web.Response:
    """Anonymous catalog GETs: revalidated against the catalog version, served from memory while it holds
    (see catalog_cache.py). Browsers and proxies may store the answer but must revalidate (no-cache): a
    304 costs one version query and no catalog query."""
    assert route.function is not None
    ctx = request.app[CONTEXT]
    version = await database.catalog_version(ctx)
    key = catalog_cache.key("GET", request.path_qs)
    headers = {"ETag": catalog_cache.etag(version, key), "Cache-Control": "public, no-cache", "Vary": "Authorization"}
    entry = ctx.catalog_cache.get(key, version)
    if headers["ETag"] in request.headers.get("If-None-Match", ""):
        if entry is not None:  # a search the browser repeated is still a search
            note_search(request, route, args, entry.status, entry.body, caller)
        return web.Response(status=304, headers=headers)
    if entry is None:
        result = await database.call(ctx, route.function, args, caller, None, None)
        entry = catalog_cache.Entry(version, result.status or route.status, result.body or "null")
        ctx.catalog_cache.put(key, entry)
    note_search(request, route, args, entry.status, entry.body, caller)
    return web.Response(text=entry.body, status=entry.status, content_type="application/json", headers=headers)


def note_search(request: web.Request, route: Route, args: dict[str, Any], status: int, body: str | None,
                caller: db.Caller) -> None:
    """Product searches are recorded by the server, whoever asked and wherever the answer came from
    (search_events.py): the request only appends to a buffer."""
    if route.function == "list_products" and body is not None:
        request.app[search_events.SEARCHES].note(request.app[CONTEXT], args, status, body,
                                                 request.headers.get(search_events.SESSION_HEADER),
                                                 caller.session_id)


def handler_for(route: Route) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        caller = caller_of(request, ctx.secret)
        query = read_query(request, route.query)
        if route.consumes == "text/csv":
            body = await read_csv_body(request, ctx.settings.max_csv_bytes)
        else:
            body = await read_body(request)
        if route.function is None:
            assert route.step is not None
            if route.auth == "required" and caller.session_id is None:  # no database call to refuse it
                raise ApiError(401, "unauthorized", "Sign in to do this.")
            request[CALLER] = caller
            request[IDEMPOTENCY] = idempotency_of(request, route, {**body, **request.match_info})
            status, result = await STEPS[route.step](request, body)
            return web.json_response(result, status=status)
        args = {**query, **body, **request.match_info}
        as_csv = route.produces == "text/csv" or (route.csv_export and wants_csv(request, query))
        if as_csv and route.csv_export:
            args["format"] = "csv"
        if route.cacheable and caller.session_id is None:
            return await anonymous_catalog_read(request, route, args, caller)
        idempotency = idempotency_of(request, route, args)
        derived = None
        if route.step is not None:
            request[IDEMPOTENCY] = idempotency
            args, derived = await PREPARES[route.step](request, args, caller)
        result = await database.call(ctx, route.function, args, caller, idempotency, derived)
        body = with_response_fields(request, result.body)
        note_search(request, route, args, result.status or route.status, body, caller)
        response = json_response(request, route, result.status or route.status, body, caller, as_csv)
        if result.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    return handle


# -- service routes --------------------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        applied = await database.as_authenticator(
            ctx, sql.SQL("SELECT array_agg(migration_id) FROM public._yoyo_migration"), [])
    except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege):
        applied = []  # never migrated
    except psycopg.Error as exc:
        log.warning("not ready: %s", exc.sqlstate or exc.__class__.__name__)
        raise ApiError(503, "database_unavailable", "The database does not answer.") from None
    pending = [m for m in ctx.migration_ids if m not in set(applied or [])]
    if pending:
        raise ApiError(503, "migrations_pending", "The database schema is behind the code; run `postcart migrate`.",
                       {"pending": pending})
    return web.json_response({"status": "ready"})


async def openapi_json(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    if ctx.openapi is None:
        ctx.openapi = json.dumps(openapi.document(ROUTES, ctx.comments)).encode()
    return web.Response(body=ctx.openapi, content_type="application/json")


_COMMENTS = sql.SQL("""
    SELECT p.proname, obj_description(p.oid, 'pg_proc')
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'api'
""")


async def _on_startup(app: web.Application) -> None:
    ctx = app[CONTEXT]
    await ctx.pool.open(wait=False)
    try:
        async with ctx.pool.connection(timeout=10) as conn:
            rows = await (await conn.execute(_COMMENTS)).fetchall()
        ctx.comments = {name: text for name, text in rows if text}
    except Exception as exc:  # noqa: BLE001 - the app starts anyway; /ready reports the database
        log.warning("could not read api comments at startup: %s", exc)


async def _on_cleanup(app: web.Application) -> None:
    await app[search_events.SEARCHES].close(app[CONTEXT])
    await app[CONTEXT].pool.close()


def make_app(settings: Settings, app_url: str, secret: str) -> web.Application:
    lowlevel.install()
    middlewares = [request_id_middleware, error_middleware]
    if settings.cors_origin_set:
        # Outside the error middleware, so refusals carry CORS headers too and browsers can read them.
        middlewares.insert(1, headers.cors_middleware(settings.cors_origin_set, settings.cors_allow_credentials))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app.on_response_prepare.append(headers.on_prepare)
    pool = db.open_pool(app_url, settings.pool_size, settings.statement_timeout, settings.pool_timeout)
    app[CONTEXT] = Context(settings=settings, secret=secret, app_url=app_url, pool=pool,
                           migration_ids=migration_ids())
    app[search_events.SEARCHES] = search_events.SearchRecorder()
    service = {"health": health, "ready": ready, "unsubscribe": mail.unsubscribe}
    for route in ROUTES:
        handle = service[route.step] if route.step in service else handler_for(route)
        if route.method == "GET":
            app.router.add_get(route.path, handle)  # HEAD too
        else:
            app.router.add_route(route.method, route.path, handle)
    app.router.add_get("/openapi.json", openapi_json)
    payments.install(app, settings)
    carriers.install(app, settings)
    tax.install(app, settings)
    explorer.add_routes(app)
    dashboard.add_routes(app)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    return app


def serve(make_app: Callable[[int], web.Application], host: str, port: int, workers: int = 1,
          print_banner: Callable[[], None] | None = None, tls: ssl.SSLContext | None = None) -> int:
    """Serve until SIGINT/SIGTERM; in-flight requests get up to 30 s to finish. With workers > 1, that many
    processes share one listening socket (each with its own event loop and pool). make_app gets the
    process's index, 0 to workers - 1. With `tls`, HTTPS. Returns an exit status."""
    if workers == 1:
        _run(make_app(0), host, port, None, print_banner, tls)
        return 0
    sock = socket.create_server((host, port), reuse_port=False, backlog=1024)
    children = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own process group, so only the supervisor's signal reaches it
            os.setpgid(0, 0)
            try:
                _run(make_app(index), host, port, sock, None, tls)
            finally:
                os._exit(0)
        children.append(pid)
    sock.close()
    log.info("%d workers listening on %s://%s:%d", workers, "https" if tls else "http", host, port)
    if print_banner:
        print_banner()
    return _supervise(children)


def _run(app: web.Application, host: str, port: int, sock: socket.socket | None,
         print_banner: Callable[[], None] | None, tls: ssl.SSLContext | None) -> None:
    started = time.monotonic()

    async def banner(_: web.Application) -> None:
        log.info("listening on %s://%s:%d (started in %.1fs)", "https" if tls else "http", host, port,
                 time.monotonic() - started)
        if print_banner:
            print_banner()

    app.on_startup.append(banner)
    where: dict[str, Any] = {"sock": sock} if sock is not None else {"host": host, "port": port}
    web.run_app(app, **where, ssl_context=tls, access_log_class=AccessLogger, print=None, shutdown_timeout=30,
                handle_signals=True)


def _supervise(children: list[int]) -> int:
    """Forward SIGINT/SIGTERM to the workers once and wait for them; a worker that dies on its own stops
    the others too (the service manager restarts the whole)."""
    stopping = False

    def stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    remaining = set(children)
    while remaining:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        remaining.discard(pid)
        if os.waitstatus_to_exitcode(code) != 0 or not stopping:
            status = status or 1
            if not stopping:
                log.error("worker %d exited unexpectedly; stopping the others", pid)
            stop()
    return status
