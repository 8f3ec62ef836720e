"""Numbers in words for business owners: money, percentages, counts, intervals."""

from __future__ import annotations

import math

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥", "CHF": "CHF "}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def money(x, currency: str = "USD", decimals: int | None = None) -> str:
    """1234.5 -> '$1,234.50'; large amounts lose the cents ('$12,345')."""
    if _missing(x):
        return "n/a"
    x = float(x)
    if decimals is None:
        decimals = 0 if abs(x) >= 1000 else 2
    sign = "-" if x < 0 else ""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{abs(x):,.{decimals}f}"


def pct(x, decimals: int = 1, signed: bool = False) -> str:
    """0.1234 -> '12.3%' (a share given as a fraction)."""
    if _missing(x):
        return "n/a"
    return f"{x * 100:{'+' if signed else ''}.{decimals}f}%"


def pp(x, decimals: int = 1) -> str:
    """A difference of two shares in percentage points: 0.006 -> '+0.6 pp'."""
    if _missing(x):
        return "n/a"
    text = f"{x * 100:+.{decimals}f} pp"
    return "+" + text[1:] if float(text[1:-3]) == 0 else text  # never "-0.0 pp"


def num(x, decimals: int = 0) -> str:
    if _missing(x):
        return "n/a"
    return f"{float(x):,.{decimals}f}"


def p_value(p: float) -> str:
    """'p < 0.001', 'p = 0.012', 'p = 0.34': never the unreadable 7.4e-41."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def interval(low, high, formatter=pct) -> str:
    """'between 1.2% and 3.4%'."""
    return f"between {formatter(low)} and {formatter(high)}"
