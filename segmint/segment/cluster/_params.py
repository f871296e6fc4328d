"""Parameter checks with scikit-learn-style messages, run at the start of ``fit``.

Every message says which parameter of which class, what it must be, and what it got:

>>> try:
...     check_int("KMeansSegmenter", "k", 1, minimum=2, also="'auto'")
... except Exception as e:
...     print(e.problem)
The 'k' parameter of KMeansSegmenter must be an int ≥ 2 or 'auto'. Got 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from segmint.exceptions import ModelError

__all__ = [
    "check_choice",
    "check_columns",
    "check_int",
    "check_k_range",
    "check_real",
    "check_seed",
]


def _fail(owner: str, name: str, expected: str, value: Any, fix: str | None = None) -> ModelError:
    return ModelError(
        f"The '{name}' parameter of {owner} must be {expected}. Got {value!r}.",
        fix=fix or f"pass {name}= as described in help({owner}).",
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_int(
    owner: str,
    name: str,
    value: Any,
    *,
    minimum: int,
    also: str | None = None,
    allow_none: bool = False,
    fix: str | None = None,
) -> None:
    """``value`` is an int ≥ ``minimum`` (or None when ``allow_none``); ``also`` names other
    accepted values (checked by the caller before calling)."""
    if allow_none and value is None:
        return
    if _is_int(value) and value >= minimum:
        return
    expected = f"an int ≥ {minimum}"
    if also:
        expected += f" or {also}"
    if allow_none:
        expected += " or None"
    raise _fail(owner, name, expected, value, fix)


def check_real(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float,
    high: float,
    high_open: bool = False,
    fix: str | None = None,
) -> None:
    """``value`` is a real number in ``[low, high]`` (``[low, high)`` when ``high_open``)."""
    ok = isinstance(value, Real) and not isinstance(value, bool)
    if ok:
        ok = low <= float(value) < high if high_open else low <= float(value) <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise _fail(owner, name, f"a number in [{low:g}, {high:g}{bracket}", value, fix)


def check_choice(
    owner: str, name: str, value: Any, choices: Sequence[Any], fix: str | None = None
) -> None:
    """``value`` is one of ``choices``."""
    if any(value is c or (type(value) is type(c) and value == c) for c in choices):
        return
    listed = ", ".join(repr(c) for c in choices)
    raise _fail(owner, name, f"one of {listed}", value, fix)


def check_k_range(owner: str, value: Any) -> tuple[int, int]:
    """``k_range`` is a pair of ints ``(low, high)`` with ``2 ≤ low ≤ high``."""
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(_is_int(v) for v in value)
        and 2 <= value[0] <= value[1]
    )
    if not ok:
        raise _fail(
            owner,
            "k_range",
            "a pair of ints (low, high) with 2 ≤ low ≤ high",
            value,
            "pass for example k_range=(2, 10).",
        )
    return int(value[0]), int(value[1])


def check_seed(owner: str, value: Any) -> None:
    """``random_state`` is None or an int ≥ 0."""
    check_int(owner, "random_state", value, minimum=0, allow_none=True)


def check_columns(owner: str, value: Any) -> None:
    """``columns`` is None or a non-empty list of column names."""
    ok = value is None or (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(c, str) for c in value)
    )
    if not ok:
        raise _fail(
            owner,
            "columns",
            "None or a non-empty list of column names",
            value,
            "pass for example columns=['recency_days', 'frequency'].",
        )
