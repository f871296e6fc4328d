"""Text formatting for the report: every number is turned into text here, never in templates.

All helpers are tolerant: a missing, non-numeric, NaN or infinite value becomes ``"–"``.

>>> count(12345), share(0.2534), money(1234.5), lift(1.234), score(7.26)
('12,345', '25.3 %', '1,234.50', '+1.23 sd', '7.3')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from segmint.features import catalog

__all__ = [
    "DASH",
    "count",
    "decimal",
    "feature",
    "items",
    "lift",
    "mapping",
    "money",
    "number",
    "ratio",
    "score",
    "share",
    "text",
]

DASH = "–"


def feature(column: Any) -> str:
    """A feature column as a reader sees it: the catalog's plain label, or an imported
    attribute's header in words (``monetary_total`` → 'total spend'); the column name itself
    stays in the report where an analyst needs it (rules, the key-variable table)."""
    return catalog.label(str(column)) if column is not None else DASH


def number(value: Any) -> float | None:
    """A finite float, or ``None`` for missing, boolean, non-numeric, NaN or infinite values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def count(value: Any) -> str:
    """12345 → ``'12,345'`` (rounded to a whole number)."""
    n = number(value)
    return DASH if n is None else f"{round(n):,}"


def share(value: Any) -> str:
    """0.2534 → ``'25.3 %'``; tiny non-zero shares are not rounded to zero."""
    n = number(value)
    if n is None:
        return DASH
    percent = n * 100
    if percent == 0:
        return "0 %"
    if 0 < percent < 0.1:
        return "< 0.1 %"
    if 99.9 < percent < 100:
        return "> 99.9 %"
    return f"{percent:.1f} %"


def money(value: Any) -> str:
    """Amounts in the data's own currency units: two decimals below 10,000, whole above."""
    n = number(value)
    if n is None:
        return DASH
    return f"{n:,.0f}" if abs(n) >= 10_000 else f"{n:,.2f}"


def decimal(value: Any) -> str:
    """A measurement (a feature mean, a statistic): about three significant digits."""
    n = number(value)
    if n is None:
        return DASH
    if n == 0:
        return "0"
    if abs(n) >= 1000:
        return f"{n:,.0f}"
    if abs(n) >= 1:
        return f"{n:,.2f}".rstrip("0").rstrip(".")
    return f"{n:.3g}"


def lift(value: Any) -> str:
    """A standardized difference: ``'+1.23 sd'`` / ``'−0.40 sd'``."""
    n = number(value)
    if n is None:
        return DASH
    sign = "+" if n >= 0 else "−"
    return f"{sign}{abs(n):.2f} sd"


def ratio(value: Any) -> str:
    """A multiplicative lift such as 3.8 → ``'×3.8'``."""
    n = number(value)
    return DASH if n is None else f"×{n:.1f}"


def score(value: Any) -> str:
    """An importance score on the 1–10 scale: one decimal."""
    n = number(value)
    return DASH if n is None else f"{n:.1f}"


def text(value: Any) -> str:
    """Any value as display text (``None`` → empty, 3.0 → ``'3'``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """``value`` as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, list | tuple) else []
