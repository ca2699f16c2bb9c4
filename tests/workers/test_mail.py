"""The mail sender against a real SMTP server (aiosmtpd on loopback, in a thread of the test): order
confirmations with the order's totals, a reset mail whose link works once against the real API, no
marketing to a customer who opted out, 4xx and 5xx answers retried until accepted, an SMTP server that is
down retried later and nothing lost, .eml files without SMTP, and two workers sending each mail once."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from postcart.integrations.mail import Sender
from postcart.workers import Task, Worker
from postcart.workers.mail import MailOptions
from tests.http.conftest import SECRET, Client, free_port, start_server
from tests.workers.test_webhooks import until

DISPATCH = Task("dispatch_events", "integration.dispatch_events", interval=0.5, wake_on=("integration_events",))
SENDER = Sender(secret=SECRET, mail_from="Test Shop <shop@shop.example>", public_url="https://shop.example",
                api_url="https://api.shop.example")


@dataclass
class Mailbox:
    """What the SMTP server accepted, and how it answers: `refusals` codes (e.g. [451, 550]) to each new
    recipient's first attempts, in order, before it accepts."""

    refusals: list[int] = field(default_factory=list)
    messages: list[EmailMessage] = field(default_factory=list)
    _tries: Counter[str] = field(default_factory=Counter)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        recipient = envelope.rcpt_tos[0]
        self._tries[recipient] += 1
        if self._tries[recipient] <= len(self.refusals):
            code = self.refusals[self._tries[recipient] - 1]
            return f"{code} {'4.3.0 try again later' if code < 500 else '5.2.2 mailbox full'}"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server(port: int | None = None, **kw: Any) -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox(**kw)
    port = port or free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def options(port: int | None, **kw: Any) -> MailOptions:
    base: dict[str, Any] = {"sender": SENDER, "smtp_url": f"smtp://127.0.0.1:{port}" if port else None,
                            "eml_dir": Path("/nonexistent"), "timeout": 5.0, "concurrency": 4, "max_attempts": 5,
                            "backoff_base": 0.05, "backoff_cap": 0.2, "poll_interval": 0.05}
    return MailOptions(**{**base, **kw})


@asynccontextmanager
async def running(app_url: str, opts: MailOptions) -> AsyncIterator[Worker]:
    worker = Worker(app_url, [DISPATCH], mail=opts)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)


@pytest.fixture(autouse=True)
def quiet(admin: psycopg.Connection) -> None:
    """Earlier tests' events and mails are not this test's: dispatched and dead before it starts."""
    admin.execute("UPDATE integration.events SET dispatched_at = now() WHERE dispatched_at IS NULL")
    admin.execute("UPDATE integration.mails SET status = 'dead', next_attempt_at = NULL, locked_until = NULL"
                  " WHERE status = 'pending'")


def mail_row(admin: psycopg.Connection, address: str) -> tuple[Any, ...] | None:
    """(kind, status, attempts, last_error) of the newest mail to address."""
    return admin.execute("SELECT kind, status, attempts, last_error FROM integration.mails WHERE to_email = %s"
                         " ORDER BY created_at DESC LIMIT 1", [address]).fetchone()


def account(admin: psycopg.Connection, consent: bool | None = None) -> tuple[str, str]:
    address = f"mail-{uuid.uuid4().hex[:10]}@example.com"
    row = admin.execute("INSERT INTO auth.accounts (email, full_name, marketing_consent) VALUES (%s, 'Tess Ter', %s)"
                        " RETURNING id", [address, consent]).fetchone()
    return str(row[0]), address


def place_order(admin: psycopg.Connection, address: str) -> int:
    """An order of two lines (2 x 12.50 and 1 x 7.00 SEK, shipping 4.90, tax 6.38 included), emitted as
    checkout does; returns its number."""
    order_id = uuid.uuid4()
    with admin.transaction():
        admin.execute("SET CONSTRAINTS ALL DEFERRED")
        cart = admin.execute("INSERT INTO shop.carts (token_hash, currency, status, order_id) VALUES"
                             " (sha256(%s::text::bytea), 'SEK', 'ordered', %s) RETURNING id",
                             [order_id, order_id]).fetchone()[0]
        for position, (sku, name, qty, unit) in enumerate([("MUG-1", "Mug", 2, 1250), ("TEA-1", "Tea", 1, 700)], 1):
            admin.execute("INSERT INTO shop.order_items (order_id, position, sku, name, quantity, unit_price,"
                          " line_total, tax_class) VALUES (%s, %s, %s, %s, %s, %s, %s, 'standard')",
                          [order_id, position, sku, name, qty, unit, qty * unit])
        number = admin.execute("UPDATE shop.order_numbers SET last_number = last_number + 1 RETURNING last_number"
                               ).fetchone()[0]
        admin.execute(
            "INSERT INTO shop.orders (id, number, cart_id, email, currency, payment_method, prices_include_tax,"
            " subtotal, discount_total, shipping_total, tax_total, total, shipping_address, shipping_method_code,"
            " shipping_method_name) VALUES (%s, %s, %s, %s, 'SEK', 'manual', TRUE, 3200, 0, 490, 638, 3690,"
            " '{\"country\": \"SE\", \"full_name\": \"Tess Ter\"}', 'standard', 'Standard')",
            [order_id, number, cart, address])
        admin.execute("SELECT integration.emit('order.created', %s, jsonb_build_object('order_id', %s::uuid))",
                      [order_id, order_id])
    return int(number)


