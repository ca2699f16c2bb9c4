"""The HTTP side of outgoing webhooks without a network: secrets derived from the server key (stable,
per subscription and version, 32 bytes), headers that the standardwebhooks verifier accepts, and the
settings that shape retries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from postcart.integrations.webhooks import signed_headers, subscription_secret
from postcart.settings import SettingsError, load_settings

KEY = "unit-test-server-secret-key-0123456789abcdef"
SUB = "0b9f5a52-6c1e-4c39-9a37-5e0a4b4a0d11"


def test_a_secret_is_stable_and_changes_with_key_subscription_and_version() -> None:
    secret = subscription_secret(KEY, SUB, 1)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert subscription_secret(KEY, SUB, 1) == secret
    others = {subscription_secret(KEY, SUB, 2), subscription_secret(KEY + "x", SUB, 1),
              subscription_secret(KEY, SUB.replace("0b9f", "1b9f"), 1)}
    assert secret not in others and len(others) == 3


def test_headers_verify_with_each_secret_and_no_other() -> None:
    body = json.dumps({"type": "order.paid", "timestamp": "2026-11-24T00:00:00.000000Z", "data": {"a": 1}})
    old, new = subscription_secret(KEY, SUB, 1), subscription_secret(KEY, SUB, 2)
    headers = signed_headers([new, old], "evt-1", body)
    assert headers["webhook-id"] == "evt-1" and len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(subscription_secret(KEY, SUB, 3)).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("order.paid", "order.cancelled"), headers)  # a changed body


def test_an_old_timestamp_is_refused_by_the_verifier() -> None:
    body = "{}"
    secret = subscription_secret(KEY, SUB, 1)
    headers = signed_headers([secret], "evt-2", body, now=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_webhook_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIMEOUT", "CONCURRENCY", "MAX_ATTEMPTS", "BACKOFF_BASE", "BACKOFF_CAP"):
        monkeypatch.delenv(f"POSTCART_WEBHOOK_{name}", raising=False)
    settings = load_settings()
    assert (settings.webhook_timeout, settings.webhook_concurrency, settings.webhook_max_attempts) == (10.0, 16, 8)
    monkeypatch.setenv("POSTCART_WEBHOOK_BACKOFF_BASE", "100")
    monkeypatch.setenv("POSTCART_WEBHOOK_BACKOFF_CAP", "10")
    with pytest.raises(SettingsError, match="POSTCART_WEBHOOK_BACKOFF_CAP"):
        load_settings()
    monkeypatch.setenv("POSTCART_WEBHOOK_BACKOFF_CAP", "1000")
    monkeypatch.setenv("POSTCART_WEBHOOK_TIMEOUT", "0")
    with pytest.raises(SettingsError, match="POSTCART_WEBHOOK_TIMEOUT"):
        load_settings()
