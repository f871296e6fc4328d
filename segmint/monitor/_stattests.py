"""The drift statistics, chosen as Evidently's ``DataDriftPreset`` chooses them by default.

Evidently is the tool users compare against, so its defaults are the reference behaviour
(``evidently.legacy.calculations.stattests``: ``registry._get_default_stattest`` and one module
per test; ``utils.data_preprocessing._get_column_type`` for the column kind). Each test here is
a thin call of the scipy function Evidently calls, so a value can be checked against scipy
directly. The thresholds, bins and sources are listed in docs/monitoring.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
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


def column_kind(baseline: pd.Series, current: pd.Series) -> str:
    """ "numeric" or "categorical", as Evidently's ``_get_column_type`` decides.

    Booleans, strings and other objects are categorical; integers with at most
    :data:`FEW_VALUES` distinct values in the baseline (else in current) are categorical too;
    other numbers are numeric. Both series come without missing values.
    """
    dtype = baseline.dtype if len(baseline) else current.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "categorical"
    if pd.api.types.is_integer_dtype(dtype):
        n_unique = baseline.nunique() or current.nunique()
        return "categorical" if n_unique <= FEW_VALUES else "numeric"
    return "numeric"


def choose_method(baseline: pd.Series, current: pd.Series, kind: str) -> str:
    """Evidently's default test for a column of this kind and these two samples."""
    n_values = pd.concat([baseline, current]).nunique()
    few = kind == "categorical" or n_values <= FEW_VALUES
    if len(baseline) <= SMALL_REFERENCE:
        if few:
            return "chisquare" if n_values > 2 else "z"
        return "ks"
    return "jensenshannon" if few else "wasserstein"


def run_test(method: str, baseline: pd.Series, current: pd.Series) -> TestResult:
    """The named test on two samples without missing values."""
    if method == "ks":
        ks = stats.ks_2samp(baseline.to_numpy(), current.to_numpy())
        return _p_result(method, float(ks.statistic), float(ks.pvalue), inclusive=True)
    if method == "chisquare":
        return _p_result(method, *_chisquare(baseline, current), inclusive=False)
    if method == "z":
        return _p_result(method, *_z_test(baseline, current), inclusive=False)
    if method == "wasserstein":
        norm = max(float(np.std(baseline.to_numpy(dtype=float))), MIN_STD)
        value = stats.wasserstein_distance(baseline.to_numpy(), current.to_numpy()) / norm
        return _distance_result(method, float(value))
    if method == "jensenshannon":
        keys = categories(baseline, current)
        value = distance.jensenshannon(shares(baseline, keys), shares(current, keys))
        return _distance_result(method, float(value))
    raise ValueError(f"unknown drift method {method!r}")


def categories(baseline: pd.Series, current: pd.Series) -> list[object]:
    """The values seen in either sample, in a stable order (sorted as text)."""
    return sorted(set(baseline.unique()) | set(current.unique()), key=str)


def shares(values: pd.Series, keys: list[object]) -> np.ndarray:
    """The share of ``values`` equal to each key (0 for a key not seen)."""
    counts = values.value_counts()
    return np.array([counts.get(k, 0) for k in keys], dtype=float) / len(values)


def _chisquare(baseline: pd.Series, current: pd.Series) -> tuple[float, float]:
    """Goodness of fit of current's counts to the baseline's shares (Evidently's chi-square).

    A category absent from the baseline has an expected count of 0: the statistic is infinite
    and p is 0, so a new category in a small sample always counts as drift.
    """
    keys = categories(baseline, current)
    observed = shares(current, keys) * len(current)
    expected = shares(baseline, keys) * len(current)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(observed, expected)
    return float(result.statistic), float(result.pvalue)


def _z_test(baseline: pd.Series, current: pd.Series) -> tuple[float, float]:
    """Two-proportion z-test of the share of the second value (Evidently's "z" for binaries).

    Both samples holding one and the same value: z = 0 and p = 1 (nothing to compare).
    """
    keys = categories(baseline, current)
    if len(keys) < 2:
        return 0.0, 1.0
    p1 = float((baseline != keys[0]).mean())
    p2 = float((current != keys[0]).mean())
    n1, n2 = len(baseline), len(current)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(z), float(2 * stats.norm.sf(abs(z)))


def _p_result(method: str, statistic: float, p: float, *, inclusive: bool) -> TestResult:
    drifted = p <= P_THRESHOLD if inclusive else p < P_THRESHOLD
    return TestResult(method, statistic, P_THRESHOLD, p, bool(drifted))


def _distance_result(method: str, value: float) -> TestResult:
    return TestResult(method, value, DISTANCE_THRESHOLD, None, bool(value >= DISTANCE_THRESHOLD))
