"""The `postcart` command."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import socket
import ssl
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from . import __version__
from .db import AUTHENTICATOR, Database, locate, secret_key, with_user
from .embedded import SUPERUSER, EmbeddedCluster, EmbeddedError
from .settings import Settings, SettingsError, load_settings

log = logging.getLogger("postcart")
FIRST_MIGRATION = "0001_roles_and_schemas"


def _setup_logging(level: str) -> None:
    from .http.context import RequestIdFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(level)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(data_dir=getattr(args, "data_dir", None), tls_cert=getattr(args, "tls_cert", None),
                         tls_key=getattr(args, "tls_key", None))


def _migrate(settings: Settings, database: Database) -> list[str]:
    from .migrate import migrate

    password = settings.authenticator_password.get_secret_value() if settings.authenticator_password else None
    applied = migrate(database.admin_url, password)
    log.info("migrations: %s", ", ".join(applied) if applied else "up to date")
    return applied


def _tls(settings: Settings) -> ssl.SSLContext | None:
    """The HTTPS context when a certificate is set; read before anything starts, so a bad file stops us."""
    from .tls import server_context

    return server_context(settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None


def _base_url(args: argparse.Namespace, context: ssl.SSLContext | None) -> str:
    return f"{'https' if context else 'http'}://{args.host}:{args.port}"


def _serve(settings: Settings, database: Database, secret: str, args: argparse.Namespace, banner: list[str],
           context: ssl.SSLContext | None, with_worker: bool = False) -> int:
    """Serve; with_worker: the background worker runs too, in the first process only (one is enough)."""
    from aiohttp import web

    from .http.app import make_app, serve
    from .integrations.payments import card
    from .workers.mail import MailOptions
    from .workers.service import beside
    from .workers.webhooks import SenderOptions

    def app(index: int) -> web.Application:
        application = make_app(settings, database.app_url, secret)
        if with_worker and index == 0:
            application.cleanup_ctx.append(beside(database.app_url, settings.statement_timeout,
                                                  SenderOptions.from_settings(settings, secret),
                                                  MailOptions.from_settings(settings, secret),
                                                  card.configured(settings)))
        return application

    return serve(app, args.host, args.port, args.workers, lambda: print("\n".join(banner), flush=True), context)


def _check_port(host: str, port: int) -> None:
    """Fail with one line before anything starts (the database, migrations, the banner) when the server
    could not listen on host:port, e.g. because the port is taken. Binds and closes a test socket per
    address, with the options the server itself uses."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise SettingsError(f"port {port} is already in use on {host}: stop what listens there "
                                        "or choose another port (--port N; make run PORT=N)") from None
                raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def _product_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of products (1 to 10000000)")
    return int(text)


