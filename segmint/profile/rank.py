"""Assess and rank segments (M11): a 1–10 importance score with its formula and weights shown.

Components per segment, each in [0, 1] (definitions in ``docs/ranking.md``):

* ``size`` — share of customers;
* ``revenue`` — revenue share (clipped to [0, 1]);
* ``value`` — average value per customer / the best segment's (0 when no segment is positive);
* ``growth`` — L / (L + P) with L, P the segment's revenue in the last 90 days and the 90 days
  before (feature columns ``revenue_last_90d`` / ``revenue_prev_90d``; 0.5 = flat);
* ``reachability`` — share of customers with ``consent_email`` true (else ``has_email``);
* ``potential`` — the segment's mean customer lifetime value (feature column ``clv``, from a
  value segmentation) / the best segment's (0 when no segment is positive).

``importance = 1 + 9 × Σ wᵢ·cᵢ / Σ wᵢ`` over the available components, rounded half up to one
decimal. A component whose columns are absent is left out (weights renormalized, with a note).

>>> import pandas as pd
>>> from segmint.profile import Profiles, SegmentProfile
>>> segs = [SegmentProfile("A", "Big", 80, 0.8, 400.0, 0.4, 5.0),
...         SegmentProfile("B", "Rich", 20, 0.2, 600.0, 0.6, 30.0)]
>>> p = Profiles("demo", "rules", {"customers": 100, "revenue": 1000.0}, segs, [], 1.0,
...              pd.DataFrame(columns=["customer_id", "segment"]))
>>> r = rank(p, pd.DataFrame())
>>> [(s.label, s.score, s.rank) for s in r.segments]
[('B', 6.4, 1), ('A', 5.0, 2)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import SpecError
from segmint.profile._types import Profiles, json_ready

__all__ = ["COMPONENTS", "DEFAULT_WEIGHTS", "RankedSegment", "Ranking", "rank"]

COMPONENTS = ("size", "revenue", "value", "growth", "reachability", "potential")
DEFAULT_WEIGHTS: dict[str, float] = {
    "size": 0.2,
    "revenue": 0.3,
    "value": 0.2,
    "growth": 0.15,
    "reachability": 0.15,
    "potential": 0.2,
}
POTENTIAL_COLUMN = "clv"
#: components computed per segment from customer features (the rest come from the profiles)
PER_SEGMENT = ("growth", "reachability", "potential")
GROWTH_COLUMNS = ("revenue_last_90d", "revenue_prev_90d")
REACH_COLUMNS = ("consent_email", "has_email")
_TRUE = {"true", "t", "yes", "y", "1"}


@dataclass(frozen=True)
class RankedSegment:
    """One segment's importance: ``score`` 1–10, ``rank`` 1 = most important."""

    label: str
    name: str
    score: float
    rank: int
    components: dict[str, float]
    #: Σ wᵢ·cᵢ / Σ wᵢ before scaling and rounding (used to break ties)
    weighted: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_ready(
            {
                "label": self.label,
                "name": self.name,
                "score": self.score,
                "rank": self.rank,
                "components": self.components,
            }
        )
        return out


