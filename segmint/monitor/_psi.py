"""Population stability index (PSI): one number per feature, with the bins it was summed over.

PSI is what credit-risk and marketing teams already read (0.1 and 0.25 are the usual "watch"
and "act" marks), so it is reported next to whichever test decides drift, never instead of it.
Numeric features are cut at the baseline's deciles, so each bin holds about a tenth of the
baseline and the bins say where the current sample moved; categorical ones use their values.
A bin empty on one side would make the logarithm infinite: its share counts as
:data:`EPSILON` in the sum (the recorded shares stay as observed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.monitor._stattests import categories, shares

#: quantile bins of the baseline for a numeric feature
N_BINS = 10
#: the share an empty bin counts as in the PSI sum
EPSILON = 0.0001


def psi(baseline: pd.Series, current: pd.Series, kind: str) -> tuple[float, list[dict]]:
    """PSI of two samples without missing values, and its bins."""
    if kind == "numeric":
        edges = decile_edges(baseline)
        base, cur = _bin_shares(baseline, edges), _bin_shares(current, edges)
        lows = [-np.inf, *edges]
        highs = [*edges, np.inf]
        bins = [
            {"low": float(lo), "high": float(hi), "baseline_share": b, "current_share": c}
            for lo, hi, b, c in zip(lows, highs, base.tolist(), cur.tolist(), strict=True)
        ]
    else:
        keys = categories(baseline, current)
        base, cur = shares(baseline, keys), shares(current, keys)
        bins = [
            {"value": _plain(k), "baseline_share": b, "current_share": c}
            for k, b, c in zip(keys, base.tolist(), cur.tolist(), strict=True)
        ]
    return psi_of_shares(base, cur), bins


def psi_of_shares(base: np.ndarray, cur: np.ndarray) -> float:
    """Σ (current − baseline) · ln(current / baseline), empty shares counted as EPSILON."""
    b = np.where(base == 0, EPSILON, base)
    c = np.where(cur == 0, EPSILON, cur)
    return float(np.sum((c - b) * np.log(c / b)))


def decile_edges(baseline: pd.Series) -> list[float]:
    """The distinct inner edges: the baseline's 10 %, 20 %, …, 90 % quantiles (linear)."""
    qs = np.quantile(baseline.to_numpy(dtype=float), np.arange(1, N_BINS) / N_BINS)
    return [float(q) for q in np.unique(qs)]


def _bin_shares(values: pd.Series, edges: list[float]) -> np.ndarray:
    """Shares in the bins (-inf, e1], (e1, e2], …, (ek, inf)."""
    index = np.searchsorted(np.asarray(edges), values.to_numpy(dtype=float), side="left")
    return np.bincount(index, minlength=len(edges) + 1) / len(values)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