def _masked(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", ":***@", 1)))


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _check_port(args.host, args.port)
    secret = secret_key(settings)  # a missing key stops us before anything starts
    context = _tls(settings)
    base = _base_url(args, context)
    database = locate(settings, start=True)
    try:
        first_start = FIRST_MIGRATION in _migrate(settings, database)
        lines = [f"postcart {__version__} serving on {base}",
                 f"  API docs:  {base}/docs",
                 f"  OpenAPI:   {base}/openapi.json",
                 f"  psql:      psql \"{_masked(database.admin_url)}\""]
        from . import demo

        # Only on the start that created the schema: demo logins with published passwords must never
        # appear later in a store that began with --no-demo.
        if first_start and not args.no_demo:
            lines.append(f"  demo store: {demo.load(database.admin_url)} products created")
        for login in demo.present(database.admin_url):
            lines.append(f"  demo {login.kind} login: {login.email} / {login.password}")
        if not settings.run_worker:
            lines.append("  background worker: off (POSTCART_RUN_WORKER=0); run `postcart worker`")
        status = _serve(settings, database, secret, args, lines, context, with_worker=settings.run_worker)
    finally:
        if database.cluster is not None:
            database.cluster.stop()
            print("embedded PostgreSQL stopped", flush=True)
    return status


def cmd_down(args: argparse.Namespace) -> int:
    settings = _settings(args)
    cluster = EmbeddedCluster(settings.data_dir, require_tls=settings.db_require_tls)
    print("stopped" if cluster.stop() else f"not running ({cluster.data_dir})")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _migrate(settings, locate(settings, start=True))
    return 0


def _running(database: Database) -> Database:
    """The database, unless it is the embedded cluster and that is not running (then a one-line error)."""
    if database.cluster is not None and not database.cluster.running():
        raise SettingsError(f"the embedded PostgreSQL in {database.cluster.data_dir} is not running: use `postcart up`")
    return database


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _check_port(args.host, args.port)
    secret = secret_key(settings)
    context = _tls(settings)
    database = _running(locate(settings, start=False))
    return _serve(settings, database, secret, args, [f"postcart serving on {_base_url(args, context)}"], context)


def cmd_worker(args: argparse.Namespace) -> int:
    from .integrations.payments import card
    from .workers.mail import MailOptions
    from .workers.service import run_alone
    from .workers.webhooks import SenderOptions

    settings = _settings(args)
    database = _running(locate(settings, start=False))
    # The key the web app has: webhook secrets are derived from it (docs/webhooks.md).
    secret = secret_key(settings)
    webhooks = SenderOptions.from_settings(settings, secret)
    return run_alone(database.app_url, settings.statement_timeout, webhooks, once=args.once,
                     mail=MailOptions.from_settings(settings, secret), card=card.configured(settings))


def cmd_status(args: argparse.Namespace) -> int:
    from .migrate import pending

    settings = _settings(args)
    database = locate(settings, start=False)
    if database.cluster is not None and not database.cluster.running():
        print(f"embedded PostgreSQL in {database.cluster.data_dir}: not running")
        return 1
    applied, todo = pending(database.admin_url)
    for mid in applied:
        print(f"applied  {mid}")
    for mid in todo:
        print(f"pending  {mid}")
    print(f"{len(applied)} applied, {len(todo)} pending")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    """Generate a load-test catalog in the running store's database (embedded or DATABASE_URL)."""
    import time

    settings = _settings(args)
    database = locate(settings, start=False)
    if database.cluster is not None and not database.cluster.running():
        print(f"postcart: embedded PostgreSQL in {database.cluster.data_dir} is not running: `postcart up` first",
              file=sys.stderr)
        return 1
    started = time.monotonic()
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SET LOCAL ROLE postcart_owner")
            added = conn.execute("SELECT shop.seed_catalog(%s)", [args.products]).fetchone()[0]  # type: ignore[index]
        conn.execute("ANALYZE shop.products, shop.product_variants, shop.variant_prices, shop.stock_levels")
    print(f"seeded {added} products ({3 * added} variants) in {time.monotonic() - started:.1f} s")
    return 0


def cmd_db_url(args: argparse.Namespace) -> int:
    settings = _settings(args)
    database = locate(settings, start=False)
    users = {"admin": SUPERUSER, "app": AUTHENTICATOR, "analyst": "postcart_analyst", "dba": "postcart_dba"}
    if args.tcp:
        if database.cluster is None:
            raise SettingsError("--tcp is for the embedded PostgreSQL; DATABASE_URL is already a URL")
        print(database.cluster.tcp_url(user=users[args.role]))
    elif args.role == "admin":
        print(database.admin_url)
    elif args.role == "app":
        print(database.app_url)
    else:
        print(with_user(database.admin_url, users[args.role], None))
    return 0


def cmd_create_staff(args: argparse.Namespace) -> int:
    from .auth.passwords import PasswordProblem
    from .demo import create_staff

    settings = _settings(args)
    database = locate(settings, start=False)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        try:
            result = create_staff(conn, args.email, args.password, args.full_name, roles)
        except PasswordProblem as exc:
            print(f"postcart: {exc.code}: the password {exc.reason}", file=sys.stderr)
            return 1
        except psycopg.Error as exc:
            hint = exc.diag.message_hint or ""
            print(f"postcart: {exc.diag.message_primary}: {hint}".rstrip(": "), file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2))
    return 0


