"""The MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007; Hoppe &
Wagner 2007's "central variant" of BG/NBD).

As in BG/NBD, a customer buys at a Poisson rate λ ~ Gamma(r, α) while alive and drops out with
probability p ~ Beta(a, b) at each purchase, but here also right after the first one. That is
why the value segmenter uses it for P(alive) and churn risk: under BG/NBD a customer who never
bought again cannot have dropped out, so P(alive) = 1 for every one-time buyer however long
ago they bought (on CDNOW, RFM's "Lost" customers would average 1.0). Under MBG/NBD a one-time
buyer's P(alive) = 1 / (1 + a/b · ((α+T)/α)^r) falls with the time since that purchase.

>>> import pandas as pd
>>> from segmint.segment.value import ModifiedBetaGeoModel
>>> m = ModifiedBetaGeoModel()
>>> m.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}  # CDNOW, lifetimes' fit
>>> two = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [10.0, 38.0]})
>>> [round(float(v), 3) for v in m.p_alive(two)]
[0.522, 0.392]
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from segmint.segment.value._data import Histories
from segmint.segment.value._transaction import (
    LogLik,
    TransactionModel,
    beta_geo_start,
    grouped_likelihood,
)

__all__ = ["ModifiedBetaGeoModel", "mbgnbd_log_likelihood"]

_NAMES = ("r", "alpha", "a", "b")


def mbgnbd_log_likelihood(
    params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    x_groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood and its gradient (rows × 4) with respect to (r, α, a, b).

    ln L = A1 + A2 + A3 + ln(1 + exp(A4)), with A1 = lnΓ(r+x) − lnΓ(r) + r ln α,
    A2 = lnΓ(a+b) + lnΓ(b+x+1) − lnΓ(b) − lnΓ(a+b+x+1), A3 = −(r+x) ln(α+T) and
    A4 = ln a − ln(b+x) + (r+x)(ln(α+T) − ln(α+t_x)) (Batislam et al. 2007, eq. 3, in log
    space; the same terms as lifetimes' ModifiedBetaGeoFitter). ``x_groups`` = (distinct x
    values, each row's index into them) computes the x-only terms once per distinct x.
    """
    r, alpha, a, b = params
    xu, inv = x_groups if x_groups is not None else np.unique(x, return_inverse=True)
    by_x = np.stack(
        [
            gammaln(r + xu) + gammaln(b + xu + 1) - gammaln(a + b + xu + 1),
            digamma(r + xu),
            digamma(a + b + xu + 1),
            digamma(b + xu + 1),
        ]
    )[:, inv]
    rx = r + x
    log_at, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    a4 = np.log(a) - np.log(b + x) + rx * (log_at - log_atx)
    head = by_x[0] - gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b) - rx * log_at
    w = expit(a4)  # share of the "dropped out after the last purchase" term
    grad = np.empty((len(x), 4))
    grad[:, 0] = by_x[1] - digamma(r) + np.log(alpha) - log_at + w * (log_at - log_atx)
    grad[:, 1] = r / alpha - rx / (alpha + T) + w * rx * (1 / (alpha + T) - 1 / (alpha + t_x))
    grad[:, 2] = digamma(a + b) - by_x[2] + w / a
    grad[:, 3] = digamma(a + b) + by_x[3] - digamma(b) - by_x[2] - w / (b + x)
    return head + np.logaddexp(0.0, a4), grad


class ModifiedBetaGeoModel(TransactionModel):
    """MBG/NBD by maximum likelihood; same interface as :class:`BetaGeoModel`.

    Fitted state: ``params_`` (r, alpha, a, b), ``standard_errors_``, ``log_likelihood_``,
    ``n_customers_``, ``iterations_``, ``unit_``. :meth:`expected_purchases` is
    (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))] · P(alive),
    with P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)) (Batislam et al. 2007).
    """

    names = _NAMES
    label = "MBG/NBD"
    #: what a limit the data cannot rule out means, in words
    limits: ClassVar[dict[str, str]] = {
        "a → 0": "no sign yet of customers dropping out, so P(alive) is close to 1 for "
        "everyone and churn risk cannot be judged"
    }

    def _likelihood(self, h: Histories) -> LogLik:
        return grouped_likelihood(mbgnbd_log_likelihood, h)

    def _start(self, h: Histories) -> np.ndarray:
        return beta_geo_start(h)

    def _expected(self, t: float, h: Histories) -> np.ndarray:
        r, alpha, a, b = self._theta()
        x, T = h.x, h.T
        if t <= 0:
            return np.zeros(len(x))
        rx = r + x
        power = np.exp(rx * (np.log(alpha + T) - np.log(alpha + T + t)))
        body = 1 - power * hyp2f1(rx, b + x + 1, a + b + x, t / (alpha + T + t))
        return np.asarray((a + b + x) / (a - 1) * body * self._alive(h))

    def _alive(self, h: Histories) -> np.ndarray:
        with np.errstate(divide="ignore"):  # a = 0: nobody drops out, P(alive) = 1
            r, alpha, a, b = self._theta()
            x = h.x
            log_odds = (
                np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + h.T) - np.log(alpha + h.t_x))
            )
            return np.asarray(expit(-log_odds))

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)] for a customer who just made their first purchase:
        b/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b+1; a+b; t/(α+t))]."""
        r, alpha, a, b = self._theta()
        t = np.asarray(t, dtype=float)
        body = 1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1, a + b, t / (alpha + t))
        return np.asarray(b / (a - 1) * body)
