"""Settings from the environment (pydantic-settings); one place that reads os.environ."""

from __future__ import annotations

import re
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and is fit for one stderr line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTCART_", extra="ignore", populate_by_name=True)

    # Admin URL (migrations, create-staff, db-url). Unset: the embedded cluster under data_dir.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    # The pool's URL, which logs in as postcart_authenticator. Derived from DATABASE_URL when unset.
    app_database_url: str | None = None
    # Password given to postcart_authenticator by `postcart migrate` (external servers only).
    authenticator_password: SecretStr | None = None
    data_dir: Path = Path(".postcart")
    # Signs access tokens. Embedded mode generates one under data_dir when unset.
    secret_key: SecretStr | None = None
    # During a key rotation, the key before POSTCART_SECRET_KEY: TOTP secrets sealed under it still open and
    # are re-sealed under the new one (docs/privacy.md). Remove it once `postcart reencrypt-secrets` ran.
    secret_key_previous: SecretStr | None = None
    pool_size: int = Field(default=10, ge=1, le=500)
    # Seconds a request waits for a free database connection before it is answered 503.
    pool_timeout: float = Field(default=10.0, gt=0, le=300)
    access_token_ttl: int = Field(default=900, ge=30, le=86400, description="seconds")
    refresh_token_ttl: int = Field(default=30 * 86400, ge=60, description="seconds")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # CSV bodies (product import: up to 10,000 rows) may be this large instead.
    max_csv_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # A request's statements may run this long (milliseconds) before PostgreSQL cancels them: 503 timeout.
    statement_timeout: int = Field(default=10_000, ge=100)
    log_level: str = "INFO"
    # `postcart up` runs the background worker (sweepers) in its process; 0/false leaves that to a
    # separate `postcart worker`. `postcart serve` never runs it.
    run_worker: bool = True
    # Outgoing webhooks (docs/webhooks.md), sent by the worker: seconds one attempt may take; attempts sent at
    # once per worker process; attempts before a delivery is dead; the retry wait is random below
    # min(cap, base * 2^(attempt - 1)) seconds (exponential backoff with full jitter).
    webhook_timeout: float = Field(default=10.0, gt=0, le=300)
    webhook_concurrency: int = Field(default=16, ge=1, le=1000)
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_backoff_base: float = Field(default=60.0, gt=0, le=86400)
    webhook_backoff_cap: float = Field(default=6 * 3600.0, gt=0, le=7 * 86400)
    # Deliver to loopback, private and link-local addresses too (a receiver on this machine in development).
    # Off by default: a store admin's URL must not reach the internal network or a cloud metadata service.
    webhook_allow_private: bool = False
    # E-mail (docs/email.md), sent by the worker: smtp://user:pass@host:port (smtps:// for implicit TLS,
    # ?starttls=true to upgrade); unset, each message is written as an .eml file under <data_dir>/mail.
    smtp_url: SecretStr | None = None
    mail_from: str = "postcart <shop@localhost>"
    # The storefront's base URL: links in mails go to <public_url>/reset-password?token=... and the like.
    public_url: str = "http://127.0.0.1:8080"
    # Where this API is reached from outside, for the one-click unsubscribe header; unset: public_url.
    api_url: str | None = None
    mail_timeout: float = Field(default=30.0, gt=0, le=300)
    mail_concurrency: int = Field(default=4, ge=1, le=100)
    mail_max_attempts: int = Field(default=8, ge=1, le=100)
    mail_backoff_base: float = Field(default=60.0, gt=0, le=86400)
    mail_backoff_cap: float = Field(default=6 * 3600.0, gt=0, le=7 * 86400)
    # Browser origins allowed to call the API (comma-separated, e.g. https://shop.example,http://localhost:3000),
    # or "*" for any origin (only without credentials). Empty: no CORS headers at all.
    cors_origins: str = ""
    # Send Access-Control-Allow-Credentials (cookies, TLS client certificates); never together with "*".
    cors_allow_credentials: bool = False
    # HTTPS (docs/operations.md, "TLS"): a PEM certificate chain and its key; then HSTS is sent too. Also
    # --tls-cert / --tls-key of `postcart serve` and `postcart up`.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # The embedded cluster refuses TCP clients that do not use TLS (the Unix socket is unaffected).
    db_require_tls: bool = False
    # Card payments (docs/payments.md): a gateway speaking Stripe's PaymentIntents protocol. Without an API
    # key, card payments are not offered; without a webhook secret, POST /v1/webhooks/card is not served.
    card_api_base: str = "https://api.stripe.com"
    card_api_key: SecretStr | None = None
    card_webhook_secret: SecretStr | None = None
    # Seconds one call to the gateway may take; then the payment stays pending and the client retries.
    card_timeout: float = Field(default=10.0, gt=0, le=120)
    # Shipping carriers (docs/carriers.md): the built-in table rates always; with an API key, also an HTTP
    # carrier aggregator speaking Shippo's protocol (rates, labels, signed track_updated webhooks). Without a
    # webhook secret, POST /v1/webhooks/carrier is not served.
    carrier_api_base: str = "https://api.goshippo.com"
    carrier_api_key: SecretStr | None = None
    carrier_webhook_secret: SecretStr | None = None
    carrier_timeout: float = Field(default=10.0, gt=0, le=120)
    # An external tax service speaking TaxJar's POST /v2/taxes (docs/carriers.md); without an API key the
    # built-in rates alone (shop.compute_tax). A quote later than the timeout is not waited for: the order is
    # charged the built-in rates and flagged.
    tax_api_base: str = "https://api.taxjar.com"
    tax_api_key: SecretStr | None = None
    tax_timeout_ms: int = Field(default=1500, ge=50, le=30_000)
    # Rate limits on the auth and checkout routes (docs/rate-limits.md): the rules live in the database;
    # off skips them all (local development, load tests). The client is the connection's peer, or with
    # trusted proxies (comma-separated CIDRs, e.g. 10.0.0.0/8,127.0.0.1/32) the last X-Forwarded-For
    # address that is not one of them.
    rate_limits: bool = True
    trusted_proxies: str = ""

    @property
    def cors_origin_set(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @field_validator("database_url", "app_database_url")
    @classmethod
    def _libpq_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value or None

    @field_validator("card_api_base", "carrier_api_base", "tax_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an http(s):// URL such as https://api.stripe.com")
        return value.rstrip("/")

    @field_validator("public_url", "api_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an http(s):// URL such as https://shop.example")
        return value.rstrip("/") if value else None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"smtps?://[^/\s?#]+/?(\?[^\s#]*)?", value.get_secret_value()):
            raise ValueError("must be smtp://[user:password@]host[:port][?starttls=true] or smtps://...")
        return value

    @field_validator("secret_key", "secret_key_previous")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(c.strip(), strict=False) for c in self.trusted_proxies.split(",") if c.strip())

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for cidr in (c.strip() for c in value.split(",") if c.strip()):
            try:
                ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an address or network like 10.0.0.0/8") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip().rstrip("/") for o in value.split(",") if o.strip()):
            if origin != "*" and not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example or http://localhost:3000")
        return value

    @model_validator(mode="after")
    def _backoff_cap_above_base(self) -> Settings:
        if self.webhook_backoff_cap < self.webhook_backoff_base:
            raise ValueError("POSTCART_WEBHOOK_BACKOFF_CAP must not be below POSTCART_WEBHOOK_BACKOFF_BASE")
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("POSTCART_TLS_CERT and POSTCART_TLS_KEY (--tls-cert, --tls-key) go together")
        return self

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> Settings:
        if self.cors_allow_credentials and "*" in self.cors_origin_set:
            raise ValueError("POSTCART_CORS_ORIGINS=* cannot be combined with POSTCART_CORS_ALLOW_CREDENTIALS")
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()


def env_name(field: str) -> str:
    """The environment variable that sets a field, for error messages."""
    info = Settings.model_fields[field]
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return "POSTCART_" + field.upper()


def load_settings(**overrides: object) -> Settings:
    """Read settings; a bad value raises SettingsError naming the variable, never a traceback."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a rule across settings names them itself
            raise SettingsError(f"invalid settings: {message}") from None
        field = str(first["loc"][0])
        name = env_name(field) if field in Settings.model_fields else field
        raise SettingsError(f"invalid setting {name}: {message}") from None
