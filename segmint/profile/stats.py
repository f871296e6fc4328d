"""Per-segment statistics: size, revenue, means, medians, lift, over-represented categories.

Definitions (also in ``docs/profiles.md``):

* ``share`` = segment size / all profiled customers;
* ``revenue`` = sum of the value column (default ``monetary_total``) in the segment,
  ``revenue_share`` = revenue / population revenue, ``avg_value`` = revenue / size; without a
  numeric value column these are 0 and a note says so;
* ``means``/``medians`` skip missing values; ``lift`` of a numeric feature = (segment mean −
  population mean) / population standard deviation (sample std, ddof = 1); a constant
  feature has lift 0;
* a categorical or boolean value is *over-represented* in a segment when its share there is at
  least :data:`MIN_RATIO` times its population share, at least :data:`MIN_SHARE` of the segment
  has it and at least :data:`MIN_COUNT` customers (or the whole segment, when smaller) carry it;
  ``lift`` is then the ratio segment share / population share (missing values left out);
  at most :data:`MAX_OVER` per segment, highest lift first.

Every customer counts (no sampling): moments come from one pass over each segment's rows and
are combined exactly into population moments and the ANOVA F statistic.

>>> import pandas as pd
>>> from segmint.profile._frame import prepare
>>> X = pd.DataFrame({"monetary_total": [10.0, 20.0, 30.0, 40.0]}, index=list("abcd"))
>>> st = segment_stats(prepare(X, pd.Series(["A", "A", "B", "B"], index=list("abcd"))))
>>> st.segments["B"]["revenue_share"], round(st.segments["B"]["lift"]["monetary_total"], 3)
(0.7, 0.775)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmint.profile._frame import Prepared

__all__ = [
    "MAX_OVER",
    "MIN_COUNT",
    "MIN_RATIO",
    "MIN_SHARE",
    "SegmentStats",
    "f_statistics",
    "segment_stats",
]

MIN_RATIO = 1.25
MIN_SHARE = 0.05
MIN_COUNT = 10
MAX_OVER = 5


@dataclass
class SegmentStats:
    """Population and per-segment numbers, plus per-segment moments (rows: classes)."""

    population: dict[str, Any]
    segments: dict[str, dict[str, Any]]
    numeric: list[str]
    notes: list[str] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    means: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    variances: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: per segment: {column: (q25, q75)} for the columns asked for
    quartiles: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)


def _median_inplace(T: np.ndarray) -> np.ndarray:
    """Row medians of ``T`` (no NaN), partitioning ``T`` in place."""
    m = T.shape[1]
    kth = [(m - 1) // 2, m // 2]
    T.partition(sorted(set(kth)), axis=1)
    return np.asarray((T[:, kth[0]] + T[:, kth[1]]) / 2.0)


def _moments(MT: np.ndarray, rows: np.ndarray, q_rows: list[int]) -> tuple[np.ndarray, ...]:
    """count of known values, mean, variance, median per feature over the customers ``rows``
    of ``MT`` (features × customers), and the quartiles of the features ``q_rows``.

    One feature at a time: each is gathered into a fresh 1-D copy (partitioned in place for
    its median), so a segment's slice of the matrix is never held whole (on 1M customers
    that slice of the largest segment was the profile's largest temporary). The numbers
    are those of the 2-D functions along the same row (same pairwise sums and selection).
    """
    p, m = MT.shape[0], len(rows)
    nan = np.full(p, np.nan)
    if m == 0:
        return np.zeros(p), nan, nan, nan, np.full((2, len(q_rows)), np.nan)
    cnt, mean, var, med = np.zeros(p), nan.copy(), nan.copy(), nan.copy()
    q = np.full((2, len(q_rows)), np.nan)
    quartile = {qi: j for j, qi in enumerate(q_rows)}
    # Features with no known value (or one, for the variance) keep NaN: they are left out of
    # the nan-functions instead of silencing their warnings (warnings.catch_warnings is global
    # state, which the profile's second thread could restore under it).
    with np.errstate(all="ignore"):
        for f in range(p):
            x = MT[f, rows]
            known = m - int(np.count_nonzero(np.isnan(x)))
            cnt[f] = known
            j = quartile.get(f)
            if known == m:
                if j is not None:
                    q[:, j] = np.quantile(x, [0.25, 0.75])
                mean[f] = x.mean()
                if m > 1:
                    var[f] = x.var(ddof=1)
                med[f] = _median_inplace(x[None, :])[0]
            elif known:
                if j is not None:
                    q[:, j] = np.nanquantile(x, [0.25, 0.75])
                mean[f] = np.nanmean(x)
                med[f] = np.nanmedian(x)
                if known > 1:
                    var[f] = np.nanvar(x, ddof=1)
    return cnt, mean, var, med, q


def segment_stats(
    P: Prepared, *, value: str = "monetary_total", quartiles: list[str] | None = None
) -> SegmentStats:
    """Statistics of every segment; ``quartiles`` names columns whose IQR is wanted."""
    num, k = P.numeric, len(P.classes)
    q_names = [c for c in (quartiles or []) if c in num]
    q_cols = [num.index(c) for c in q_names]
    sizes = P.sizes()
    MT = P.M.T  # features × customers: each segment's slice is gathered row-wise
    parts = [_moments(MT, rows, q_cols) for rows in P.groups()]
    counts = np.array([p[0] for p in parts]).reshape(k, len(num))
    means = np.array([p[1] for p in parts]).reshape(k, len(num))
    variances = np.array([p[2] for p in parts]).reshape(k, len(num))
    medians = np.array([p[3] for p in parts]).reshape(k, len(num))
    pop_mean, pop_std = _pooled(counts, means, variances)
    with np.errstate(all="ignore"):
        lift = np.where(pop_std > 0, (means - pop_mean) / pop_std, 0.0)
    lift = np.nan_to_num(lift, nan=0.0)

    notes: list[str] = []
    revenue: np.ndarray
    if value in num:
        revenue = np.bincount(P.codes, weights=np.nan_to_num(P.M[:, num.index(value)]), minlength=k)
    else:
        notes.append(
            f"No numeric value column '{value}' in the features: revenue, revenue share and "
            "average value are 0."
        )
        revenue = np.zeros(k)
    total = float(revenue.sum())
    over = _over_represented(P, [c for c in P.categorical if c != value], sizes)
    segments: dict[str, dict[str, Any]] = {}
    for i, label in enumerate(P.classes):
        if sizes[i] == 0:
            continue
        segments[label] = {
            "size": int(sizes[i]),
            "share": float(sizes[i]) / P.n,
            "revenue": float(revenue[i]),
            "revenue_share": float(revenue[i]) / total if total else 0.0,
            "avg_value": float(revenue[i]) / float(sizes[i]),
            "means": dict(zip(num, means[i].tolist(), strict=True)),
            "medians": dict(zip(num, medians[i].tolist(), strict=True)),
            "lift": dict(zip(num, lift[i].tolist(), strict=True)),
            "over_represented": over[i],
        }
    population = {
        "customers": P.n,
        "revenue": total,
        "means": dict(zip(num, pop_mean.tolist(), strict=True)),
        "stds": dict(zip(num, pop_std.tolist(), strict=True)),
    }
    q = {
        label: {
            c: (float(parts[i][4][0, j]), float(parts[i][4][1, j])) for j, c in enumerate(q_names)
        }
        for i, label in enumerate(P.classes)
    }
    return SegmentStats(population, segments, num, notes, counts, means, variances, q)


def _pooled(
    counts: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Population mean and sample std combined exactly from per-segment moments."""
    N = counts.sum(axis=0)
    with np.errstate(all="ignore"):
        m = np.where(N > 0, np.nansum(counts * np.nan_to_num(means), axis=0) / N, np.nan)
        within = np.nansum((counts - 1).clip(0) * np.nan_to_num(variances), axis=0)
        between = np.nansum(counts * (np.nan_to_num(means) - m) ** 2, axis=0)
        std = np.where(N > 1, np.sqrt((within + between) / (N - 1)), np.nan)
    return m, std


