"""Is the order history long enough for what a method's labels say, and is the as-of date
near the data?

RFM's "Lost" and "Hibernating" are relative recency scores: on 55 days of orders, "Lost" means
"no purchase in the last few weeks", not a customer who has left. A value model asked for a
365-day CLV from 55 days extrapolates far beyond what it saw. And an as-of date months after
the last order makes every customer look lapsed, so recency-based labels describe the gap, not
the customers. None of these is an error (the numbers are computed correctly), so each becomes
a plain warning next to the segmentation it concerns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "RFM_MIN_DAYS",
    "HistorySpan",
    "as_of_gap_limit",
    "history_span",
    "history_warnings",
]

#: RFM's lapsed labels assume a history that covers several buying cycles (half a year)
RFM_MIN_DAYS = 180
#: features whose meaning shifts when the as-of date lies far past the data
RECENCY_FEATURES = ("recency_days", "tenure_days")


@dataclass(frozen=True)
class HistorySpan:
    """Calendar days from the first to the last order, and from the last order to the as-of
    date (``gap``)."""

    days: float
    gap: float


def history_span(features: pd.DataFrame) -> HistorySpan | None:
    """The span of the orders behind ``features`` (from ``tenure_days`` and ``recency_days``,
    both counted back from the as-of date), or None when they are missing."""
    if not set(RECENCY_FEATURES) <= set(features.columns):
        return None
    tenure = pd.to_numeric(features["tenure_days"], errors="coerce").max()
    recency = pd.to_numeric(features["recency_days"], errors="coerce").min()
    if pd.isna(tenure) or pd.isna(recency):
        return None
    return HistorySpan(days=float(tenure - recency), gap=float(recency))


def as_of_gap_limit(days: float) -> float:
    """How far past the last order the as-of date may lie before it is worth a warning: a
    month, or a tenth of the history when that is longer."""
    return max(30.0, 0.1 * days)


def history_warnings(
    span: HistorySpan | None,
    method: str,
    *,
    features: Sequence[str] = (),
    horizon_days: float | None = None,
) -> list[str]:
    """Warnings for a segmentation by ``method`` on ``features`` (value: with a CLV horizon)."""
    if span is None:
        return []
    out = []
    days = f"{span.days:,.0f} days"
    if method == "rfm" and span.days < RFM_MIN_DAYS:
        out.append(
            f"The order history covers only {days}, but RFM's labels such as 'Lost', "
            f"'Hibernating' and 'At Risk' assume at least {RFM_MIN_DAYS} days (several buying "
            "cycles): here they rank how recently customers bought within those "
            f"{days}; they do not show who has left. Use a longer history for churn labels."
        )
    if method == "value" and horizon_days is not None and span.days < horizon_days:
        out.append(
            f"The value model forecasts {horizon_days:,.0f} days ahead from {days} of orders: "
            "CLV, expected purchases and P(alive) extrapolate well beyond what the data show. "
            f"Use a horizon of at most {days} (horizon_days) or a longer history."
        )
    recency_based = method in ("rfm", "value") or any(f in RECENCY_FEATURES for f in features)
    if recency_based and span.gap > as_of_gap_limit(span.days):
        out.append(
            f"The as-of date is {span.gap:,.0f} days after the last order in the data: every "
            f"customer looks at least {span.gap:,.0f} days lapsed, so recency-based labels "
            "describe that gap, not the customers. Check the as-of date, or import the newer "
            "orders."
        )
    return out
