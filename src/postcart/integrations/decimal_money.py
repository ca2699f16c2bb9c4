"""Minor units (postcart's integers) to and from the decimal strings and numbers of REST APIs that speak
in major units ("5.50" dollars). ISO 4217 exponents: most currencies have two decimals; the few without
any are listed (three-decimal currencies are not sold in)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})


def exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def to_minor(value: object, currency: str) -> int:
    """A decimal amount as minor units, halves rounded up; ValueError when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("not an amount")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("not an amount") from None
    if not number.is_finite():
        raise ValueError("not an amount")
    return int(number.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
