"""Connect accounts: created by the platform, unable to take charges or payouts until onboarding
is complete (the control API stands in for the account holder finishing Stripe's hosted form),
and able to lose that again when Stripe asks for more information.

Every account object belongs to the platform; a request with `Stripe-Account` must name one of
them (api.py refuses any other with Stripe's 403 `account_invalid`)."""

from __future__ import annotations

import time
from typing import Any

import stripe

from devstack.stripe_emulator import listing
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import StripeError, invalid, no_account_access, platform_only
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World

CREATE_PARAMS = {
    "account_token",
    "business_profile",
    "business_type",
    "capabilities",
    "company",
    "controller",
    "country",
    "default_currency",
    "documents",
    "email",
    "expand",
    "external_account",
    "groups",
    "individual",
    "metadata",
    "settings",
    "tos_acceptance",
    "type",
}
UPDATE_PARAMS = CREATE_PARAMS - {"controller", "country", "type"}
TYPES = ("standard", "express", "custom")
# What a new account owes before Stripe lets it charge: all of it due (and past due) at once.
INITIAL_DUE = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
# `type` as the controller properties Stripe gives it.
_CONTROLLERS = {
    "standard": ("full", "stripe", "account", "stripe"),
    "express": ("express", "stripe", "application_express", "application"),
    "custom": ("none", "application", "application_custom", "application"),
}


def lookup(world: World, account_id: str) -> dict[str, Any] | None:
    return world.store.find(account_id, "account")


def _connected(world: World, call: Call, account_id: str) -> dict[str, Any]:
    """The account a platform request names; Stripe answers an unknown one with 403."""
    if call.account not in (PLATFORM, account_id):
        raise no_account_access(call.api_key, account_id)
    account = lookup(world, account_id)
    if account is None:
        raise no_account_access(call.api_key, account_id)
    return account


def requirements(due: list[str], disabled_reason: str | None) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due) if disabled_reason == "requirements.past_due" else [],
        "pending_verification": [],
    }


def _pick(spec: Any, path: list[str], allowed: tuple[str, ...], default: str) -> str:
    """`controller[fees][payer]`-style nested choice, named as the form field in errors."""
    for part in path[:-1]:
        spec = spec.get(part) if isinstance(spec, dict) else None
    value = spec.get(path[-1]) if isinstance(spec, dict) else None
    if value is None:
        return default
    if value not in allowed:
        name = path[0] + "".join(f"[{part}]" for part in path[1:])
        raise invalid(
            f"Invalid {name}: must be one of {', '.join(allowed)}",
            param=name,
            code="parameter_invalid_string",
        )
    return value


