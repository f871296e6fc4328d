"""The shapes a profile produces: :class:`SegmentProfile` per segment, :class:`Profiles` per run.

Other stages (ranking, targeting, the HTML report) build against these names, so keep them.

>>> p = SegmentProfile(label="0", name="Frequent buyers", size=10, share=0.5)
>>> p.to_dict()["share"]
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Profiles", "SegmentProfile", "json_ready"]


def json_ready(value: Any) -> Any:
    """Turn ``value`` into plain JSON types, floats at full precision, NaN and ±inf → None.

    Rounding is the reader's business (the report and the web pages format numbers for
    display), so a JSON consumer gets the exact revenue, not one cut to a few digits.

    >>> json_ready({"a": 929929.64, "b": float("nan"), "c": [1, 2.0004567]})
    {'a': 929929.64, 'b': None, 'c': [1, 2.0004567]}
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [json_ready(v) for v in list(value)]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


@dataclass
class SegmentProfile:
    """Everything the report says about one segment (see ``docs/profiles.md``)."""

    label: str
    name: str
    size: int
    share: float
    revenue: float = 0.0
    revenue_share: float = 0.0
    avg_value: float = 0.0
    means: dict[str, float] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    #: (segment mean − population mean) / population std, per numeric feature
    lift: dict[str, float] = field(default_factory=dict)
    #: {"column", "value", "share", "population_share", "lift"} for categorical features
    over_represented: list[dict[str, Any]] = field(default_factory=list)
    #: {"rule", "precision", "recall", "support"} from the surrogate tree
    rules: list[dict[str, Any]] = field(default_factory=list)
    #: {"customer_id", "reasons": [...]} for a few typical customers
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (floats at full precision, NaN → None)."""
        out: dict[str, Any] = json_ready({f.name: getattr(self, f.name) for f in fields(self)})
        return out


@dataclass
class Profiles:
    """Profiles of every segment of one segmentation, plus key variables and explanations."""

    segmentation: str
    method: str
    #: {"customers": n, "revenue": total, "means": {...}, "stds": {...}}
    population: dict[str, Any]
    #: largest first
    segments: list[SegmentProfile]
    #: {"feature", "f_stat", "mutual_info", "importance", "rank", "flag"}
    key_variables: list[dict[str, Any]]
    #: accuracy of the surrogate tree that explains the segments
    fidelity: float
    #: customer_id, segment, reason_1, reason_2, reason_3
    reasons: pd.DataFrame
    #: plain-language notes (e.g. "no value column")
    notes: list[str] = field(default_factory=list)

    def segment(self, label: str) -> SegmentProfile:
        """The profile of segment ``label`` (KeyError if absent)."""
        for seg in self.segments:
            if seg.label == label:
                return seg
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, without the per-customer ``reasons`` frame."""
        return {
            "segmentation": self.segmentation,
            "method": self.method,
            "population": json_ready(self.population),
            "segments": [s.to_dict() for s in self.segments],
            "key_variables": json_ready(self.key_variables),
            "fidelity": json_ready(self.fidelity),
            "notes": list(self.notes),
        }
