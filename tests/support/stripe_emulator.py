"""Test helpers for the local Stripe emulator: an SDK client pointed at it, its control API, and
a loopback receiver that records webhook deliveries byte for byte."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import stripe

from devstack.infra import free_port


def sdk_client(url: str, *, timeout: float = 10, retries: int = 0) -> stripe.StripeClient:
    """The official SDK, sync and async methods both, against the emulator. Retries are off
    unless a test asks: the SDK's own retries would hide the status a test looks at."""
    return stripe.StripeClient(
        "sk_test_emulator",
        base_addresses={"api": url},
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        max_network_retries=retries,
    )


def connected_account(client: stripe.StripeClient, control: Control, **params: Any) -> str:
    """A connected account made the way the platform makes one (Accounts API), then onboarded by
    its holder (control API): charges and payouts enabled."""
    params.setdefault("type", "express")
    if params["type"] != "standard":
        params.setdefault(
            "capabilities", {"card_payments": {"requested": True}, "transfers": {"requested": True}}
        )
    account = client.v1.accounts.create(params=params)
    control.complete_onboarding(account.id)
    return account.id


class Control:
    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=f"{url}/_emulator", timeout=10)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self._http.post(path, json=body or {})
        reply.raise_for_status()
        return reply.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """Unchecked: for tests of what the control API refuses."""
        return self._http.post(path, json=body or {})

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self._post("/faults", spec)

    def latency(self, **spec: Any) -> dict[str, Any]:
        return self._post("/latency", spec)

    def reset(self, **flags: bool) -> None:
        self._post("/reset", flags)

    def config(self, **values: Any) -> dict[str, Any]:
        return self._post("/config", values)

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        return self._http.get("/requests", params=filters).json()["data"]

    def authenticate(self, intent_id: str, outcome: str) -> httpx.Response:
        return self._http.post(
            f"/payment_intents/{intent_id}/authenticate", json={"outcome": outcome}
        )

    def add_webhook_endpoint(
        self,
        url: str,
        secret: str | None = None,
        *,
        connect: bool = False,
        events: list[str] | None = None,
    ) -> dict[str, Any]:
        body = {"url": url, "secret": secret, "connect": connect, "events": events}
        return self._post("/webhook_endpoints", body)

    def remove_webhook_endpoint(self, endpoint_id: str) -> None:
        self._http.delete(f"/webhook_endpoints/{endpoint_id}").raise_for_status()

    # Connect accounts
    def create_account(self, **spec: Any) -> dict[str, Any]:
        """An account created and onboarded in one step (charges and payouts enabled)."""
        return self._post("/accounts", spec)

    def complete_onboarding(self, account: str) -> dict[str, Any]:
        return self._post(f"/accounts/{account}/complete_onboarding")

    def add_requirements(self, account: str, **spec: Any) -> dict[str, Any]:
        """currently_due / eventually_due / past_due lists, disabled_reason, charges_enabled,
        payouts_enabled, current_deadline."""
        return self._post(f"/accounts/{account}/requirements", spec)

    def disable_charges(
        self, account: str, reason: str = "requirements.past_due", **spec: Any
    ) -> dict[str, Any]:
        spec.setdefault("past_due", ["individual.verification.document"])
        return self.add_requirements(account, disabled_reason=reason, **spec)

    def onboard_via_link(self, url: str, action: str = "complete") -> str:
        """Opens an Account Link as the account holder's browser would and submits the form:
        returns where Stripe sends the browser next (return_url, or refresh_url if the link is
        used up or expired)."""
        opened = httpx.get(url, follow_redirects=False)
        if opened.status_code == 302:
            return opened.headers["location"]
        opened.raise_for_status()
        submitted = httpx.post(url, data={"action": action}, follow_redirects=False)
        assert submitted.status_code == 303, submitted.text
        return submitted.headers["location"]

    # Money outside the platform's API calls
    def hold_next_refund(self, times: int | None = 1, **match: str) -> dict[str, Any]:
        """The next matching POST /v1/refunds makes a `pending` refund."""
        return self.fault(kind="refund_pending", path="/v1/refunds", times=times, match=match)

    def succeed_refund(self, refund_id: str) -> dict[str, Any]:
        return self._post(f"/refunds/{refund_id}/succeed")

    def fail_refund(
        self, refund_id: str, failure_reason: str = "expired_or_canceled_card"
    ) -> dict[str, Any]:
        return self._post(f"/refunds/{refund_id}/fail", {"failure_reason": failure_reason})

    def dashboard_refund(self, **spec: Any) -> dict[str, Any]:
        """A refund made on Stripe's side (the merchant's Dashboard)."""
        return self._post("/refunds", spec)

    def open_dispute(
        self, charge_id: str, reason: str = "fraudulent", amount: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason}
        if amount is not None:
            body["amount"] = amount
        return self._post(f"/charges/{charge_id}/dispute", body)

    def close_dispute(self, dispute_id: str, outcome: str) -> dict[str, Any]:
        return self._post(f"/disputes/{dispute_id}/close", {"outcome": outcome})

    def create_payout(self, account: str | None, **spec: Any) -> dict[str, Any]:
        return self._post("/payouts", {"account": account, **spec})

    def payout_paid(self, payout_id: str) -> dict[str, Any]:
        return self._post(f"/payouts/{payout_id}/paid")

    def payout_failed(self, payout_id: str, failure_code: str = "account_closed") -> dict[str, Any]:
        return self._post(f"/payouts/{payout_id}/failed", {"failure_code": failure_code})

    def release_balance(self, account: str | None) -> int:
        return self._post("/balance/release", {"account": account})["released"]

    def events(self, **filters: str) -> list[dict[str, Any]]:
        return self._http.get("/events", params=filters).json()["data"]

    def resend(self, event_id: str, **body: Any) -> dict[str, Any]:
        return self._post(f"/events/{event_id}/resend", body)

    def sign(self, payload: str, secret: str, timestamp: int | None = None) -> str:
        body = {"payload": payload, "secret": secret, "timestamp": timestamp}
        return self._post("/webhooks/sign", body)["signature_header"]

    def close(self) -> None:
        self._http.close()


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookSink:
    """Answers 200 to everything and keeps what it got; verification is the test's job."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Delivery] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with sink._lock:
                    sink.received.append(Delivery(self.path, headers, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/stripe") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, match: Callable[[Delivery], bool], timeout: float = 5) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [d for d in self.received if match(d)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
