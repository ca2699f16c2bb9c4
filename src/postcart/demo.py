"""Demo data for `postcart up`: the generated catalog (shop.load_demo_catalog) plus two logins."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from .auth.passwords import check_policy, hash_password


@dataclass(frozen=True)
class DemoLogin:
    kind: str
    email: str
    password: str  # demo only: printed by `postcart up` so a new user can sign in
    full_name: str


CUSTOMER = DemoLogin("customer", "demo@postcart.dev", "demo-customer-pass", "Dana Demo")
STAFF = DemoLogin("staff admin", "admin@postcart.dev", "demo-admin-pass", "Alex Admin")
STAFF_ROLES = ["store_admin", "catalog_manager", "inventory_manager", "order_manager", "support_agent"]


def load(admin_url: str) -> int:
    """Create the demo store unless it exists. Returns how many products were created (0 the next time)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        created = conn.execute("SELECT shop.load_demo_catalog()").fetchone()[0]  # type: ignore[index]
        for login in (CUSTOMER, STAFF):
            if conn.execute("SELECT 1 FROM auth.accounts WHERE email = %s", [login.email]).fetchone():
                continue
            if login is CUSTOMER:
                conn.execute("SELECT api.register(%s, %s)", [
                    Jsonb({"email": login.email, "full_name": login.full_name}),
                    Jsonb({"password_hash": hash_password(login.password)}),
                ])
            else:
                create_staff(conn, login.email, login.password, login.full_name, STAFF_ROLES)
    return int(created)


def present(admin_url: str) -> list[DemoLogin]:
    """The demo logins that exist in this database, to remind the user of them."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = {row[0] for row in conn.execute("SELECT email::text FROM auth.accounts WHERE email = ANY(%s)",
                                                 [[CUSTOMER.email, STAFF.email]])}
    return [login for login in (CUSTOMER, STAFF) if login.email in found]


def quiet_parameters(conn: psycopg.Connection) -> None:
    """Keep this admin session's bind parameters (a hash) out of PostgreSQL's log, as the authenticator's
    are; a superuser setting, so a non-superuser admin relies on the server's own configuration."""
    if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:  # type: ignore[index]
        conn.execute("SET log_parameter_max_length = 0")
        conn.execute("SET log_parameter_max_length_on_error = 0")


def create_staff(conn: psycopg.Connection, email: str, password: str, full_name: str, roles: list[str]) -> dict:
    """A staff account with permission roles. The policy is checked and the password hashed here
    (PasswordProblem when it may not be used); the database receives only the hash."""
    password_hash = hash_password(check_policy(password, email))
    quiet_parameters(conn)
    row = conn.execute(
        "SELECT auth.create_staff(%s, %s, %s, %s)", [email, password_hash, full_name, roles],
    ).fetchone()
    return row[0]  # type: ignore[index]
