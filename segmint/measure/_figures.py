"""The two shapes a campaign figure takes: a number that may be undefined, and a rate.

A figure that cannot be computed carries ``None`` and the reason in words, so a table, the
JSON and the web page can all say why a cell is empty instead of showing ``inf`` or ``nan``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Figure", "Rate"]


@dataclass(frozen=True)
class Figure:
    """A number, or ``None`` with the reason it is undefined."""

    value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Rate:
    """``successes / trials`` with its confidence interval (``low``, ``high``)."""

    successes: int
    trials: int
    value: float | None
    low: float | None
    high: float | None
    reason: str | None = None
