"""The card provider over Stripe's PaymentIntents protocol, through Stripe's own Python library, pointed at
POSTCART_CARD_API_BASE (Stripe itself, or any gateway or emulator that speaks the protocol). Async over
aiohttp; the library's own retries are off: a lost answer is retried by the caller with the same
idempotency key, which is what makes it safe."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import stripe

from . import Intent, ProviderRefused, ProviderUnavailable, Refund

if TYPE_CHECKING:
    from ...settings import Settings


def _intent(found: Any) -> Intent:
    obj = found.to_dict()
    return Intent(id=obj["id"], status=obj["status"], amount=int(obj["amount"]), currency=str(obj["currency"]).upper(),
                  amount_received=int(obj.get("amount_received") or 0), client_secret=obj.get("client_secret"))


class StripeCardProvider:
    def __init__(self, api_base: str, api_key: str, timeout: float) -> None:
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=timeout))
        self._client = stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=0,
                                           http_client=self._http)

    async def _call(self, call: Any) -> Any:
        """Await a library call; its errors become ours (never the provider's text, which may echo input)."""
        try:
            return await call
        except stripe.APIConnectionError:
            raise ProviderUnavailable("payment_provider_unavailable", "The card gateway did not answer.") from None
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            if status >= 500 or status in (0, 408, 409, 429):  # 409: a request with this key is in flight
                raise ProviderUnavailable("payment_provider_error",
                                          f"The card gateway answered {status or 'an error'}.") from None
            code = exc.code or (exc.error.type if exc.error else None) or "refused"
            raise ProviderRefused(str(code), f"The card gateway refused the request ({status}).") from None

    async def create_intent(self, amount: int, currency: str, idempotency_key: str,
                            metadata: dict[str, str], manual_capture: bool = False) -> Intent:
        # Wallets (Apple Pay, Google Pay and the like) are payment method types the gateway offers to the
        # client: automatic_payment_methods lets the storefront show them without new code here.
        params: Any = {"amount": amount, "currency": currency.lower(), "metadata": metadata,
                       "automatic_payment_methods": {"enabled": True},
                       "capture_method": "manual" if manual_capture else "automatic"}
        obj = await self._call(self._client.v1.payment_intents.create_async(
            params, {"idempotency_key": idempotency_key}))
        return _intent(obj)

    async def retrieve(self, intent_id: str) -> Intent:
        return _intent(await self._call(self._client.v1.payment_intents.retrieve_async(intent_id)))

    async def confirm(self, intent_id: str, payment_method: str, idempotency_key: str) -> Intent:
        params: Any = {"payment_method": payment_method}
        return _intent(await self._call(self._client.v1.payment_intents.confirm_async(
            intent_id, params, {"idempotency_key": idempotency_key})))

    async def capture(self, intent_id: str, idempotency_key: str, amount: int | None = None) -> Intent:
        params: Any = {} if amount is None else {"amount_to_capture": amount}
        return _intent(await self._call(self._client.v1.payment_intents.capture_async(
            intent_id, params, {"idempotency_key": idempotency_key})))

    async def cancel(self, intent_id: str, idempotency_key: str) -> Intent:
        return _intent(await self._call(self._client.v1.payment_intents.cancel_async(
            intent_id, {}, {"idempotency_key": idempotency_key})))

    async def refund(self, intent_id: str, amount: int, idempotency_key: str,
                     metadata: dict[str, str] | None = None) -> Refund:
        params: Any = {"payment_intent": intent_id, "amount": amount, "metadata": metadata or {}}
        obj = await self._call(self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key}))
        return Refund(id=obj.id, status=obj.status, amount=int(obj.amount))

    async def close(self) -> None:
        await self._http.close_async()


def configured(settings: Settings) -> Callable[[], StripeCardProvider] | None:
    """Makes the gateway client when POSTCART_CARD_API_KEY is set (else None: no card payments). Call it
    on the event loop that will use the client."""
    if settings.card_api_key is None:
        return None
    # The library logs whole answers at DEBUG, client_secret included: only its warnings reach our log.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    api_key = settings.card_api_key.get_secret_value()
    return lambda: StripeCardProvider(settings.card_api_base, api_key, settings.card_timeout)
