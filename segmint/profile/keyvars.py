"""Key variables (M3): which numeric features separate the segments, and which are useless.

Three measures are each scaled to [0, 1] by dividing by their largest value over the features,
and averaged into ``importance``:

1. ``f_stat`` — one-way ANOVA F across segments on every customer (from per-segment moments;
   equal to ``scipy.stats.f_oneway``); an infinite F (no variance inside segments) scales to 1;
2. ``mutual_info`` — ``sklearn.feature_selection.mutual_info_classif`` (nats, seeded) on a
   random sample of at most :data:`MI_SAMPLE_ROWS` customers;
3. ``permutation_importance`` — mean drop in accuracy of the shallow surrogate tree (the one
   behind the explanation rules) when the feature's column is shuffled (3 seeded repeats), on
   the tree's own sample (≤ 50,000 customers). Features the tree does not split on score
   exactly 0 without being shuffled; negative drops count 0.

``rank`` 1 is the most important feature (ties by name); constant features come last with
importance 0 and ``flag`` ``"constant"``. A feature whose |Pearson r| with a better-ranked
feature X is ≥ :data:`REDUNDANT_R` (on the surrogate's sample) is flagged
``"redundant with X (r = 0.97)"``; otherwise ``flag`` is ``None``. Missing values are replaced
by the feature's median first.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> y = pd.Series(np.repeat(["a", "b"], 200))
>>> X = pd.DataFrame({"spend": np.r_[rng.normal(0, 1, 200), rng.normal(3, 1, 200)],
...                   "noise": rng.normal(size=400), "flat": np.ones(400)})
>>> [(k["feature"], k["rank"], k["flag"]) for k in key_variables(X, y)]
[('spend', 1, None), ('noise', 2, None), ('flat', 3, 'constant')]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_selection import mutual_info_classif

from segmint.profile._frame import Prepared, prepare, sample_positions
from segmint.profile.explain import Surrogate, fit_surrogate
from segmint.profile.stats import SegmentStats, f_statistics, segment_stats
from segmint.segment.base import Segmentation

__all__ = ["MI_SAMPLE_ROWS", "REDUNDANT_R", "key_variables", "rank_features"]

MI_SAMPLE_ROWS = 5_000
REDUNDANT_R = 0.95
REPEATS = 3


def key_variables(
    features: pd.DataFrame,
    segmentation: Segmentation | pd.Series,
    *,
    max_depth: int = 3,
    random_state: int = 0,
) -> list[dict[str, Any]]:
    """Rank the numeric features of ``features`` by how well they separate the segments.

    ``segmentation`` is a :class:`Segmentation` or a Series of labels indexed by customer_id.
    """
    labels = segmentation.labels if isinstance(segmentation, Segmentation) else segmentation
    P = prepare(features, labels)
    stats = segment_stats(P)
    surrogate = fit_surrogate(P, max_depth=max_depth, random_state=random_state)
    return rank_features(P, stats, surrogate, random_state=random_state)


def _scaled(values: np.ndarray) -> np.ndarray:
    finite = np.where(np.isfinite(values), values, np.nan)
    top = float(np.nanmax(finite)) if np.isfinite(finite).any() else 0.0
    scaled = np.nan_to_num(finite) / top if top > 0 else np.zeros_like(values)
    return np.clip(np.where(np.isposinf(values), 1.0, scaled), 0.0, 1.0)


def permutation_drops(s: Surrogate, random_state: int = 0) -> np.ndarray:
    """Mean accuracy drop of the surrogate per feature when that column is shuffled."""
    p = len(s.columns)
    drops = np.zeros(p)
    if s.X_sample.shape[0] == 0:
        return drops
    used = sorted({int(f) for f in s.tree.tree_.feature if f >= 0})
    base = float(np.mean(s.tree.predict(s.X_sample) == s.y_sample))
    rng = np.random.default_rng(random_state)
    Xp = s.X_sample.copy()
    for j in used:
        scores = []
        for _ in range(REPEATS):
            Xp[:, j] = rng.permutation(s.X_sample[:, j])
            scores.append(float(np.mean(s.tree.predict(Xp) == s.y_sample)))
        Xp[:, j] = s.X_sample[:, j]
        drops[j] = max(0.0, base - float(np.mean(scores)))
    return drops


def rank_features(
    P: Prepared, stats: SegmentStats, surrogate: Surrogate, *, random_state: int = 0
) -> list[dict[str, Any]]:
    """Combine F, mutual information and permutation importance; flag constant/redundant."""
    columns = surrogate.columns
    p = len(columns)
    if p == 0:
        return []
    constant = _constant(P) if P.n else np.ones(p, dtype=bool)
    f_map = f_statistics(stats)
    f_stat = np.array([f_map.get(c, math.nan) for c in columns], dtype=np.float64)
    mi = np.zeros(p)
    perm = np.zeros(p)
    if len(np.unique(P.codes)) >= 2:
        pos = sample_positions(P.codes, MI_SAMPLE_ROWS, random_state)
        live = ~constant
        if live.any():
            sample = P.imputed_rows(pos)[:, live]
            mi[live] = mutual_info_classif(sample, P.codes[pos], random_state=random_state)
        perm = permutation_drops(surrogate, random_state)
    importance = (_scaled(f_stat) + _scaled(mi) + _scaled(perm)) / 3.0
    importance = np.where(constant, 0.0, importance)
    order = sorted(range(p), key=lambda j: (bool(constant[j]), -importance[j], columns[j]))
    flags = _flags(order, constant, surrogate.X_sample, columns)
    return [
        {
            "feature": columns[j],
            "f_stat": float(f_stat[j]),
            "mutual_info": float(mi[j]),
            "permutation_importance": float(perm[j]),
            "importance": float(importance[j]),
            "rank": r + 1,
            "flag": flags[j],
        }
        for r, j in enumerate(order)
    ]


def _constant(P: Prepared) -> np.ndarray:
    """Columns with one known value or none (what the median-imputed matrix has as constant)."""
    low, high = np.fmin.reduce(P.M, axis=0), np.fmax.reduce(P.M, axis=0)  # NaN-skipping
    return np.asarray(np.isnan(low) | (low == high))


def _flags(
    order: list[int], constant: np.ndarray, sample: np.ndarray, columns: list[str]
) -> dict[int, str | None]:
    flags: dict[int, str | None] = {}
    corr = np.full((len(columns), len(columns)), np.nan)
    if sample.shape[0] > 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.atleast_2d(np.corrcoef(sample, rowvar=False))
    better: list[int] = []
    for j in order:
        if constant[j]:
            flags[j] = "constant"
            continue
        flags[j] = None
        for b in better:
            r = float(corr[b, j])
            if math.isfinite(r) and abs(r) >= REDUNDANT_R:
                flags[j] = f"redundant with {columns[b]} (r = {r:.2f})"
                break
        better.append(j)
    return flags
