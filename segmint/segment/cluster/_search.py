"""The k search: fit each candidate k on a sample, score it, and measure its stability.

For every k the method is fitted once on the sample (``fit``); the silhouette is computed on
the stability subsample (at most 5,000 points), Calinski–Harabasz and Davies–Bouldin on the
whole sample. Stability: ``runs`` times, a resample of the subsample (bootstrap with
replacement, or an 80 % subsample without for density methods) is clustered with the same k
(``refit``), and its assignment of the subsample is compared with the reference fit's
by the adjusted Rand index; the mean is the k's stability. The resampled assignments are kept,
so per-segment (Jaccard) stability of the final model can be computed later.

>>> seeds(0, 2) == seeds(0, 2)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from segmint.segment.cluster._assign import Assigner
from segmint.segment.cluster._scores import internal_scores, silhouettes

__all__ = ["Fitted", "SearchResult", "search_k", "seeds"]

#: most points the silhouette and the stability runs use
MAX_SCORE_POINTS = 5000


@dataclass
class Fitted:
    """One fitted candidate: its assignment rule, training labels (-1: none) and extras."""

    assigner: Assigner
    labels: np.ndarray
    inertia: float = float("nan")
    bic: float = float("nan")
    model: Any = None


FitFn = Callable[[np.ndarray, int, int], Fitted]


@dataclass
class SearchResult:
    curve: pd.DataFrame
    fits: dict[int, Fitted]
    subsample: np.ndarray  # positions (in the sample) of the scoring subsample
    resampled: dict[int, list[np.ndarray]] = field(default_factory=dict)


def seeds(random_state: int | None, n: int) -> list[int]:
    """``n`` reproducible int seeds derived from ``random_state``."""
    rng = np.random.default_rng(random_state)
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=n)]


def search_k(
    Z: np.ndarray,
    ks: Sequence[int],
    fit: FitFn,
    refit: FitFn,
    *,
    runs: int,
    random_state: int | None,
    replace: bool = True,
) -> SearchResult:
    """Fit, score and resample every k in ``ks`` on the sample ``Z`` (see module docstring).

    Runs single-threaded: the sample fits are small, and OpenMP threads spinning on a busy
    machine make them many times slower.
    """
    with threadpool_limits(limits=1):
        return _search(Z, ks, fit, refit, runs=runs, random_state=random_state, replace=replace)


def _search(
    Z: np.ndarray,
    ks: Sequence[int],
    fit: FitFn,
    refit: FitFn,
    *,
    runs: int,
    random_state: int | None,
    replace: bool,
) -> SearchResult:
    rng = np.random.default_rng(random_state)
    m = min(len(Z), MAX_SCORE_POINTS)
    sub = np.sort(rng.choice(len(Z), size=m, replace=False)) if m < len(Z) else np.arange(m)
    S = Z[sub]
    rows: list[dict[str, float]] = []
    fits: dict[int, Fitted] = {}
    resampled: dict[int, list[np.ndarray]] = {}
    for k in ks:
        seed_fit, *seed_runs = (int(s) for s in rng.integers(0, 2**31 - 1, size=runs + 1))
        fitted = fit(Z, k, seed_fit)
        fits[k] = fitted
        ch, db = internal_scores(Z[fitted.labels >= 0], fitted.labels[fitted.labels >= 0])
        ref = fitted.labels[sub]
        resampled[k] = []
        for seed in seed_runs:
            idx = _resample(len(S), replace, np.random.default_rng(seed))
            with warnings.catch_warnings():  # tiny resamples may hold fewer distinct points
                warnings.simplefilter("ignore", ConvergenceWarning)
                again = refit(S[idx], k, seed)
            resampled[k].append(again.assigner.assign(S))
        aris = [adjusted_rand_score(ref, other) for other in resampled[k]]
        rows.append(
            {
                "k": k,
                "calinski_harabasz": ch,
                "davies_bouldin": db,
                "inertia": fitted.inertia,
                "bic": fitted.bic,
                "stability": float(np.mean(aris)) if aris else float("nan"),
                "clusters": float(len(np.unique(fitted.labels[fitted.labels >= 0]))),
                "unassigned_share": float(np.mean(fitted.labels < 0)),
            }
        )
    labelings = [fits[k].labels[sub] for k in ks]
    keep = [lab >= 0 for lab in labelings]
    sil = [
        silhouettes(S[mask], [lab[mask]])[0] if not mask.all() else float("nan")
        for lab, mask in zip(labelings, keep, strict=True)
    ]
    complete = [i for i, mask in enumerate(keep) if mask.all()]
    for i, value in zip(complete, silhouettes(S, [labelings[i] for i in complete]), strict=True):
        sil[i] = value
    curve = pd.DataFrame(rows)
    curve.insert(1, "silhouette", sil)
    return SearchResult(curve=curve, fits=fits, subsample=sub, resampled=resampled)


def _resample(n: int, replace: bool, rng: np.random.Generator) -> np.ndarray:
    if replace:
        return rng.integers(0, n, size=n)
    return np.sort(rng.choice(n, size=max(2, int(0.8 * n)), replace=False))
