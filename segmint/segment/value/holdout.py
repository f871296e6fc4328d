"""Calibration/holdout check: fit on the calibration period, compare with what happened next.

Customers are grouped by their calibration-period frequency (0, 1, …, 6, 7+); per group the
mean predicted number of purchases in the holdout period is set against the mean actual
number. The single error figure is the mean absolute error per customer; the total error is
(Σ predicted − Σ actual) / Σ actual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.segment.value._transaction import TransactionModel
from segmint.segment.value.mbgnbd import ModifiedBetaGeoModel

__all__ = ["HoldoutCheck", "holdout_check"]

TOP_BUCKET = 7


@dataclass(frozen=True)
class HoldoutCheck:
    """Predicted vs actual holdout purchases per frequency bucket, and the error figures."""

    buckets: pd.DataFrame
    mae: float
    total_predicted: float
    total_actual: float
    duration: float
    unit: str

    @property
    def total_error(self) -> float:
        if self.total_actual == 0:
            return float("nan")
        return (self.total_predicted - self.total_actual) / self.total_actual

    def to_dict(self) -> dict[str, Any]:
        return {
            "buckets": self.buckets.to_dict("records"),
            "mae": self.mae,
            "total_predicted": self.total_predicted,
            "total_actual": self.total_actual,
            "total_error": self.total_error,
            "duration": self.duration,
            "unit": self.unit,
        }


def holdout_check(
    summary: pd.DataFrame,
    *,
    penalizer: float = 0.0,
    model: type[TransactionModel] = ModifiedBetaGeoModel,
) -> HoldoutCheck:
    """Fit ``model`` (MBG/NBD, the value segmenter's purchase model, by default) on
    ``summary`` (with frequency_holdout and duration_holdout columns, from
    ``summary_from_orders(..., holdout_end=...)``) and compare predictions with the holdout."""
    need = ("frequency_holdout", "duration_holdout")
    if any(c not in summary.columns for c in need):
        raise ModelError(
            "The holdout check needs a summary with frequency_holdout and duration_holdout.",
            fix="build it with summary_from_orders(orders, as_of=calibration_end, "
            "holdout_end=...) or Workspace.value_summary(holdout_days=90).",
        )
    fitted = model(penalizer=penalizer).fit(summary)
    duration = float(summary["duration_holdout"].iloc[0])
    predicted = fitted.expected_purchases(duration, summary).to_numpy()
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    freq = summary["frequency"].to_numpy()
    bucket = np.minimum(freq, TOP_BUCKET).astype(int)
    frame = pd.DataFrame({"bucket": bucket, "predicted": predicted, "actual": actual})
    grouped = frame.groupby("bucket").agg(
        customers=("actual", "size"), predicted=("predicted", "mean"), actual=("actual", "mean")
    )
    grouped = grouped.reset_index()
    grouped["frequency"] = [
        f"{b}+" if b == TOP_BUCKET else str(b) for b in grouped.pop("bucket").to_numpy()
    ]
    grouped = grouped[["frequency", "customers", "predicted", "actual"]]
    return HoldoutCheck(
        buckets=grouped,
        mae=float(np.mean(np.abs(predicted - actual))),
        total_predicted=float(predicted.sum()),
        total_actual=float(actual.sum()),
        duration=duration,
        unit=str(summary.attrs.get("unit", "")),
    )
