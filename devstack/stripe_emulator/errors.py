"""Stripe-shaped errors: `{"error": {"type", "code", "message", "param", ...}}` with the HTTP
status the official SDK maps to its exception classes (400/404 InvalidRequestError or
IdempotencyError, 401 AuthenticationError, 402 CardError, 429 RateLimitError, else APIError)."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra

    @property
    def executed(self) -> bool:
        """Whether the endpoint had begun executing. Stripe saves an idempotent result only then:
        invalid_request_errors are the validation phase (nothing saved, the key may be retried),
        card and API errors come from execution (saved and replayed)."""
        return self.type != "invalid_request_error"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update({k: v for k, v in self.extra.items() if v is not None})
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param, code=code)


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unexpected_state(message: str, payment_intent: dict[str, Any]) -> StripeError:
    return StripeError(
        400,
        "invalid_request_error",
        message,
        code="payment_intent_unexpected_state",
        payment_intent=payment_intent,
    )


def api_error() -> StripeError:
    return StripeError(500, "api_error", "An unknown error occurred")


def rate_limited() -> StripeError:
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def mask_key(key: str) -> str:
    """How Stripe shows a key in an error: its prefix and last six characters."""
    if len(key) <= 14:
        return key[:8] + "*" * max(len(key) - 8, 0)
    return key[:8] + "*" * (len(key) - 14) + key[-6:]


def no_account_access(key: str, account: str) -> StripeError:
    """An unknown (or not connected) account in Stripe-Account, or looked up under
    /v1/accounts: real Stripe answers 403 (the SDK raises PermissionError) with type
    invalid_request_error and code account_invalid."""
    return StripeError(
        403,
        "invalid_request_error",
        f"The provided key '{mask_key(key)}' does not have access to account '{account}' (or "
        "that account does not exist). Application access may have been revoked.",
        code="account_invalid",
    )


def platform_only(what: str) -> StripeError:
    return invalid(
        f"You can only create new {what} if you've signed up for Connect, which you can learn "
        "how to do at https://stripe.com/docs/connect."
    )


def not_modelled(what: str, param: str) -> StripeError:
    """Stripe would accept this, but the emulator does not model it: refused loudly rather than
    echoed, so a test never passes on behaviour nobody checked."""
    return invalid(f"The local Stripe emulator does not model {what}.", param=param)