def _over_represented(
    P: Prepared, columns: list[str], sizes: np.ndarray
) -> list[list[dict[str, Any]]]:
    k = len(P.classes)
    out: list[list[dict[str, Any]]] = [[] for _ in range(k)]
    for col in columns:
        vcodes, values = pd.factorize(P.X[col])
        known = vcodes >= 0
        if not known.any():
            continue
        nv = len(values)
        table = np.bincount(P.codes[known] * nv + vcodes[known], minlength=k * nv).reshape(k, nv)
        pop = table.sum(axis=0) / known.sum()
        seg_n = table.sum(axis=1)
        for i in range(k):
            for j in range(nv):
                count = int(table[i, j])
                if count == 0:
                    continue
                share = count / int(seg_n[i])
                ratio = share / float(pop[j])
                if ratio >= MIN_RATIO and share >= MIN_SHARE and count >= min(MIN_COUNT, sizes[i]):
                    val = values[j]
                    out[i].append(
                        {
                            "column": col,
                            "value": val.item() if isinstance(val, np.generic) else val,
                            "share": share,
                            "population_share": float(pop[j]),
                            "lift": ratio,
                        }
                    )
    return [
        sorted(items, key=lambda d: (-d["lift"], d["column"], str(d["value"])))[:MAX_OVER]
        for items in out
    ]


def f_statistics(stats: SegmentStats) -> dict[str, float]:
    """One-way ANOVA F of every numeric feature across segments, from grouped moments.

    F = [Σ n_g (m_g − m)² / (k − 1)] / [Σ (n_g − 1) s_g² / (N − k)], the same number as
    ``scipy.stats.f_oneway`` (missing values left out per feature). NaN with fewer than two
    non-empty segments; 0 for a constant feature; ``inf`` when segments differ but have no
    variance inside.
    """
    out: dict[str, float] = {}
    for j, c in enumerate(stats.numeric):
        n_g = stats.counts[:, j]
        keep = n_g > 0
        n_g, m_g = n_g[keep], stats.means[keep, j]
        v_g = np.nan_to_num(stats.variances[keep, j])
        k, N = len(n_g), float(n_g.sum())
        if k < 2 or k >= N:
            out[c] = float("nan")
            continue
        grand = float((n_g * m_g).sum() / N)
        between = float((n_g * (m_g - grand) ** 2).sum()) / (k - 1)
        within = float(((n_g - 1) * v_g).sum()) / (N - k)
        scale = max(1.0, abs(grand)) ** 2
        if between <= 1e-12 * scale:
            out[c] = 0.0
        elif within <= 1e-12 * scale:
            out[c] = float("inf")
        else:
            out[c] = between / within
    return out
