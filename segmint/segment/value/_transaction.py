"""What the purchase-count models (BG/NBD, Pareto/NBD) share: fitting on grouped histories,
per-customer predictions from per-history ones, and the parameter table.

A subclass names its parameters (``names``, in the order of its likelihood), its model
(``label``), and provides the log-likelihood (:meth:`_likelihood`), a start point
(:meth:`_start`) and the per-history predictions :meth:`_expected` and :meth:`_alive`, which
:func:`~segmint.segment.value.clv` also uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Self

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.segment.base import BaseEstimator
from segmint.segment.value._data import Histories, histories
from segmint.segment.value._mle import fit_mle

__all__ = [
    "WARM_SAMPLE",
    "TransactionModel",
    "beta_geo_start",
    "grouped_likelihood",
    "sample_histories",
]

LogLik = Callable[[np.ndarray], tuple[float, np.ndarray]]
#: per-history log-likelihood and gradient: (theta, x, t_x, T, groups of x) → (ll, grad)
PerHistory = Callable[..., tuple[np.ndarray, np.ndarray]]
#: customers in the sample whose fit starts the full fit (when there are many more)
WARM_SAMPLE = 100_000


def grouped_likelihood(per_history: PerHistory, h: Histories) -> LogLik:
    """The count-weighted log-likelihood of ``per_history`` over the distinct histories, with
    the frequencies grouped once (the gamma terms are computed per distinct x)."""
    groups = np.unique(h.x, return_inverse=True)

    def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = per_history(theta, h.x, h.t_x, h.T, groups)
        return float(h.count @ ll), h.count @ grad

    return loglik


def sample_histories(h: Histories, size: int, seed: int = 0) -> Histories | None:
    """The histories of ``size`` customers drawn at random (without replacement), or None
    when there are not many more customers than that."""
    total = int(h.count.sum())
    if total <= 2 * size:
        return None
    rng = np.random.default_rng(seed)
    customers = np.sort(rng.choice(total, size, replace=False))
    # customer i (in the order of the histories, counted out) has history searchsorted(...)
    rows = np.searchsorted(np.cumsum(h.count), customers, side="right")
    count = np.bincount(rows, minlength=len(h.x)).astype(float)
    keep = count > 0
    return Histories(h.x[keep], h.t_x[keep], h.T[keep], count[keep], np.zeros(0, dtype=np.intp))


def beta_geo_start(h: Histories) -> np.ndarray:
    """Starting point (r, alpha, a, b) of the BG/NBD family: alpha on the scale of T."""
    return np.array([1.0, max(float(np.average(h.T, weights=h.count)), 1e-3), 1.0, 1.0])


class TransactionModel(BaseEstimator, ABC):
    """Base of the purchase-count models; scikit-learn conventions (``fit`` returns ``self``).

    ``penalizer`` adds ``penalizer · Σθ²`` to the negative log-likelihood (0 = plain MLE), a
    fix for small or degenerate data. Fitted state: ``params_``, ``standard_errors_``,
    ``log_likelihood_`` (total, at the estimate), ``n_customers_``, ``iterations_``, ``unit_``
    (the summary's time unit, when it says), ``undetermined_`` (with a penalizer: where the
    data still do not bound the parameters, e.g. "a → 0"; else None). Without a penalizer, a
    likelihood with no finite maximum raises :class:`~segmint.segment.value._mle.NoFiniteMaximum`.
    """

    _fitted_attr = "params_"
    #: parameter names, in the likelihood's order
    names: tuple[str, ...] = ()
    #: the model's name in messages
    label = ""

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @abstractmethod
    def _likelihood(self, h: Histories) -> LogLik:
        """θ → (Σ count · log-likelihood, its gradient) over the distinct histories ``h``."""

    @abstractmethod
    def _start(self, h: Histories) -> np.ndarray:
        """Where the optimizer starts."""

    @abstractmethod
    def _expected(self, t: float, h: Histories) -> np.ndarray:
        """E[purchases in the next ``t`` | history] per distinct history."""

    @abstractmethod
    def _alive(self, h: Histories) -> np.ndarray:
        """P(alive) per distinct history."""

    def _discounted(
        self, times: np.ndarray, factors: np.ndarray, h: Histories
    ) -> tuple[np.ndarray, np.ndarray]:
        """Σᵢ (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) / factorᵢ (t₀ = 0) and E[Y(t_last)] per distinct
        history: the discounted purchases of a CLV and the purchases over its horizon."""
        previous = np.zeros(len(h.x))
        discounted = np.zeros(len(h.x))
        for t, factor in zip(times, factors, strict=True):
            current = self._expected(float(t), h)
            discounted += (current - previous) / factor
            previous = current
        return discounted, previous

    def fit(self, summary: pd.DataFrame, y: Any = None) -> Self:
        """Estimate the parameters from ``summary`` (columns frequency, recency, T)."""
        name = type(self).__name__
        if not isinstance(self.penalizer, int | float) or self.penalizer < 0:
            raise ModelError(
                f"The 'penalizer' parameter of {name} must be a number ≥ 0. "
                f"Got {self.penalizer!r}.",
                fix="use penalizer=0.0 (plain maximum likelihood) or a small value like 0.001.",
            )
        h = histories(summary, name)
        sample = sample_histories(h, WARM_SAMPLE)
        res = fit_mle(
            self._likelihood(h),
            self._start(h),
            n=float(h.count.sum()),
            names=self.names,
            model=self.label,
            penalizer=float(self.penalizer),
            warm=None if sample is None else (self._likelihood(sample), WARM_SAMPLE),
        )
        self.params_ = dict(zip(self.names, map(float, res.params), strict=True))
        self.standard_errors_ = dict(zip(self.names, map(float, res.standard_errors), strict=True))
        self.log_likelihood_ = res.log_likelihood
        self.iterations_ = res.iterations
        self.undetermined_ = res.undetermined
        self.n_customers_ = int(h.count.sum())
        self.unit_ = summary.attrs.get("unit")
        return self

    def _theta(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(self.params_[k] for k in self.names)

    def _rows(self, summary: pd.DataFrame) -> Histories:
        return histories(summary, type(self).__name__, fitting=False)

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """E[purchases in the next ``t`` time units | history], per customer of ``summary``."""
        h = self._rows(summary)
        values = self._expected(float(t), h)[h.inverse]
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(still a customer at T | history) per customer of ``summary``."""
        h = self._rows(summary)
        return pd.Series(self._alive(h)[h.inverse], index=summary.index, name="p_alive")

    def predict(self, summary: pd.DataFrame, t: float = 1.0) -> pd.Series:
        """Same as :meth:`expected_purchases` over ``t`` time units."""
        return self.expected_purchases(t, summary)

    def summary_table(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % intervals."""
        self._check_fitted()
        est = pd.Series(self.params_)
        se = pd.Series(self.standard_errors_)
        return pd.DataFrame(
            {"estimate": est, "se": se, "lower_95": est - 1.96 * se, "upper_95": est + 1.96 * se}
        )
