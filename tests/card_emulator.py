"""A local card gateway speaking enough of Stripe's PaymentIntents protocol for the tests: form-encoded
requests in, JSON objects out, as the stripe library sends and expects them. PaymentIntents (create,
retrieve, confirm, capture, cancel) and refunds, Idempotency-Key honoured (a repeated key returns the
first answer; with other parameters it is refused), and events signed the way Stripe signs webhooks
(`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">`), kept for the test to deliver
in any order and as often as it likes.

Faults on demand, per operation: `fail(op, "500")` answers 500 without doing anything, `fail(op,
"500_after")` does the work and then answers 500 (the answer is lost, the effect is not), `fail(op,
"delay", seconds)` does the work and answers late (a client with a shorter timeout gives up).

It runs on its own event loop in a thread, so the tests drive it from ordinary synchronous code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk_test_postcart_emulator"
WEBHOOK_SECRET = "whsec_postcart_emulator_0123456789"


@dataclass
class Fault:
    kind: str  # "500", "500_after", "delay"
    seconds: float = 0.0


@dataclass
class CardEmulator:
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)  # (method, path, raw body)
    port: int = 0
    _faults: dict[str, deque[Fault]] = field(default_factory=dict)
    _answers: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # key -> (params, status, body)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None

    # -- driving it from a test ---------------------------------------------------------------------
    def fail(self, op: str, kind: str, seconds: float = 0.0, times: int = 1) -> None:
        """The next `times` calls of op (create, confirm, capture, cancel, refund) meet this fault."""
        with self._lock:
            self._faults.setdefault(op, deque()).extend(Fault(kind, seconds) for _ in range(times))

    def event_of(self, intent_id: str, type_: str) -> dict[str, Any]:
        """The last event of that type about that PaymentIntent."""
        with self._lock:
            return [e for e in self.events if e["type"] == type_ and e["data"]["object"]["id"] == intent_id][-1]

    def sign(self, payload: bytes, secret: str | None = None, at: int | None = None) -> str:
        """A Stripe-Signature header for payload."""
        stamp = int(time.time()) if at is None else at
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
        return f"t={stamp},v1={mac.hexdigest()}"

    def intents_with(self, metadata_key: str, value: str) -> list[dict[str, Any]]:
        with self._lock:
            return [i for i in self.intents.values() if i["metadata"].get(metadata_key) == value]

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> CardEmulator:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True, name="card-emulator").start()
        assert ready.wait(10), "the card emulator did not start"
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the protocol -------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        with self._lock:
            self.requests.append((request.method, request.path, raw))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", None, "Invalid API Key provided.")
        params = _form(raw.decode()) if request.method == "POST" else dict(request.query)
        route = self._route(request.method, request.path)
        if route is None:
            return _error(404, "invalid_request_error", "resource_missing", "Unrecognized request URL.")
        op, action, object_id = route
        fault = self._next_fault(op)
        if fault is not None and fault.kind == "500":
            return _error(500, "api_error", None, "Injected failure.")
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        fingerprint = json.dumps([request.path, params], sort_keys=True)
        with self._lock:
            if key is not None and key in self._answers:
                seen, status, body = self._answers[key]
                if seen != fingerprint:
                    status, body = 400, json.dumps({"error": {
                        "type": "idempotency_error", "message": "Keys for idempotent requests can only be used "
                        "with the same parameters they were first used with."}})
                return web.Response(status=status, text=body, content_type="application/json",
                                    headers={"Idempotent-Replayed": "true"})
            status, answer = action(object_id, params)
            body = json.dumps(answer)
            if key is not None:
                self._answers[key] = (fingerprint, status, body)
        if fault is not None and fault.kind == "500_after":
            return _error(500, "api_error", None, "Injected failure after the work was done.")
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        return web.Response(status=status, text=body, content_type="application/json")

    def _route(self, method: str, path: str) -> tuple[str, Any, str | None] | None:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_intents"]:
            if len(parts) == 2 and method == "POST":
                return "create", self._create, None
            if len(parts) == 3 and method == "GET":
                return "retrieve", self._retrieve, parts[2]
            if len(parts) == 4 and method == "POST" and parts[3] in ("confirm", "capture", "cancel"):
                return parts[3], getattr(self, "_" + parts[3]), parts[2]
        if parts == ["v1", "refunds"] and method == "POST":
            return "refund", self._refund, None
        return None

    def _next_fault(self, op: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(op)
            return queue.popleft() if queue else None

    def _emit(self, type_: str, obj: dict[str, Any]) -> None:
        self.events.append({"id": "evt_" + secrets.token_hex(12), "object": "event", "type": type_,
                            "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
                            "data": {"object": dict(obj)}})

    def _create(self, _: str | None, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return 400, _error_body("invalid_request_error", "parameter_missing", "Missing required param: amount.")
        if amount < 1 or not str(params.get("currency", "")).isalpha():
            return 400, _error_body("invalid_request_error", "amount_too_small", "Amount must be at least 1.")
        intent_id = "pi_" + secrets.token_hex(12)
        intent = {
            "id": intent_id, "object": "payment_intent", "amount": amount, "amount_received": 0,
            "amount_capturable": 0, "currency": params["currency"].lower(), "status": "requires_payment_method",
            "capture_method": params.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}", "metadata": params.get("metadata", {}),
            "created": int(time.time()), "livemode": False, "payment_method": None, "refunded": 0,
        }
        self.intents[intent_id] = intent
        self._emit("payment_intent.created", intent)
        return 200, intent

    def _retrieve(self, intent_id: str | None, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id or "")
        if intent is None:
            return 404, _error_body("invalid_request_error", "resource_missing", "No such payment_intent.")
        return 200, intent

    def _confirm(self, intent_id: str | None, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The client's step (with the client_secret): card data goes here, never to postcart."""
        intent = self.intents.get(intent_id or "")
        if intent is None:
            return 404, _error_body("invalid_request_error", "resource_missing", "No such payment_intent.")
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            return 400, _error_body("invalid_request_error", "payment_intent_unexpected_state",
                                    f"This PaymentIntent's status is {intent['status']}.")
        method = params.get("payment_method", "pm_card_visa")
        intent["payment_method"] = method
        if method == "pm_card_chargeDeclined":
            self._emit("payment_intent.payment_failed", intent)
            return 402, _error_body("card_error", "card_declined", "Your card was declined.")
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._emit("payment_intent.amount_capturable_updated", intent)
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self._emit("payment_intent.succeeded", intent)
        return 200, intent

    def _capture(self, intent_id: str | None, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id or "")
        if intent is None or intent["status"] != "requires_capture":
            return 400, _error_body("invalid_request_error", "payment_intent_unexpected_state",
                                    "This PaymentIntent could not be captured.")
        amount = int(params.get("amount_to_capture", intent["amount"]))
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._emit("payment_intent.succeeded", intent)
        return 200, intent

    def _cancel(self, intent_id: str | None, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id or "")
        if intent is None or intent["status"] in ("succeeded", "canceled"):
            return 400, _error_body("invalid_request_error", "payment_intent_unexpected_state",
                                    "This PaymentIntent could not be canceled.")
        intent.update(status="canceled", amount_capturable=0)
        self._emit("payment_intent.canceled", intent)
        return 200, intent

    def _refund(self, _: str | None, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, _error_body("invalid_request_error", "charge_not_refundable", "Nothing to refund.")
        left = intent["amount_received"] - intent["refunded"]
        amount = int(params.get("amount", left))
        if amount > left:
            code = "charge_already_refunded" if left == 0 else "amount_too_large"
            return 400, _error_body("invalid_request_error", code, "Refund amount is greater than unrefunded amount.")
        intent["refunded"] += amount
        refund = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
                  "currency": intent["currency"], "payment_intent": intent["id"], "status": "succeeded",
                  "metadata": params.get("metadata") or {}, "created": int(time.time())}
        self.refunds[refund["id"]] = refund
        self._emit("refund.created", refund)
        return 200, refund


def _form(text: str) -> dict[str, Any]:
    """application/x-www-form-urlencoded with Stripe's brackets (metadata[key]=v, a[b][c]=v) as nested dicts."""
    from urllib.parse import parse_qsl

    out: dict[str, Any] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        keys = name.replace("]", "").split("[")
        node = out
        for part in keys[:-1]:
            node = node.setdefault(part, {})
        node[keys[-1]] = value
    return out


def _error_body(type_: str, code: str | None, message: str) -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "message": message}}


def _error(status: int, type_: str, code: str | None, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps(_error_body(type_, code, message)), content_type="application/json")
