"""The statistics of split tests: pure functions over sufficient statistics.

Why this shape: the engine (SQL) reduces each arm of each segment to ``n``, ``sum`` and ``sum of
squares``; everything after that is arithmetic on a handful of numbers, so it lives here as pure
functions over frozen dataclasses, testable against published cases without any data.

The formulas follow GrowthBook's stats engine (gbstats, ``packages/stats/gbstats`` in
github.com/growthbook/growthbook), matched to its own test cases to 5 decimals
(``tests/test_measure_stats.py``):

- :class:`SampleMean`, :class:`Proportion`: ``models/statistics.py`` ``SampleMeanStatistic``,
  ``ProportionStatistic``;
- :func:`frequentist`: ``frequentist/tests.py`` ``TwoSidedTTest`` (Welch–Satterthwaite ``dof``)
  over ``models/tests.py`` ``EffectMoments`` (estimate and delta-method variance, from
  ``utils.py`` ``frequentist_diff``, ``frequentist_variance``, ``variance_of_ratios``);
- :func:`bayesian`: ``bayesian/tests.py`` ``EffectBayesianABTest`` with its default improper flat
  prior (``GaussianPrior(proper=False)``), ``chance_to_win`` and ``get_risk``, and ``utils.py``
  ``gaussian_credible_interval``;
- :func:`sample_ratio`: ``utils.py`` ``check_srm``;
- :func:`adjust`: ``packages/shared/src/experiments/experiments.ts``
  ``adjustPValuesHolmBonferroni`` and ``adjustPValuesBenjaminiHochberg``; BH computed with
  statsmodels' ``multipletests`` (``fdr_bh``), Holm written out (statsmodels' Holm runs a
  full garbage collection on every call) and tested equal to it.

gbstats itself is not a dependency: its PyPI release pins ``numpy<2`` and ``pandas<2``, and
segmint runs on numpy 2 and pandas 3. Where segmint departs from gbstats it says so (and
``docs/experiments.md`` lists every formula and departure): a degenerate case returns NaN numbers
with a status code and a sentence rather than gbstats' zeros; an absolute difference against a
control mean of 0 is computed (gbstats refuses it); impossible sums (a variance below 0 beyond
rounding) raise instead of coming back as zero variance; risk uses the closed form of the
truncated-normal mean instead of ``scipy.stats.truncnorm``; SRM refuses design weights of 0.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.stats import norm, t

__all__ = [
    "Bayesian",
    "Frequentist",
    "Proportion",
    "SampleMean",
    "SampleRatio",
    "Statistic",
    "adjust",
    "bayesian",
    "frequentist",
    "gaussian_risk",
    "sample_ratio",
    "welch_df",
]

#: sums may break ``sum**2 <= n * sum_squares`` by this relative margin (floating-point rounding
#: of the engine's sums) before they count as impossible
_ROUNDING = 1e-9
#: beyond this many standard deviations from 0 the normal tail is 0 in float64 (gbstats
#: ``get_risk`` short-circuits at the same point)
_TAIL_Z = 37.0


def _check_n(n: object, what: str) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{what}: n must be a whole number ≥ 0 (customers in the arm). Got {n!r}.")


def _check_finite(value: float, what: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number. Got {value!r}.")


@dataclass(frozen=True)
class SampleMean:
    """A metric with any values (spend, visits): ``n`` customers, the ``sum`` of their values and
    the ``sum_squares`` of their values. gbstats ``SampleMeanStatistic``.

    >>> s = SampleMean(n=3, sum=6.0, sum_squares=14.0)
    >>> s.mean, s.variance
    (2.0, 1.0)
    """

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        _check_n(self.n, "SampleMean")
        _check_finite(self.sum, "SampleMean.sum")
        _check_finite(self.sum_squares, "SampleMean.sum_squares")
        if self.sum_squares < 0:
            raise ValueError(
                f"SampleMean.sum_squares is a sum of squares and cannot be negative. "
                f"Got {self.sum_squares!r}."
            )
        if self.n == 0 and (self.sum or self.sum_squares):
            raise ValueError("SampleMean with n=0 must have sum=0 and sum_squares=0.")
        if self.sum**2 > self.n * self.sum_squares * (1 + _ROUNDING):
            raise ValueError(
                f"SampleMean(n={self.n}, sum={self.sum!r}, sum_squares={self.sum_squares!r}) is "
                "impossible: sum² cannot exceed n × sum_squares (the variance would be negative). "
                "Check that sum_squares is the sum of the squared values."
            )

    @property
    def mean(self) -> float:
        """``sum / n`` (NaN for an empty arm)."""
        return self.sum / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """The sample variance ``(sum_squares − sum²/n) / (n − 1)`` (NaN when n < 2)."""
        if self.n < 2:
            return math.nan
        return max((self.sum_squares - self.sum**2 / self.n) / (self.n - 1), 0.0)

    @property
    def std(self) -> float:
        """The sample standard deviation."""
        return math.sqrt(self.variance)


@dataclass(frozen=True)
class Proportion:
    """A 0/1 metric (converted, clicked): ``n`` customers, ``sum`` of them with a 1.
    The variance is ``p(1 − p)``, without the ``n/(n − 1)`` factor, as gbstats
    ``ProportionStatistic``.

    >>> p = Proportion(n=4, sum=1)
    >>> p.mean, p.variance, p.sum_squares
    (0.25, 0.1875, 1)
    """

    n: int
    sum: float

    def __post_init__(self) -> None:
        _check_n(self.n, "Proportion")
        _check_finite(self.sum, "Proportion.sum")
        if not 0 <= self.sum <= self.n:
            raise ValueError(
                f"Proportion.sum counts the customers with a 1, so it must be between 0 and "
                f"n={self.n}. Got {self.sum!r}."
            )

    @property
    def sum_squares(self) -> float:
        """For 0/1 values the sum of squares is the sum."""
        return self.sum

    @property
    def mean(self) -> float:
        """The share with a 1 (NaN for an empty arm)."""
        return self.sum / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """``p(1 − p)`` (NaN for an empty arm)."""
        p = self.mean
        return p * (1 - p)

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)


Statistic = SampleMean | Proportion


@dataclass(frozen=True)
class Frequentist:
    """A Welch two-sided t-test of treatment against control.

    ``estimate`` is the relative lift ``(t − c)/|c|`` when ``relative``, else ``t − c``; ``se`` its
    standard error; ``df`` the Welch–Satterthwaite degrees of freedom. When ``status`` is not
    ``"ok"`` every number is NaN and ``message`` says why in a sentence.
    """

    relative: bool
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    se: float
    df: float
    status: str
    message: str
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        """Whether ``p_value < alpha`` (False when there is no result)."""
        return self.status == "ok" and self.p_value < self.alpha


@dataclass(frozen=True)
class Bayesian:
    """GrowthBook's effect model with a flat prior: the posterior of the lift is normal with the
    estimate as mean and its standard error as ``sd``.

    ``risk_control`` is the expected loss of keeping the control (what is given up if the
    treatment is better), ``risk_treatment`` the expected loss of choosing the treatment; both in
    the units of ``expected``. NaN numbers and a ``message`` when ``status`` is not ``"ok"``.
    """

    relative: bool
    expected: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    risk_control: float
    risk_treatment: float
    status: str
    message: str
    sd: float = math.nan
    alpha: float = 0.05


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05 for 95 %). Got {alpha!r}.")


def _check_pair(control: Statistic, treatment: Statistic) -> None:
    for name, stat in (("control", control), ("treatment", treatment)):
        if not isinstance(stat, SampleMean | Proportion):
            raise TypeError(
                f"{name} must be a SampleMean or a Proportion. Got {type(stat).__name__}."
            )
    if type(control) is not type(treatment):
        raise ValueError(
            f"control is a {type(control).__name__} and treatment a {type(treatment).__name__}: "
            "one metric has one kind in both arms (Proportion for 0/1 values, else SampleMean)."
        )


def _degenerate(control: Statistic, treatment: Statistic, relative: bool) -> tuple[str, str] | None:
    """The status code and sentence for inputs no test can use, or None when they are usable.

    Checked in gbstats' order (``EffectMoments.compute_result``): zero variance in either arm
    before a zero baseline.
    """
    arms = (("control", control), ("treatment", treatment))
    for name, s in arms:
        if s.n == 0:
            return "empty_arm", f"The {name} arm has no customers, so there is nothing to compare."
    for name, s in arms:
        if s.n < 2:
            return (
                "too_few",
                f"The {name} arm has 1 customer; a test needs at least 2 in each arm to "
                "estimate how much the metric varies.",
            )
    for name, s in arms:
        if s.variance <= 0:
            value = f"{s.mean:g}" if isinstance(s, SampleMean) else f"{round(s.mean)}"
            return (
                "zero_variance",
                f"The {name} arm has no spread: the metric is {value} for all {s.n:,} of its "
                "customers, so there is no standard error to test against.",
            )
    if relative and control.mean == 0:
        return (
            "zero_baseline",
            "The control mean is 0, so a relative lift (treatment − control) / control is "
            "undefined; use the absolute difference instead.",
        )
    return None


def _moments(control: Statistic, treatment: Statistic, relative: bool) -> tuple[float, float]:
    """The estimate and its standard error (gbstats ``EffectMoments``)."""
    mean_c, mean_t = control.mean, treatment.mean
    var_c, var_t = control.variance / control.n, treatment.variance / treatment.n
    if not relative:
        return mean_t - mean_c, math.sqrt(var_t + var_c)
    # delta method for the ratio mean_t / mean_c (gbstats variance_of_ratios, covariance 0);
    # the estimate divides by |mean_c| so a lift keeps its sign against a negative baseline
    variance = var_t / mean_c**2 + var_c * mean_t**2 / mean_c**4
    return (mean_t - mean_c) / abs(mean_c), math.sqrt(variance)


def welch_df(control: Statistic, treatment: Statistic) -> float:
    """Welch–Satterthwaite degrees of freedom on the arms' variances (gbstats ``TTest.dof``;
    used for the relative lift too, where gbstats does not rescale the variances)."""
    a = control.variance / control.n
    b = treatment.variance / treatment.n
    return (a + b) ** 2 / (a**2 / (control.n - 1) + b**2 / (treatment.n - 1))


def frequentist(
    control: Statistic, treatment: Statistic, *, relative: bool = True, alpha: float = 0.05
) -> Frequentist:
    """Welch's two-sided t-test of ``treatment`` against ``control`` (gbstats ``TwoSidedTTest``).

    The interval is ``estimate ± t_{1−α/2, df} · se``, symmetric also for the relative lift (the
    delta method, not Fieller's interval), and the p-value ``2 · P(T_df > |estimate / se|)``.

    >>> r = frequentist(Proportion(28, 14), Proportion(30, 16))
    >>> round(r.estimate, 5), round(r.p_value, 5)
    (0.06667, 0.80707)
    """
    _check_alpha(alpha)
    _check_pair(control, treatment)
    bad = _degenerate(control, treatment, relative)
    if bad:
        nan = math.nan
        return Frequentist(relative, nan, nan, nan, nan, nan, nan, *bad, alpha=alpha)
    estimate, se = _moments(control, treatment, relative)
    df = welch_df(control, treatment)
    half = float(t.ppf(1 - alpha / 2, df)) * se
    # t.sf rather than gbstats' 1 − t.cdf: the same to 5 decimals, and exact for tiny p-values
    p_value = 2 * float(t.sf(abs(estimate / se), df))
    return Frequentist(
        relative, estimate, estimate - half, estimate + half, p_value, se, df, "ok", "", alpha
    )


def gaussian_risk(mean: float, sd: float) -> tuple[float, float]:
    """GrowthBook's risk pair for a normal posterior ``N(mean, sd²)`` of the lift
    (gbstats ``EffectBayesianABTest.get_risk``): the expected loss of keeping the control,
    ``E[max(X, 0)]``, and of choosing the treatment, ``E[max(−X, 0)]``.

    Closed forms of the truncated-normal means with ``z = mean/sd``: ``sd·φ(z) + mean·Φ(z)``
    and ``sd·φ(z) − mean·Φ(−z)``.

    >>> [round(r, 10) for r in gaussian_risk(0.1, 0.05)]
    [0.1004245351, 0.0004245351]
    """
    if not sd > 0:
        raise ValueError(f"sd must be positive. Got {sd!r}.")
    z = mean / sd
    if abs(z) > _TAIL_Z:
        return max(mean, 0.0), max(-mean, 0.0)
    pdf = float(norm.pdf(z))
    keep = sd * pdf + mean * float(norm.cdf(z))
    switch = sd * pdf - mean * float(norm.cdf(-z))
    return max(keep, 0.0), max(switch, 0.0)


def bayesian(
    control: Statistic, treatment: Statistic, *, relative: bool = True, alpha: float = 0.05
) -> Bayesian:
    """GrowthBook's Bayesian effect model with its default improper flat prior
    (gbstats ``EffectBayesianABTest``): the posterior of the lift is ``N(estimate, se²)`` with
    the frequentist estimate and delta-method standard error; chance to win is
    ``P(lift > 0) = 1 − Φ(0; mean, sd)``, the credible interval its ``α/2`` and ``1 − α/2``
    quantiles, risk from :func:`gaussian_risk`.

    >>> r = bayesian(Proportion(100, 49), Proportion(100, 51))
    >>> round(r.chance_to_win, 5), round(r.expected, 5)
    (0.60918, 0.04082)
    """
    _check_alpha(alpha)
    _check_pair(control, treatment)
    bad = _degenerate(control, treatment, relative)
    if bad:
        nan = math.nan
        return Bayesian(relative, nan, nan, nan, nan, nan, nan, *bad, sd=nan, alpha=alpha)
    mean, sd = _moments(control, treatment, relative)
    low, high = (float(q) for q in norm.ppf([alpha / 2, 1 - alpha / 2], mean, sd))
    chance = float(norm.sf(0, mean, sd))
    keep, switch = gaussian_risk(mean, sd)
    return Bayesian(relative, mean, low, high, chance, keep, switch, "ok", "", sd, alpha)


@dataclass(frozen=True)
class SampleRatio:
    """The sample-ratio-mismatch check: did the arms get the shares the design gave them?

    ``flagged`` when ``p_value < threshold`` (GrowthBook's default 0.001). ``expected`` are the
    counts the design weights predict for the observed total.
    """

    p_value: float
    flagged: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    threshold: float


def sample_ratio(
    counts: Sequence[int], weights: Sequence[float] | None = None, *, threshold: float = 0.001
) -> SampleRatio:
    """Pearson's chi-square goodness of fit of the arm counts against the design weights (equal
    when None), with ``arms − 1`` degrees of freedom (gbstats ``utils.check_srm``, computed
    with ``scipy.stats.chisquare``). No customers at all gives p = 1, as gbstats.

    >>> round(sample_ratio([1000, 1200]).p_value, 9)
    2.0079e-05
    """
    from scipy.stats import chisquare

    observed = tuple(counts)
    if len(observed) < 2:
        raise ValueError(f"sample_ratio needs the counts of at least 2 arms. Got {len(observed)}.")
    for c in observed:
        _check_n(c, "sample_ratio counts")
    shares = [1.0] * len(observed) if weights is None else [float(w) for w in weights]
    if len(shares) != len(observed):
        raise ValueError(
            f"sample_ratio got {len(observed)} counts and {len(shares)} weights: give one weight "
            "per arm, in the same order."
        )
    if not all(math.isfinite(w) and w > 0 for w in shares):
        raise ValueError(
            f"Design weights must be positive numbers (an arm with weight 0 gets no customers: "
            f"leave it out). Got {list(shares)}."
        )
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be between 0 and 1 (e.g. 0.001). Got {threshold!r}.")
    total, weight = sum(observed), sum(shares)
    expected = tuple(w / weight * total for w in shares)
    p_value = 1.0 if total == 0 else float(chisquare(observed, expected).pvalue)
    return SampleRatio(p_value, p_value < threshold, observed, expected, threshold)


_METHODS = {"holm": "holm", "bh": "fdr_bh"}


def _holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: sorted ascending, p_(i) × (m − i + 1), made monotone,
    capped at 1. Written out because statsmodels' ``multipletests(method="holm")`` runs
    ``gc.collect()`` on every call (0.15 s each in a process holding a 1M-row analysis,
    more in a busy server); the tests check this against statsmodels."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p[i] * (m - rank)))
        out[i] = running
    return out


def adjust(
    p_values: Sequence[float], method: Literal["holm", "bh", "none"] = "holm"
) -> tuple[float, ...]:
    """P-values adjusted for multiple testing, in the order given: Holm's step-down
    (family-wise error; :func:`_holm`, equal to statsmodels ``multipletests(method="holm")``)
    or Benjamini–Hochberg's step-up (false discovery rate; statsmodels ``fdr_bh``); ``"none"`` returns them unchanged. NaN p-values
    (segments with no result) stay NaN and do not count towards the number of tests.

    >>> adjust([0.025, 0.03])
    (0.05, 0.05)
    >>> adjust([0.025, 0.03, float("nan")], "bh")
    (0.03, 0.03, nan)
    """
    if method not in (*_METHODS, "none"):
        raise ValueError(f"Unknown correction {method!r}: use 'holm', 'bh' or 'none'.")
    values = [float(p) for p in p_values]
    if any(not (0 <= p <= 1) for p in values if not math.isnan(p)):
        raise ValueError(f"p-values must be between 0 and 1 (or NaN for no result). Got {values}.")
    present = [i for i, p in enumerate(values) if not math.isnan(p)]
    if method == "none" or not present:
        return tuple(values)
    from statsmodels.stats.multitest import multipletests

    kept = [values[i] for i in present]
    adjusted = _holm(kept) if method == "holm" else multipletests(kept, method=_METHODS[method])[1]
    for i, p in zip(present, adjusted, strict=True):
        values[i] = float(p)
    return tuple(values)