def _controller(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(account type, controller hash) from `type` or `controller`, validated as Stripe does."""
    if params.get("type") is not None and params.get("controller") is not None:
        raise invalid("You cannot specify both `type` and `controller`.", param="controller")
    if params.get("type") is not None:
        kind = p.choice(params, "type", TYPES, "standard")
        dashboard, collection, payer, losses = _CONTROLLERS[kind]
        controller_type = "account" if kind == "standard" else "application"
    else:
        c = ["controller"]
        dashboard = _pick(
            params, [*c, "stripe_dashboard", "type"], ("express", "full", "none"), "full"
        )
        collection = _pick(
            params, [*c, "requirement_collection"], ("application", "stripe"), "stripe"
        )
        payer = _pick(params, [*c, "fees", "payer"], ("account", "application"), "account")
        losses = _pick(params, [*c, "losses", "payments"], ("application", "stripe"), "stripe")
        if losses == "application" and payer != "application":
            raise invalid(
                "Setting `controller.losses.payments=application` requires "
                "`controller.fees.payer=application`.",
                param="controller[losses][payments]",
            )
        if dashboard == "none" and collection != "application":
            raise invalid(
                "`controller.requirement_collection` must be `application` when "
                "`controller.stripe_dashboard.type` is `none`.",
                param="controller[requirement_collection]",
            )
        kind, controller_type = "none", "application"
    controller = {
        "fees": {"payer": payer},
        "is_controller": controller_type == "application",
        "losses": {"payments": losses},
        "requirement_collection": collection,
        "stripe_dashboard": {"type": dashboard},
        "type": controller_type,
    }
    return kind, controller


def _capabilities(params: dict[str, Any], kind: str, dashboard: str) -> dict[str, str]:
    raw = params.get("capabilities")
    if raw is None:
        if dashboard == "none":
            raise invalid(
                "capabilities is required when controller.stripe_dashboard.type is none, "
                "which includes Custom accounts.",
                param="capabilities",
                code="parameter_missing",
            )
        # Stripe requests both for Standard (and Dashboard) accounts itself.
        return {"card_payments": "inactive", "transfers": "inactive"}
    if kind == "standard":
        raise invalid(
            "You cannot create Standard connected accounts with capabilities via API.",
            param="capabilities",
        )
    if not isinstance(raw, dict):
        raise invalid("Invalid capabilities: must be a hash", param="capabilities")
    out = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or "requested" not in spec:
            raise invalid(
                f"Missing required param: capabilities[{name}][requested].",
                param=f"capabilities[{name}][requested]",
                code="parameter_missing",
            )
        if p.boolean(spec, "requested"):
            out[name] = "inactive"
    if not out:
        raise invalid("At least one capability must be requested.", param="capabilities")
    return out


def create(world: World, call: Call) -> dict[str, Any]:
    if call.account != PLATFORM:
        raise platform_only("accounts")
    params = call.params
    p.known(params, CREATE_PARAMS & p.sdk_params(stripe.params.AccountCreateParams))
    kind, controller = _controller(params)
    capabilities = _capabilities(params, kind, controller["stripe_dashboard"]["type"])
    country = (p.text(params, "country") or "US").upper()
    currency = p.currency(params) if params.get("default_currency") else "usd"
    metadata = p.metadata(params)
    profile = params.get("business_profile") or {}
    account: dict[str, Any] = {
        "id": new_id("acct", 16),
        "object": "account",
        "business_profile": {
            "mcc": profile.get("mcc"),
            "name": profile.get("name"),
            "product_description": profile.get("product_description"),
            "support_email": profile.get("support_email"),
            "support_url": profile.get("support_url"),
            "url": profile.get("url"),
        },
        "business_type": p.text(params, "business_type"),
        "capabilities": capabilities,
        "charges_enabled": False,
        "controller": controller,
        "country": country,
        "created": int(time.time()),
        "default_currency": currency,
        "details_submitted": False,
        "email": p.text(params, "email"),
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": "",
        },
        "future_requirements": requirements([], None),
        "metadata": metadata,
        "payouts_enabled": False,
        "requirements": requirements(INITIAL_DUE, "requirements.past_due"),
        "settings": params.get("settings") or {},
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": kind,
    }
    account["external_accounts"]["url"] = f"/v1/accounts/{account['id']}/external_accounts"
    return world.store.add(PLATFORM, account)


def retrieve(world: World, call: Call, account_id: str) -> dict[str, Any]:
    p.known(call.params, {"expand"})
    return _connected(world, call, account_id)


def retrieve_current(world: World, call: Call) -> dict[str, Any]:
    """GET /v1/account: the connected account the request acts as, or the platform itself."""
    if call.account != PLATFORM:
        return _connected(world, call, call.account)
    return {
        "id": world.platform_id,
        "object": "account",
        "business_profile": {"name": "Local emulator platform"},
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "country": "US",
        "default_currency": "usd",
        "details_submitted": True,
        "payouts_enabled": True,
        "settings": {"dashboard": {"display_name": "Local emulator platform"}},
        "type": "standard",
    }


def update(world: World, call: Call, account_id: str) -> dict[str, Any]:
    if call.account != PLATFORM:
        raise invalid("Only the platform can update a connected account.")
    params = call.params
    p.known(params, UPDATE_PARAMS)
    account = _connected(world, call, account_id)
    changes: dict[str, Any] = {"metadata": p.metadata(params, account["metadata"])}
    if "email" in params:
        changes["email"] = p.text(params, "email")
    if "business_type" in params:
        changes["business_type"] = p.text(params, "business_type")
    if "default_currency" in params:
        changes["default_currency"] = p.currency({"currency": params["default_currency"]})
    if isinstance(params.get("business_profile"), dict):
        changes["business_profile"] = {**account["business_profile"], **params["business_profile"]}
    if isinstance(params.get("settings"), dict):
        changes["settings"] = {**account["settings"], **params["settings"]}
    if "capabilities" in params:
        requested = _capabilities(params, "express", "express")
        changes["capabilities"] = {**requested, **account["capabilities"]}
    account.update(changes)
    world.emit("account.updated", account, account["id"], call)
    return account


def list_accounts(world: World, call: Call) -> dict[str, Any]:
    if call.account != PLATFORM:
        raise platform_only("accounts")
    p.known(call.params, listing.LIST_PARAMS)
    return listing.page(
        world.store.all(PLATFORM, "account"), call.params, "/v1/accounts", "account"
    )


def require_charges_enabled(world: World, account_id: str) -> None:
    """Confirming a payment on a connected account that cannot take card payments."""
    if account_id == PLATFORM:
        return
    account = lookup(world, account_id)
    if account is None or account["charges_enabled"]:
        return
    raise StripeError(
        400,
        "invalid_request_error",
        "You cannot create a charge on a connected account without the `card_payments` "
        "capability enabled.",
    )


def require_payouts_enabled(world: World, account_id: str) -> None:
    account = lookup(world, account_id) if account_id != PLATFORM else None
    if account is not None and not account["payouts_enabled"]:
        raise invalid(
            f"Payouts are not enabled for account {account_id}: see its "
            "`requirements.disabled_reason`.",
            code="payouts_not_allowed",
        )


def complete_onboarding(world: World, account_id: str) -> dict[str, Any]:
    """Control API: the account holder finished Stripe's hosted onboarding."""
    account = _control_lookup(world, account_id)
    bank = {
        "id": new_id("ba", 24),
        "object": "bank_account",
        "account": account_id,
        "bank_name": "STRIPE TEST BANK",
        "country": account["country"],
        "currency": account["default_currency"],
        "default_for_currency": True,
        "last4": "6789",
        "status": "new",
    }
    account.update(
        details_submitted=True,
        capabilities={name: "active" for name in account["capabilities"]},
        requirements=requirements([], None),
        tos_acceptance={"date": int(time.time()), "ip": "127.0.0.1", "user_agent": None},
    )
    account["charges_enabled"] = account["capabilities"].get("card_payments") == "active"
    account["payouts_enabled"] = True
    if not account["external_accounts"]["data"]:
        account["external_accounts"].update(data=[bank], total_count=1)
    world.emit("account.updated", account, account_id, None)
    return account


def change_requirements(world: World, account_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Control API: Stripe asks for more (currently_due / eventually_due / past_due), and may
    disable charges and payouts with a `disabled_reason`. Lists are added to what is due; a
    field past due is also currently and eventually due, as on Stripe."""
    account = _control_lookup(world, account_id)
    req = account["requirements"]
    past = _strings(spec, "past_due")
    current = _strings(spec, "currently_due") + past
    eventual = _strings(spec, "eventually_due") + current
    for name, added in (
        ("past_due", past),
        ("currently_due", current),
        ("eventually_due", eventual),
    ):
        req[name] = req[name] + [f for f in added if f not in req[name]]
    if "current_deadline" in spec:
        req["current_deadline"] = spec["current_deadline"]
    elif current and not past and req["current_deadline"] is None:
        req["current_deadline"] = int(time.time()) + 14 * 24 * 3600
    reason = spec.get(
        "disabled_reason", "requirements.past_due" if past else req["disabled_reason"]
    )
    req["disabled_reason"] = reason
    for name in ("charges_enabled", "payouts_enabled"):
        if name in spec:
            account[name] = bool(spec[name])
        elif reason is not None:
            account[name] = False
    if not account["charges_enabled"] and "card_payments" in account["capabilities"]:
        account["capabilities"]["card_payments"] = "inactive"
    world.emit("account.updated", account, account_id, None)
    return account


def _strings(spec: dict[str, Any], name: str) -> list[str]:
    value = spec.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{name} must be a list of requirement names", param=name)
    return value


def _control_lookup(world: World, account_id: str) -> dict[str, Any]:
    account = lookup(world, account_id)
    if account is None:
        raise StripeError(
            404,
            "invalid_request_error",
            f"No such account: '{account_id}'",
            code="resource_missing",
            param="account",
        )
    return account


def create_ready(world: World, account_id: str | None, spec: dict[str, Any]) -> dict[str, Any]:
    """Control API: an account made and onboarded in one step (seeds and benchmarks)."""
    if account_id is not None and lookup(world, account_id) is not None:
        raise invalid(f"Account {account_id} already exists.", param="id")
    call = Call("POST", "/v1/accounts", PLATFORM, dict(spec), {}, new_id("req", 14))
    call.params.setdefault("type", "express" if "capabilities" in spec else "standard")
    account = create(world, call)
    if account_id is not None:
        world.store.drop(account["id"])
        account["id"] = account_id
        account["external_accounts"]["url"] = f"/v1/accounts/{account_id}/external_accounts"
        world.store.add(PLATFORM, account)
    return complete_onboarding(world, account["id"])
