"""The drift statistics, chosen as Evidently's ``DataDriftPreset`` chooses them by default.

Evidently is the tool users compare against, so its defaults are the reference behaviour
(``evidently.legacy.calculations.stattests``: ``registry._get_default_stattest`` and one module
per test; ``utils.data_preprocessing._get_column_type`` for the column kind). Each test here
runs on aggregates computed in the engine (``_aggregates.py``: value counts, the gaps between
the two empirical distribution functions, the standard deviation), never on the values
themselves, and gives what the scipy function Evidently calls gives on those values: the
tests on counts call it on the same counts, and Kolmogorov–Smirnov's p-value is scipy's for the
same D and sample sizes. Thresholds, bins and sources: docs/monitoring.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
from scipy import stats
from scipy.spatial import distance

#: reference rows up to which p-value tests are used; above, distances (Evidently)
SMALL_REFERENCE = 1_000
#: at most this many distinct values over both samples: tested as categories (Evidently)
FEW_VALUES = 5
#: significance level of the tests: drifted when p ≤ (KS) or < (chi-square, z) this
P_THRESHOLD = 0.05
#: normed Wasserstein and Jensen–Shannon distance at or above this: drifted
DISTANCE_THRESHOLD = 0.1
#: floor of the reference's standard deviation that normalises the Wasserstein distance
MIN_STD = 0.001
#: largest sample for which scipy's ks_2samp computes the exact p-value (its MAX_AUTO_N)
KS_EXACT_UP_TO = 10_000

#: the tests that give a p-value (drifted when it is small) rather than a distance
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: which test, its statistic, p-value (tests only) and verdict."""

    __test__ = False  # not a pytest class

    method: str
    statistic: float
    threshold: float
    p_value: float | None
    drifted: bool


def column_kind(dtype: ibis.DataType, distinct: int | None) -> str:
    """ "numeric" or "categorical", as Evidently's ``_get_column_type`` decides.

    Booleans, strings and other non-numbers are categorical; integers with at most
    :data:`FEW_VALUES` distinct values (``distinct``: the baseline's, or current's when the
    baseline has none) are categorical too; other numbers (floats, decimals) are numeric.
    """
    if dtype.is_boolean() or not dtype.is_numeric():
        return "categorical"
    if dtype.is_integer():
        return "categorical" if (distinct or 0) <= FEW_VALUES else "numeric"
    return "numeric"


def choose_method(n_baseline: int, n_values: int, kind: str) -> str:
    """Evidently's default test for a column of this kind, ``n_baseline`` baseline values and
    ``n_values`` distinct values over both samples."""
    few = kind == "categorical" or n_values <= FEW_VALUES
    if n_baseline <= SMALL_REFERENCE:
        if few:
            return "chisquare" if n_values > 2 else "z"
        return "ks"
    return "jensenshannon" if few else "wasserstein"


def ks_test(dmax: float, dmin: float, n1: int, n2: int) -> TestResult:
    """scipy's two-sided ``ks_2samp`` from the extreme gaps F₁ − F₂ over the pooled values.

    Its p-value depends on the data only through D, n1 and n2, so scipy is called on two
    two-valued samples of the same sizes whose one gap is the observed one (the same float):
    the same D, the same exact or asymptotic p. Above :data:`KS_EXACT_UP_TO` values scipy uses
    Smirnov's asymptotic formula, taken here as scipy writes it (no samples built).
    """
    low = float(np.clip(-dmin, 0, 1))
    gap = dmin if low > dmax else dmax
    if max(n1, n2) > KS_EXACT_UP_TO:
        m, n = sorted([float(n1), float(n2)], reverse=True)
        d = abs(gap)
        p = float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
        return _p_result("ks", d, p, inclusive=True)
    i, j = _counts_for_gap(gap, n1, n2)
    first = np.repeat([0, 1], [i, n1 - i])
    second = np.repeat([0, 1], [j, n2 - j])
    ks = stats.ks_2samp(first, second)
    return _p_result("ks", float(ks.statistic), float(ks.pvalue), inclusive=True)


def chisquare_test(baseline: np.ndarray, current: np.ndarray) -> TestResult:
    """Goodness of fit of current's counts to the baseline's shares (Evidently's chi-square).

    ``baseline`` and ``current`` count the same categories. A category absent from the
    baseline has an expected count of 0: the statistic is infinite and p is 0, so a new
    category in a small sample always counts as drift.
    """
    n = current.sum()
    observed = current / n * n
    expected = baseline / baseline.sum() * n
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(observed, expected)
    return _p_result("chisquare", float(result.statistic), float(result.pvalue), inclusive=False)


def z_test(baseline: np.ndarray, current: np.ndarray) -> TestResult:
    """Two-proportion z-test of the share of the second value (Evidently's "z" for binaries).

    Both samples holding one and the same value: z = 0 and p = 1 (nothing to compare).
    """
    if len(baseline) < 2:
        return _p_result("z", 0.0, 1.0, inclusive=False)
    n1, n2 = int(baseline.sum()), int(current.sum())
    p1 = (n1 - int(baseline[0])) / n1
    p2 = (n2 - int(current[0])) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return _p_result("z", float(z), float(2 * stats.norm.sf(abs(z))), inclusive=False)


def wasserstein_test(area: float, std: float) -> TestResult:
    """∫ |F₁ − F₂| dx (scipy's ``wasserstein_distance``) over the baseline's population
    standard deviation, floored at :data:`MIN_STD` as Evidently does."""
    return _distance_result("wasserstein", area / max(std, MIN_STD))


def jensenshannon_test(baseline: np.ndarray, current: np.ndarray) -> TestResult:
    """scipy's Jensen–Shannon distance (natural log) between the two samples' shares."""
    value = distance.jensenshannon(baseline / baseline.sum(), current / current.sum())
    return _distance_result("jensenshannon", float(value))


def _counts_for_gap(gap: float, n1: int, n2: int) -> tuple[int, int]:
    """Counts i ≤ n1, j ≤ n2 with i/n1 − j/n2 equal to ``gap`` as numpy computes it."""
    for i in range(n1 + 1):
        near = round((i / n1 - gap) * n2)
        for j in (near, near - 1, near + 1):
            if 0 <= j <= n2 and i / n1 - j / n2 == gap:
                return i, j
    raise ValueError(f"no counts give the KS gap {gap!r} for sizes {n1}, {n2}")


def _p_result(method: str, statistic: float, p: float, *, inclusive: bool) -> TestResult:
    drifted = p <= P_THRESHOLD if inclusive else p < P_THRESHOLD
    return TestResult(method, statistic, P_THRESHOLD, p, bool(drifted))


def _distance_result(method: str, value: float) -> TestResult:
    return TestResult(method, value, DISTANCE_THRESHOLD, None, bool(value >= DISTANCE_THRESHOLD))
