"""Stripe's minimum charge amounts (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts),
in minor units. Stripe accepts ~135 presentment currencies, converting the minimum ($0.50) into
each; the emulator knows only the currencies of this table and refuses the others as unsupported,
so it is never more permissive about a minimum it cannot compute."""

from __future__ import annotations

from devstack.stripe_emulator.errors import invalid

MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
}
ZERO_DECIMAL = {"jpy"}  # of the table's currencies; HUF is two-decimal in the API
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹"}


def supported(currency: str) -> str:
    if currency not in MINIMUM_CHARGE:
        raise invalid(
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            f"{', '.join(MINIMUM_CHARGE)} (the local emulator knows only these).",
            param="currency",
            code="parameter_invalid_string",
        )
    return currency


def major(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return str(amount)
    return f"{amount / 100:.2f}"


def check_minimum(amount: int, currency: str, param: str = "amount") -> None:
    minimum = MINIMUM_CHARGE[currency]
    if amount < minimum:
        raise invalid(
            f"Amount must be at least {_SYMBOLS.get(currency, '')}{major(minimum, currency)} "
            f"{currency}",
            param=param,
            code="amount_too_small",
        )