@dataclass
class Ranking:
    """Ranked segments (best first), the formula with its actual weights, and notes."""

    formula: str
    weights: dict[str, float]
    segments: list[RankedSegment]
    notes: list[str] = field(default_factory=list)

    def segment(self, label: str) -> RankedSegment:
        """The ranked entry of segment ``label`` (KeyError if absent)."""
        for seg in self.segments:
            if seg.label == label:
                return seg
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: formula, weights, segments (label, name, score, rank, components), notes."""
        return {
            "formula": self.formula,
            "weights": json_ready(self.weights),
            "segments": [s.to_dict() for s in self.segments],
            "notes": list(self.notes),
        }


def _round_half_up(x: float) -> float:
    return float(Decimal(repr(round(float(x), 9))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _checked_weights(weights: dict[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_WEIGHTS)
    if weights is None:
        return merged
    problems = []
    if not isinstance(weights, dict):
        raise SpecError(
            f"Ranking weights must be a dict of component → weight. Got {weights!r}.",
            fix=f"e.g. weights={{'growth': 0.3}}; components: {', '.join(COMPONENTS)}.",
        )
    for key, w in weights.items():
        if key not in COMPONENTS:
            problems.append(f"unknown component {key!r} (expected one of {', '.join(COMPONENTS)})")
        elif (
            isinstance(w, bool)
            or not isinstance(w, (int, float, np.number))
            or not math.isfinite(float(w))
            or float(w) < 0
        ):
            problems.append(f"the weight of {key!r} must be a number ≥ 0; got {w!r}")
        else:
            merged[key] = float(w)
    if problems:
        raise SpecError(
            "Invalid ranking weights: " + "; ".join(problems) + ".",
            fix="give weights ≥ 0 for size, revenue, value, growth, reachability, potential "
            "(components not named keep their default weight).",
            problems=problems,
        )
    return merged


def _labels(profiles: Profiles, labels: pd.Series | None) -> pd.Series | None:
    if labels is not None:
        return labels.astype(str)
    r = profiles.reasons
    if isinstance(r, pd.DataFrame) and {"customer_id", "segment"} <= set(r.columns) and len(r):
        return pd.Series(r["segment"].astype(str).to_numpy(), index=r["customer_id"].to_numpy())
    return None


def _truthy(col: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(col):
        return col.fillna(0).astype(float) > 0
    return col.astype("string").str.strip().str.lower().isin(_TRUE).fillna(False).astype(bool)


def _per_segment(
    features: pd.DataFrame, labels: pd.Series | None, profiles: Profiles, notes: list[str]
) -> dict[str, dict[str, float] | None]:
    """Growth, reachability and potential per label; None (with a note) when not to be had."""
    if "customer_id" in features.columns:
        features = features.set_index("customer_id")
    has_growth = all(c in features.columns for c in GROWTH_COLUMNS)
    reach_col = next((c for c in REACH_COLUMNS if c in features.columns), None)
    has_clv = POTENTIAL_COLUMN in features.columns
    if not has_clv:
        notes.append(
            "potential left out: the features have no clv column (add a value segmentation); "
            "the other weights are renormalized."
        )
    if not has_growth:
        notes.append(
            "growth left out: the features have no revenue_last_90d / revenue_prev_90d; "
            "the other weights are renormalized."
        )
    if reach_col is None:
        notes.append(
            "reachability left out: the features have no consent_email or has_email column; "
            "the other weights are renormalized."
        )
    none: dict[str, dict[str, float] | None] = dict.fromkeys(PER_SEGMENT)
    if not has_growth and reach_col is None and not has_clv:
        return none
    if labels is None:
        notes.append(
            "growth, reachability and potential left out: the profiles carry no customer → "
            "segment assignments (reasons frame) to group the features by."
        )
        return none
    label_of = {s.name: s.label for s in profiles.segments}
    known = {s.label for s in profiles.segments}
    # map each distinct value once (a Python call per customer is slow on millions)
    labels = labels.map({v: v if v in known else label_of.get(v, v) for v in labels.unique()})
    needed = [POTENTIAL_COLUMN] if has_clv else []
    needed += list(GROWTH_COLUMNS) if has_growth else []
    needed += [reach_col] if reach_col is not None else []
    X = features[needed]  # only these: a copy of every feature would cost time and memory
    y = labels.reindex(X.index)
    keep = y.notna().to_numpy()
    if not keep.all():
        X = X.loc[keep]
    y = y[keep].astype(str).to_numpy()
    growth = reach = potential = None
    if has_clv:
        mean_clv = X[POTENTIAL_COLUMN].astype(float).groupby(y).mean().fillna(0.0)
        best = max(float(mean_clv.max()), 0.0)
        potential = {
            str(k): max(float(v), 0.0) / best if best > 0 else 0.0 for k, v in mean_clv.items()
        }
    if has_growth:
        last = X[GROWTH_COLUMNS[0]].astype(float).fillna(0.0).groupby(y).sum().clip(lower=0)
        prev = X[GROWTH_COLUMNS[1]].astype(float).fillna(0.0).groupby(y).sum().clip(lower=0)
        total = last + prev
        growth = {str(k): float(last[k] / total[k]) if total[k] > 0 else 0.0 for k in total.index}
    if reach_col is not None:
        share = _truthy(X[reach_col]).groupby(y).mean()
        reach = {str(k): float(v) for k, v in share.items()}
        if reach_col == "has_email":
            notes.append("reachability uses has_email (no consent_email column).")
    return {"growth": growth, "reachability": reach, "potential": potential}


def rank(
    profiles: Profiles,
    features: pd.DataFrame,
    *,
    weights: dict[str, float] | None = None,
    labels: pd.Series | None = None,
) -> Ranking:
    """Score every segment of ``profiles`` 1–10 and rank them (ties: label order).

    ``features`` is indexed by ``customer_id`` (or has the column); it supplies growth and
    reachability columns when present, grouped by the customer → segment assignments in
    ``profiles.reasons`` (or ``labels``, a Series customer_id → label). ``weights`` override
    :data:`DEFAULT_WEIGHTS` per component (0 drops one).
    """
    w = _checked_weights(weights)
    notes: list[str] = []
    parts = _per_segment(features, _labels(profiles, labels), profiles, notes)
    used = {k: v for k, v in w.items() if k not in parts or parts[k] is not None}
    total_w = sum(used.values())
    if total_w <= 0:
        raise SpecError(
            f"The ranking weights of the available components ({', '.join(used)}) sum to 0.",
            fix="give at least one available component a positive weight.",
        )
    best_value = max((s.avg_value for s in profiles.segments), default=0.0)
    rows = []
    for s in profiles.segments:
        comp = {
            "size": min(max(float(s.share), 0.0), 1.0),
            "revenue": min(max(float(s.revenue_share), 0.0), 1.0),
            "value": max(float(s.avg_value), 0.0) / best_value if best_value > 0 else 0.0,
        }
        for k, per_label in parts.items():
            if per_label is not None and k in used:
                comp[k] = per_label.get(s.label, 0.0)
        weighted = float(sum(used[k] * comp[k] for k in used) / total_w)
        rows.append((s, comp, weighted))
    rows.sort(key=lambda r: (-round(r[2], 12), r[0].label))
    ranked = [
        RankedSegment(s.label, s.name, _round_half_up(1 + 9 * wt), i + 1, comp, wt)
        for i, (s, comp, wt) in enumerate(rows)
    ]
    terms = " + ".join(f"{v:g} × {k}" for k, v in used.items())
    formula = f"importance = 1 + 9 × ({terms}) / {total_w:g}, rounded to 1 decimal"
    return Ranking(formula=formula, weights=dict(used), segments=ranked, notes=notes)