def abandon_cart(admin: psycopg.Connection, customer: str | None, address: str) -> None:
    cart = admin.execute(
        "INSERT INTO shop.carts (customer_id, token_hash, currency, status, abandoned_at, email) VALUES"
        " (%s, CASE WHEN %s::uuid IS NULL THEN sha256(gen_random_uuid()::text::bytea) END, 'SEK', 'abandoned', now(),"
        " %s) RETURNING id", [customer, customer, address]).fetchone()[0]
    admin.execute("SELECT integration.emit('cart.abandoned', %s, jsonb_build_object('cart_id', %s::uuid, 'email',"
                  " %s::text, 'currency', 'SEK', 'items', jsonb_build_array(jsonb_build_object('name', 'Mug',"
                  " 'quantity', 1, 'unit_price', 1250))))", [cart, cart, address])


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# -- what arrives ----------------------------------------------------------------------------------
def test_an_order_confirmation_arrives_with_the_order_and_its_totals(admin, app_url: str) -> None:
    async def scenario() -> None:
        with smtp_server() as (box, port):
            _, address = account(admin)
            number = place_order(admin, address)
            async with running(app_url, options(port)):
                assert await until(lambda: bool(box.to(address)), 20)
            [message] = box.to(address)
            assert message["Subject"] == f"Your order #{number} at Test Shop"
            assert message["From"] == "Test Shop <shop@shop.example>" and message["Message-ID"].endswith("@shop.example>")
            assert "List-Unsubscribe" not in message  # transactional
            text = text_of(message)
            for line in ("2 x Mug (MUG-1)  25.00 SEK", "1 x Tea (TEA-1)  7.00 SEK", "Subtotal: 32.00 SEK",
                         "Shipping (Standard): 4.90 SEK", "Tax: 6.38 SEK (included)", "Total: 36.90 SEK"):
                assert line in text, (line, text)
            html = message.get_body(("html",))
            assert html is not None and "36.90 SEK" in html.get_content()
            assert mail_row(admin, address)[:3] == ("order_confirmation", "sent", 1)

    asyncio.run(scenario())


def test_a_shipping_notification_names_the_carrier_and_tracking_number(admin, app_url: str) -> None:
    async def scenario() -> None:
        with smtp_server() as (box, port):
            _, address = account(admin)
            number = place_order(admin, address)
            order_id, item = admin.execute(
                "SELECT o.id, i.id FROM shop.orders o JOIN shop.order_items i ON i.order_id = o.id"
                " WHERE o.number = %s AND i.sku = 'TEA-1'", [number]).fetchone()
            admin.execute("SELECT integration.emit('fulfillment.created', gen_random_uuid(), jsonb_build_object("
                          "'order_id', %s::uuid, 'carrier', 'DHL', 'tracking_number', 'JD014600006281',"
                          " 'items', jsonb_build_array(jsonb_build_object('item_id', %s::uuid, 'quantity', 1))))",
                          [order_id, item])
            async with running(app_url, options(port)):
                assert await until(lambda: len(box.to(address)) == 2, 20)
            [shipped] = [m for m in box.to(address) if "shipped" in m["Subject"]]
            text = text_of(shipped)
            assert "Carrier: DHL" in text and "Tracking number: JD014600006281" in text and "1 x Tea" in text, text
            assert "Mug" not in text  # only what this shipment holds

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def api(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """The real API with the worker's key, so the link the worker mails is one the API accepts."""
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET}
    client, proc = start_server(env, tmp_path_factory.mktemp("mail-api") / "server.log")
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_reset_mail_link_works_once_against_the_api(admin, app_url: str, api: Client) -> None:
    address = f"reset-{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/v1/auth/register", {"email": address, "password": "first passphrase!", "full_name": "R"}
                    ).status == 201
    assert api.post("/v1/auth/password-reset", {"email": address}).status == 202

    async def scenario() -> EmailMessage:
        with smtp_server() as (box, port):
            async with running(app_url, options(port)):
                assert await until(lambda: any("Reset" in m["Subject"] for m in box.to(address)), 20)
            return next(m for m in box.to(address) if "Reset" in m["Subject"])

    message = asyncio.run(scenario())
    link = re.search(r"https://shop\.example/reset-password\?token=(\S+)", text_of(message))
    assert link is not None
    token = link.group(1)
    assert token not in str(admin.execute("SELECT array_agg(m) FROM integration.mails m").fetchone()[0])
    first = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "second passphrase!"})
    assert first.status == 204, first.text
    again = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "third passphrase!"})
    assert again.status == 400 and again.error_code == "invalid_token"
    assert api.post("/v1/auth/login", {"email": address, "password": "second passphrase!"}).status == 200


