"""The mail side of e-mail: render a mail from its Jinja2 templates (templates/mail/<kind>.txt and .html,
HTML autoescaped) into a multipart text + HTML `EmailMessage`, and deliver it: over SMTP with aiosmtplib
to POSTCART_SMTP_URL, or, without one (development), as an .eml file under <data dir>/mail. Delivery
ends in an outcome (sent, or the error), never an exception. The link tokens are derived here
(auth/links.py) from ids the database gives; neither tokens nor bodies are ever logged."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..auth import links

ERROR_LIMIT = 500  # characters of an error kept on the mail row
# Headers folded at RFC 5322's hard limit only: a long List-Unsubscribe URL must stay one plain URL, not
# be encoded-word folded (which mail clients would not read as a link).
POLICY = default_policy.clone(max_line_length=998)
# Minor units per major unit where it is not 100 (ISO 4217 exponents other than 2, the common ones).
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def money(value: dict[str, Any] | None) -> str:
    """{amount (minor units), currency} as "12.34 EUR"."""
    if not value or value.get("amount") is None:
        return ""
    exponent = _EXPONENTS.get(str(value.get("currency")), 2)
    amount = int(value["amount"])
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**exponent)
    return f"{sign}{major}{'.' + str(minor).zfill(exponent) if exponent else ''} {value.get('currency', '')}".strip()


def _environment(autoescape: bool) -> Environment:
    env = Environment(loader=PackageLoader("postcart", "templates/mail"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]) if autoescape else False,
                      keep_trailing_newline=True)
    env.filters["money"] = money
    return env


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@dataclass(frozen=True)
class Sender:
    """What every message shares: who it is from and where its links point."""

    secret: str  # the server's secret key: link tokens derive from it
    mail_from: str
    public_url: str  # the storefront: /reset-password, /verify-email, /unsubscribe
    api_url: str  # this API from outside: the one-click unsubscribe POST

    @property
    def shop_name(self) -> str:
        name, address = parseaddr(self.mail_from)
        return name or address

    @property
    def domain(self) -> str:
        return parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"


def message_id(sender: Sender, mail_id: str) -> str:
    """The same for every attempt at one mail, so a repeat after a lost outcome is recognisably one."""
    return f"<{mail_id}@{sender.domain}>"


def _shipped(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The fulfilment's lines (item id, quantity) with the order's names."""
    names = {str(i.get("id")): i.get("name") for i in (context.get("order") or {}).get("items", [])}
    return [{"name": names.get(str(s.get("item_id")), "item"), "quantity": s.get("quantity")}
            for s in (context.get("event") or {}).get("items") or []]


def render(sender: Sender, mail_id: str, kind: str, to: str, marketing: bool,
           context: dict[str, Any]) -> EmailMessage:
    """The message for one mail: subject and text from <kind>.txt (its `subject` variable), HTML from
    <kind>.html; marketing mail carries the RFC 8058 one-click unsubscribe headers."""
    values: dict[str, Any] = {"shop_name": sender.shop_name, "shop_url": sender.public_url, "unsubscribe_url": None,
                              "full_name": None, "event": {}, **context}
    request_id = context.get("request_id")
    if kind == "password_reset" and request_id:
        values["reset_url"] = f"{sender.public_url}/reset-password?token={links.make(sender.secret, links.PASSWORD_RESET, request_id)}"
    if kind == "email_verification" and request_id:
        values["verify_url"] = f"{sender.public_url}/verify-email?token={links.make(sender.secret, links.EMAIL_VERIFICATION, request_id)}"
    if kind == "shipping_notification":
        values["shipped"] = _shipped(context)
    unsubscribe_token = links.make(sender.secret, links.UNSUBSCRIBE, mail_id) if marketing else None
    if unsubscribe_token:
        values["unsubscribe_url"] = f"{sender.public_url}/unsubscribe?token={unsubscribe_token}"
    text_module = _TEXT.get_template(f"{kind}.txt").make_module(values)
    subject = re.sub(r"\s+", " ", str(getattr(text_module, "subject", sender.shop_name))).strip()
    html = _HTML.get_template(f"{kind}.html").render({**values, "subject": subject})

    message = EmailMessage(policy=POLICY)
    message["From"] = sender.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(sender, mail_id)
    if unsubscribe_token:
        message["List-Unsubscribe"] = f"<{sender.api_url}/v1/unsubscribe?token={unsubscribe_token}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(str(text_module))
    message.add_alternative(html, subtype="html")
    return message


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # smtps://: TLS from the first byte
    start_tls: bool  # ?starttls=true: upgrade a plain connection

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        return cls(hostname=parts.hostname or "localhost", port=parts.port or (465 if implicit else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   use_tls=implicit, start_tls=query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"})


@dataclass(frozen=True)
class Outcome:
    sent: bool
    error: str | None = None


async def send_smtp(target: SmtpTarget, message: EmailMessage, timeout: float) -> Outcome:
    """One SMTP transaction; any refusal (4xx or 5xx) or failure to connect is an unsent outcome, retried
    by the database's backoff (a 5xx may heal too: a full mailbox, a greylisting relay)."""
    try:
        await aiosmtplib.send(
            message, hostname=target.hostname, port=target.port, username=target.username,
            password=target.password, use_tls=target.use_tls, start_tls=target.start_tls,
            timeout=timeout, tls_context=ssl.create_default_context() if target.use_tls or target.start_tls else None)
    except aiosmtplib.SMTPResponseException as exc:
        return Outcome(False, f"SMTP {exc.code}: {exc.message}"[:ERROR_LIMIT])
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT])
    return Outcome(True)


def write_eml(directory: Path, message: EmailMessage, mail_id: str) -> Outcome:
    """Development without SMTP: the message as <directory>/<UTC timestamp>-<mail id>.eml."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        (directory / f"{stamp}-{mail_id}.eml").write_bytes(message.as_bytes())
    except OSError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT])
    return Outcome(True)
