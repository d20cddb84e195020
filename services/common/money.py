"""Money display. Amounts are integer minor units everywhere; only presentation divides."""

from __future__ import annotations

# ISO 4217 currencies whose minor unit is not 1/100.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {**dict.fromkeys(_ZERO.split(), 0), **dict.fromkeys(_THREE.split(), 3)}


def minor_unit_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def format_money(amount_minor: int, currency: str) -> str:
    """1999, "USD" → "19.99 USD" (integer arithmetic only)."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exponent)
    if not exponent:
        return f"{sign}{whole} {currency}"
    return f"{sign}{whole}.{frac:0{exponent}d} {currency}"
