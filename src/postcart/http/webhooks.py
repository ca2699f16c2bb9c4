"""The signing secret of a webhook subscription, shown once: when it is created and when it is rotated.
The database keeps only the subscription's secret_version; the secret is derived here from the server's
key (integrations/webhooks.py, the worker derives the same to sign), added to the function's answer and
never stored, not even in a replayed Idempotency-Key response, which is answered with the same secret
since it carries the same id and version."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import db
from ..integrations.webhooks import subscription_secret
from .context import CONTEXT, RESPONSE_FIELDS


async def prepare_webhook_secret(request: web.Request, args: dict[str, Any],
                                 caller: db.Caller) -> tuple[dict[str, Any], None]:
    """POST /v1/admin/webhooks and .../rotate-secret: the answer gains `secret` for its id and version."""
    secret = request.app[CONTEXT].secret

    def reveal(answer: dict[str, Any]) -> dict[str, Any]:
        if "id" not in answer or "secret_version" not in answer:
            return {}
        return {"secret": subscription_secret(secret, str(answer["id"]), int(answer["secret_version"]))}

    request[RESPONSE_FIELDS] = reveal
    return args, None