def cmd_reencrypt_secrets(args: argparse.Namespace) -> int:
    """Seal every TOTP secret under the current POSTCART_SECRET_KEY: plain ones from before migration 0037 and
    those sealed under POSTCART_SECRET_KEY_PREVIOUS (docs/privacy.md). Safe to repeat and to run while serving."""
    from .auth.sealing import Unreadable, keyring

    settings = _settings(args)
    database = locate(settings, start=False)
    previous = settings.secret_key_previous
    ring = keyring(secret_key(settings), previous.get_secret_value() if previous else None)
    resealed, unreadable = 0, []
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT id, totp_secret FROM auth.accounts WHERE totp_secret IS NOT NULL").fetchall()
        for account_id, stored in rows:
            try:
                plain, stale = ring.open(stored, str(account_id))
            except Unreadable:
                unreadable.append(str(account_id))
                continue
            if stale:
                row = conn.execute("SELECT auth.replace_totp_secret(%s, %s, %s)",
                                   [account_id, stored, ring.seal(plain, str(account_id))]).fetchone()
                resealed += bool(row and row[0])
    print(f"re-sealed {resealed} of {len(rows)} TOTP secrets")
    if unreadable:
        print(f"postcart: {len(unreadable)} secrets open under no configured key (accounts: "
              f"{', '.join(unreadable)}); set POSTCART_SECRET_KEY_PREVIOUS to the key that sealed them",
              file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="postcart",
        description="postcart: a headless commerce backend in which PostgreSQL is the application. "
        "Without DATABASE_URL every command uses the embedded PostgreSQL under --data-dir.",
    )
    p.add_argument("--version", action="version", version=f"postcart {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help, description=help)
        c.add_argument("--data-dir", type=Path, default=None,
                       help="where the embedded PostgreSQL lives (default: $POSTCART_DATA_DIR or ./.postcart)")
        c.set_defaults(func=func)
        return c

    def listen(c: argparse.ArgumentParser) -> None:
        c.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        c.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")
        c.add_argument("--workers", type=int, default=1, choices=range(1, 65), metavar="N",
                       help="processes sharing the port, each with its own pool of POSTCART_POOL_SIZE (default 1)")
        c.add_argument("--tls-cert", type=Path, default=None, metavar="PEM",
                       help="serve HTTPS with this certificate chain (default $POSTCART_TLS_CERT)")
        c.add_argument("--tls-key", type=Path, default=None, metavar="PEM",
                       help="the certificate's private key (default $POSTCART_TLS_KEY)")

    up = command("up", cmd_up, "Start (or reuse) the database, migrate, load demo data once, and serve; "
                 "Ctrl-C drains requests and stops everything.")
    listen(up)
    up.add_argument("--no-demo", action="store_true", help="do not load the demo store and logins")
    command("down", cmd_down, "Stop an embedded PostgreSQL left running.")
    command("migrate", cmd_migrate, "Apply pending migrations, then every file under sql/.")
    listen(command("serve", cmd_serve, "Serve the API without migrating (production, with DATABASE_URL)."))
    worker = command("worker", cmd_worker, "Run the background worker alone (outgoing webhooks, sweeps of "
                     "expired sessions, carts, unpaid orders, ...) until SIGTERM or Ctrl-C.")
    worker.add_argument("--once", action="store_true",
                        help="run every task until it has nothing left to do, then exit (1 if one failed)")
    command("status", cmd_status, "List applied and pending migrations.")
    url = command("db-url", cmd_db_url, "Print a libpq URL that psql accepts.")
    url.add_argument("--role", choices=["admin", "analyst", "dba", "app"], default="admin",
                     help="connect as the admin (default), postcart_analyst, postcart_dba or the app's role")
    url.add_argument("--tcp", action="store_true",
                     help="embedded only: over TCP on 127.0.0.1 (a BI tool; the role needs a password), "
                     "verifying the server's certificate when POSTCART_DB_REQUIRE_TLS is on")
    seed = command("seed", cmd_seed, "Add a generated catalog for load tests (published products, variants, "
                   "prices, stock).")
    seed.add_argument("--products", type=_product_count, default=100_000,
                      help="how many products to add, 1 to 10000000 (default 100000)")
    staff = command("create-staff", cmd_create_staff, "Create a staff account with permission roles.")
    staff.add_argument("--email", required=True)
    staff.add_argument("--password", required=True,
                       help="10 to 1024 characters, not the email; hashed here, only the hash is stored")
    staff.add_argument("--full-name", required=True)
    staff.add_argument("--roles", required=True,
                       help="comma-separated: catalog_manager, inventory_manager, order_manager, support_agent, "
                       "store_admin")
    command("reencrypt-secrets", cmd_reencrypt_secrets, "Seal every stored TOTP secret under the current "
            "POSTCART_SECRET_KEY (after a key rotation, with the old key as POSTCART_SECRET_KEY_PREVIOUS).")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = _settings(args)
        _setup_logging(settings.log_level)
        return int(args.func(args))
    except (SettingsError, EmbeddedError) as exc:
        print(f"postcart: {exc}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:
        print(f"postcart: cannot reach the database: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