def test_marketing_reaches_consenting_customers_only_and_an_opt_out_in_between_wins(admin, app_url: str) -> None:
    async def scenario() -> None:
        yes_id, yes = account(admin, consent=True)
        later_id, later = account(admin, consent=True)
        never_id, never = account(admin)  # never answered: no marketing by default
        for customer, address in ((yes_id, yes), (later_id, later), (never_id, never)):
            abandon_cart(admin, customer, address)
        # Fan out first (the dispatcher alone), then `later` opts out before the sender runs.
        await Worker(app_url, [DISPATCH]).run(once=True)
        assert mail_row(admin, later)[1] == "pending"
        admin.execute("UPDATE auth.accounts SET marketing_consent = FALSE WHERE id = %s", [later_id])
        with smtp_server() as (box, port):
            async with running(app_url, options(port)):
                assert await until(lambda: bool(box.to(yes)), 20)
                await asyncio.sleep(0.5)
            [reminder] = box.to(yes)
            assert box.to(later) == [] and box.to(never) == []
        assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<https://api\.shop\.example/v1/unsubscribe\?token=\S+>", reminder["List-Unsubscribe"])
        assert "1 x Mug  12.50 SEK" in text_of(reminder)
        assert mail_row(admin, later)[1:] == ("skipped", 0, "no marketing consent at send time")
        assert mail_row(admin, never)[1:] == ("skipped", 0, "no marketing consent at fan-out")

    asyncio.run(scenario())


# -- failures ---------------------------------------------------------------------------------------
def test_4xx_and_5xx_answers_are_retried_until_accepted(admin, app_url: str) -> None:
    async def scenario() -> None:
        with smtp_server(refusals=[451, 550]) as (box, port):
            _, address = account(admin)
            place_order(admin, address)
            async with running(app_url, options(port)):
                assert await until(lambda: bool(box.to(address)), 20)
                await asyncio.sleep(0.3)
            assert len(box.to(address)) == 1
        assert mail_row(admin, address) == ("order_confirmation", "sent", 3, None)

    asyncio.run(scenario())


def test_a_mail_is_dead_after_its_last_attempt(admin, app_url: str) -> None:
    async def scenario() -> None:
        with smtp_server(refusals=[550] * 10) as (box, port):
            _, address = account(admin)
            place_order(admin, address)
            async with running(app_url, options(port, max_attempts=3)):
                assert await until(lambda: (mail_row(admin, address) or ("", ""))[1] == "dead", 20)
            assert box.to(address) == []
        assert mail_row(admin, address)[2:] == (3, "SMTP 550: 5.2.2 mailbox full")

    asyncio.run(scenario())


def test_an_smtp_server_that_is_down_is_retried_later_and_nothing_is_lost(admin, app_url: str) -> None:
    async def scenario() -> None:
        port = free_port()  # nobody listens yet
        _, address = account(admin)
        place_order(admin, address)
        opts = options(port, max_attempts=50, backoff_base=0.1, backoff_cap=0.3)
        async with running(app_url, opts):
            assert await until(lambda: (mail_row(admin, address) or (0, 0, 0))[2] >= 2, 20)
            row = mail_row(admin, address)
            assert row[1] == "pending" and row[3], row  # refused: an error recorded, still pending
            with smtp_server(port) as (box, _):
                assert await until(lambda: bool(box.to(address)), 20)
        assert mail_row(admin, address)[1] == "sent"

    asyncio.run(scenario())


def test_without_smtp_each_message_is_written_as_an_eml_file(admin, app_url: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        _, address = account(admin)
        number = place_order(admin, address)
        async with running(app_url, options(None, eml_dir=tmp_path / "mail")):
            assert await until(lambda: (mail_row(admin, address) or ("", ""))[1] == "sent", 20)
        [path] = list((tmp_path / "mail").glob("*.eml"))
        mail_id = admin.execute("SELECT id FROM integration.mails WHERE to_email = %s", [address]).fetchone()[0]
        assert path.name.endswith(f"-{mail_id}.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["To"] == address and str(number) in message["Subject"]  # type: ignore[operator]

    asyncio.run(scenario())


def test_two_workers_on_one_backlog_send_each_mail_once(admin, app_url: str) -> None:
    async def scenario() -> None:
        customer, address = account(admin)
        admin.execute("SELECT auth.new_account_request('email_verification', %s) FROM generate_series(1, 200)",
                      [customer])
        with smtp_server() as (box, port):
            async with running(app_url, options(port)) as one, running(app_url, options(port)) as two:
                assert await until(lambda: len(box.to(address)) >= 200, 60), len(box.to(address))
                await asyncio.sleep(0.5)  # anything sent twice would arrive by now
                assert one.mailer and two.mailer and one.mailer.sent > 0 and two.mailer.sent > 0
            ids = Counter(m["Message-ID"] for m in box.to(address))
            assert len(ids) == 200 and set(ids.values()) == {1}, Counter(ids.values())
        statuses = admin.execute("SELECT status, attempts, count(*) FROM integration.mails WHERE to_email = %s"
                                 " GROUP BY 1, 2", [address]).fetchall()
        assert statuses == [("sent", 1, 200)]

    asyncio.run(scenario())
