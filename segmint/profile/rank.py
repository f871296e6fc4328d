"""Assess and rank segments (M11): a 1–10 importance score with its formula and weights shown.

Each component compares a segment with a reference and lands in [0, 1]; 0.5 means "like the
reference" (definitions and a worked example in ``docs/ranking.md``):

* ``size`` — share of customers s, as s / (s + 1/n) (n segments: 1/n is an even split);
* ``revenue`` — revenue share r, as r / (r + 1/n);
* ``value`` — average value per customer v, as v / (v + v̄) with v̄ the population's average;
* ``growth`` — L / (L + P) with L, P the segment's revenue in the last 90 days and the 90 days
  before (feature columns ``revenue_last_90d`` / ``revenue_prev_90d``; 0.5 = flat);
* ``reachability`` — share of customers with ``consent_email`` true (else ``has_email``);
* ``potential`` — mean customer lifetime value c (feature column ``clv``, from a value
  segmentation), as c / (c + c̄) with c̄ the population's mean.

A ratio x / (x + ref) rises with x, is not dominated by one extreme segment (a segment ten
times the average gets 0.91, not 1 with everyone else squeezed near 0) and does not change
when every amount is multiplied by the same factor (a currency).

``importance = 1 + 9 × Σ wᵢ·cᵢ / Σ wᵢ`` over the components that carry information, rounded
half up to one decimal. A component is left out (weights renormalized, a note and
``Ranking.dropped`` say why) when its columns are absent, when it is the same for every
segment (reachability 0 everywhere without contact data), or when its data cannot measure it
(growth without revenue in the earlier window: the history is shorter than 180 days).

>>> import pandas as pd
>>> from segmint.profile import Profiles, SegmentProfile
>>> segs = [SegmentProfile("A", "Big", 80, 0.8, 400.0, 0.4, 5.0),
...         SegmentProfile("B", "Rich", 20, 0.2, 600.0, 0.6, 30.0)]
>>> p = Profiles("demo", "rules", {"customers": 100, "revenue": 1000.0}, segs, [], 1.0,
...              pd.DataFrame(columns=["customer_id", "segment"]))
>>> r = rank(p, pd.DataFrame())
>>> [(s.label, s.score, s.rank) for s in r.segments]
[('B', 5.8, 1), ('A', 5.2, 2)]
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
    #: the weights the score uses (components left out are not here)
    weights: dict[str, float]
    segments: list[RankedSegment]
    notes: list[str] = field(default_factory=list)
    #: component → why it was left out of the score (no data, or no information)
    dropped: dict[str, str] = field(default_factory=dict)

    def segment(self, label: str) -> RankedSegment:
        """The ranked entry of segment ``label`` (KeyError if absent)."""
        for seg in self.segments:
            if seg.label == label:
                return seg
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: formula, weights, segments (label, name, score, rank, components), notes,
        dropped (component → reason)."""
        return {
            "formula": self.formula,
            "weights": json_ready(self.weights),
            "segments": [s.to_dict() for s in self.segments],
            "notes": list(self.notes),
            "dropped": dict(self.dropped),
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


def _ratio(x: float, ref: float) -> float:
    """x / (x + ref) for x clipped at 0 and ref > 0: 0.5 when x equals the reference."""
    x = max(float(x), 0.0) if math.isfinite(float(x)) else 0.0
    return x / (x + ref)


def _profile_parts(profiles: Profiles, why: dict[str, str]) -> dict[str, dict[str, float] | None]:
    """Size, revenue and value per label, from the profiles alone."""
    segs = profiles.segments
    even = 1.0 / max(len(segs), 1)
    known = [s for s in segs if math.isfinite(float(s.avg_value))]
    customers = sum(float(s.size) for s in known)
    average = sum(float(s.size) * float(s.avg_value) for s in known) / customers if customers else 0
    value: dict[str, float] | None = None
    if average > 0:
        value = {s.label: _ratio(s.avg_value, average) for s in segs}
    else:
        why["value"] = "the population's average value is not positive, so there is no yardstick"
    return {
        "size": {s.label: _ratio(min(float(s.share), 1.0), even) for s in segs},
        "revenue": {s.label: _ratio(min(float(s.revenue_share), 1.0), even) for s in segs},
        "value": value,
    }


def _missing(features: pd.DataFrame, why: dict[str, str]) -> tuple[bool, str | None, bool]:
    """Which per-customer columns are there; a reason for each component that has none."""
    has_growth = all(c in features.columns for c in GROWTH_COLUMNS)
    reach_col = next((c for c in REACH_COLUMNS if c in features.columns), None)
    has_clv = POTENTIAL_COLUMN in features.columns
    if not has_growth:
        why["growth"] = "the features have no revenue_last_90d / revenue_prev_90d"
    if reach_col is None:
        why["reachability"] = "the features have no consent_email or has_email column"
    if not has_clv:
        why["potential"] = "the features have no clv column (add a value segmentation)"
    return has_growth, reach_col, has_clv


def _grouped(
    features: pd.DataFrame, labels: pd.Series, profiles: Profiles, needed: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``needed`` columns of the customers that have a segment, and their labels."""
    label_of = {s.name: s.label for s in profiles.segments}
    known = {s.label for s in profiles.segments}
    # map each distinct value once (a Python call per customer is slow on millions)
    labels = labels.map({v: v if v in known else label_of.get(v, v) for v in labels.unique()})
    X = features[needed]  # only these: a copy of every feature would cost time and memory
    y = labels.reindex(X.index)
    keep = y.notna().to_numpy()
    if not keep.all():
        X = X.loc[keep]
    return X, y[keep].astype(str).to_numpy()


def _growth(X: pd.DataFrame, y: np.ndarray, why: dict[str, str]) -> dict[str, float]:
    last = X[GROWTH_COLUMNS[0]].astype(float).fillna(0.0).groupby(y).sum().clip(lower=0)
    prev = X[GROWTH_COLUMNS[1]].astype(float).fillna(0.0).groupby(y).sum().clip(lower=0)
    if float(prev.sum()) <= 0:
        why["growth"] = (
            "no segment had revenue in the 90 days before the last 90, so growth cannot be "
            "measured (the history is probably shorter than the 180 days it compares)"
        )
    total = last + prev
    return {str(k): float(last[k] / total[k]) if total[k] > 0 else 0.0 for k in total.index}


def _potential(X: pd.DataFrame, y: np.ndarray, why: dict[str, str]) -> dict[str, float]:
    clv = X[POTENTIAL_COLUMN].astype(float)
    reference = float(clv.mean()) if clv.notna().any() else 0.0
    if not reference > 0:
        why["potential"] = "the mean lifetime value forecast is not positive: no yardstick"
        return {str(k): 0.0 for k in pd.unique(y)}
    mean_clv = clv.groupby(y).mean().fillna(0.0)
    return {str(k): _ratio(v, reference) for k, v in mean_clv.items()}


def _per_segment(
    features: pd.DataFrame,
    labels: pd.Series | None,
    profiles: Profiles,
    why: dict[str, str],
    notes: list[str],
) -> dict[str, dict[str, float] | None]:
    """Growth, reachability and potential per label; None (with a reason) when not to be had."""
    if "customer_id" in features.columns:
        features = features.set_index("customer_id")
    has_growth, reach_col, has_clv = _missing(features, why)
    out: dict[str, dict[str, float] | None] = dict.fromkeys(PER_SEGMENT)
    if not has_growth and reach_col is None and not has_clv:
        return out
    if labels is None:
        for k in PER_SEGMENT:
            why.setdefault(
                k,
                "the profiles carry no customer → segment assignments (reasons frame) to group "
                "the features by",
            )
        return out
    needed = [POTENTIAL_COLUMN] if has_clv else []
    needed += list(GROWTH_COLUMNS) if has_growth else []
    needed += [reach_col] if reach_col is not None else []
    X, y = _grouped(features, labels, profiles, needed)
    if has_clv:
        out["potential"] = _potential(X, y, why)
    if has_growth:
        out["growth"] = _growth(X, y, why)
    if reach_col is not None:
        share = _truthy(X[reach_col]).groupby(y).mean()
        out["reachability"] = {str(k): float(v) for k, v in share.items()}
        if reach_col == "has_email":
            notes.append("reachability uses has_email (no consent_email column).")
    return out


def _constant(
    parts: dict[str, dict[str, float] | None], profiles: Profiles, why: dict[str, str]
) -> None:
    """A reason for every computed component that is the same for every segment."""
    if len(profiles.segments) < 2:
        return
    for k, per_label in parts.items():
        if per_label is None or k in why:
            continue
        values = [per_label.get(s.label, 0.0) for s in profiles.segments]
        if max(values) - min(values) <= 1e-9:
            why[k] = f"it is {values[0]:.3g} for every segment, so it cannot tell them apart"


def _used_weights(
    w: dict[str, float], parts: dict[str, dict[str, float] | None], why: dict[str, str]
) -> tuple[dict[str, float], list[str]]:
    """The weights of the informative components (renormalized later), and notes."""
    available = {k: v for k, v in w.items() if parts[k] is not None}
    if sum(available.values()) <= 0:
        raise SpecError(
            f"The ranking weights of the available components ({', '.join(available)}) sum to 0.",
            fix="give at least one available component a positive weight.",
        )
    used = {k: v for k, v in available.items() if k not in why}
    if sum(used.values()) <= 0:  # nothing tells the segments apart: they all score the same
        for k in available:
            why.pop(k, None)
        note = "No weighted component tells the segments apart: every segment scores the same."
        return available, [note]
    return used, [
        f"{k} left out: {why[k]}; the other weights are renormalized."
        for k in COMPONENTS
        if k in why and w.get(k, 0) > 0
    ]


def rank(
    profiles: Profiles,
    features: pd.DataFrame,
    *,
    weights: dict[str, float] | None = None,
    labels: pd.Series | None = None,
) -> Ranking:
    """Score every segment of ``profiles`` 1–10 and rank them (ties: label order).

    ``features`` is indexed by ``customer_id`` (or has the column); it supplies growth,
    reachability and potential columns when present, grouped by the customer → segment
    assignments in ``profiles.reasons`` (or ``labels``, a Series customer_id → label).
    ``weights`` override :data:`DEFAULT_WEIGHTS` per component (0 drops one). Components
    without data or information are left out and listed in ``Ranking.dropped``.
    """
    w = _checked_weights(weights)
    why: dict[str, str] = {}
    notes: list[str] = []
    parts = _profile_parts(profiles, why)
    parts.update(_per_segment(features, _labels(profiles, labels), profiles, why, notes))
    _constant(parts, profiles, why)
    used, left_out = _used_weights(w, parts, why)
    total_w = sum(used.values())
    rows = []
    for s in profiles.segments:
        comp = {k: v.get(s.label, 0.0) for k, v in parts.items() if v is not None}
        weighted = float(sum(used[k] * comp[k] for k in used) / total_w)
        rows.append((s, comp, weighted))
    rows.sort(key=lambda r: (-round(r[2], 12), r[0].label))
    ranked = [
        RankedSegment(s.label, s.name, _round_half_up(1 + 9 * wt), i + 1, comp, wt)
        for i, (s, comp, wt) in enumerate(rows)
    ]
    terms = " + ".join(f"{v:g} × {k}" for k, v in used.items())
    formula = f"importance = 1 + 9 × ({terms}) / {total_w:g}, rounded to 1 decimal"
    dropped = {k: why[k] for k in COMPONENTS if k in why}
    return Ranking(formula, dict(used), ranked, [*left_out, *notes], dropped)
