"""Population stability index (PSI): one number per feature, with the bins it was summed over.

PSI is what credit-risk and marketing teams already read (0.1 and 0.25 are the usual "watch"
and "act" marks), so it is reported next to whichever test decides drift, never instead of it.
Numeric features are cut at the baseline's deciles, so each bin holds about a tenth of the
baseline and the bins say where the current sample moved; categorical ones use their values.
A bin empty on one side would make the logarithm infinite: its share counts as
:data:`EPSILON` in the sum (the recorded shares stay as observed).

The deciles are ``numpy.quantile``'s (linear), interpolated here, as numpy does, between the
two order statistics around each decile that the engine returns; the bin counts are the
engine's counts at or below each edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: quantile bins of the baseline for a numeric feature
N_BINS = 10
#: the share an empty bin counts as in the PSI sum
EPSILON = 0.0001

#: the quantiles of the baseline that cut its bins (numpy's arange, as np.quantile is called)
QUANTILES = np.arange(1, N_BINS) / N_BINS


def decile_edges(n: int, ends: Sequence[tuple[float, float | None]]) -> list[float]:
    """The distinct inner edges: the 10 %, …, 90 % quantiles (``numpy.quantile``, linear) of
    ``n`` values, from the two order statistics around each (``ends``; the second is None
    when there is none), interpolated as numpy's ``_lerp`` does."""
    virtual = (n - 1) * QUANTILES
    gamma = virtual - np.floor(virtual)
    a = np.array([lo for lo, _ in ends], dtype=float)
    b = np.array([lo if hi is None else hi for lo, hi in ends], dtype=float)
    diff = b - a  # numpy interpolates from the nearer end, so the result is monotone in gamma
    qs = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return [float(q) for q in np.unique(qs)]


def numeric_bins(
    edges: Sequence[float],
    baseline: tuple[Sequence[int], int],
    current: tuple[Sequence[int], int],
) -> tuple[float, list[dict[str, Any]]]:
    """PSI over the bins (-inf, e1], (e1, e2], …, (ek, inf), and the bins; each side is
    (values ≤ each edge, values)."""
    base, cur = _bin_shares(*baseline), _bin_shares(*current)
    lows, highs = [-np.inf, *edges], [*edges, np.inf]
    bins = [
        {"low": float(lo), "high": float(hi), "baseline_share": b, "current_share": c}
        for lo, hi, b, c in zip(lows, highs, base.tolist(), cur.tolist(), strict=True)
    ]
    return psi_of_shares(base, cur), bins


def categorical_bins(
    keys: Sequence[object], baseline: np.ndarray, current: np.ndarray
) -> tuple[float, list[dict[str, Any]]]:
    """PSI over one bin per value (``keys``, counted by ``baseline`` and ``current``)."""
    base, cur = baseline / baseline.sum(), current / current.sum()
    bins = [
        {"value": k, "baseline_share": b, "current_share": c}
        for k, b, c in zip(keys, base.tolist(), cur.tolist(), strict=True)
    ]
    return psi_of_shares(base, cur), bins


def psi_of_shares(base: np.ndarray, cur: np.ndarray) -> float:
    """Σ (current − baseline) · ln(current / baseline), empty shares counted as EPSILON."""
    b = np.where(base == 0, EPSILON, base)
    c = np.where(cur == 0, EPSILON, cur)
    return float(np.sum((c - b) * np.log(c / b)))


def _bin_shares(at_most: Sequence[int], n: int) -> np.ndarray:
    """Shares in the bins from the counts at or below each edge."""
    cumulative = np.array([0, *at_most, n])
    return np.diff(cumulative) / n
