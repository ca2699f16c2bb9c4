"""The external tax service at checkout (docs/carriers.md "External tax service"). Only when one is
configured: the cart's lines, amounts and address are read first (api.checkout_tax_basis), the service is
asked for them within POSTCART_TAX_TIMEOUT_MS, and its answer, or why there is none, goes to api.checkout in
the server-derived namespace (derived.tax_quote), which no client can write. Checkout charges the quote only
if it is for exactly what it is about to charge; otherwise the built-in rates, and the order is flagged.
Without a tax service this adds nothing to checkout: no query, no round trip."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from .. import db
from ..integrations.tax import TaxLine, TaxService, TaxServiceError
from ..integrations.tax.taxjar import TaxJarService
from ..settings import Settings
from . import carts, database
from .context import CONTEXT

log = logging.getLogger("postcart.tax")

TAX = web.AppKey("postcart.tax", TaxService)


def install(app: web.Application, settings: Settings) -> None:
    """Ask the tax service at checkout when POSTCART_TAX_API_KEY is set: one client per process."""
    if settings.tax_api_key is None:
        return
    api_key = settings.tax_api_key.get_secret_value()

    async def tax_client(app: web.Application) -> Any:
        app[TAX] = TaxJarService(settings.tax_api_base, api_key, settings.tax_timeout_ms)
        yield
        await app[TAX].close()

    app.cleanup_ctx.append(tax_client)


async def prepare_checkout(request: web.Request, args: dict[str, Any],
                           caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST /v1/carts/{id}/checkout: the cart token's hash, and with a tax service its quote."""
    args, derived = await carts.prepare_cart_token(request, args, caller)
    service = request.app.get(TAX)
    if service is None:
        return args, derived
    ctx = request.app[CONTEXT]
    found = await database.call(ctx, "checkout_tax_basis", args, caller, None, derived)
    basis = json.loads(found.body or "null")["basis"]
    if basis is not None:  # else checkout refuses the cart, or there is no destination to tax
        derived["tax_quote"] = await quote(service, basis)
    return args, derived


async def quote(service: TaxService, basis: dict[str, Any]) -> dict[str, Any]:
    """The service's answer keyed to the basis it priced, or {error} saying why there is none."""
    lines = [TaxLine(id=str(line["id"]), amount=int(line["amount"]), quantity=int(line["quantity"]),
                     tax_class=line.get("tax_class")) for line in basis["lines"]]
    shipping = basis.get("shipping")
    try:
        answer = await service.quote(lines, basis["to"], basis["currency"], bool(basis["prices_include_tax"]),
                                     None if shipping is None else int(shipping["amount"]))
    except TaxServiceError as exc:
        log.warning("tax service: no quote (%s); the built-in rates are charged and the order flagged", exc.code)
        return {"error": exc.code}
    if answer is None:
        return {"error": "no_quote"}
    return {"basis": basis, "shipping_tax": answer.shipping_tax,
            "lines": [{"tax": line.tax, "rate_percent": float(line.rate_percent)} for line in answer.lines]}
