"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers
the easy way").

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every
purchase they drop out with probability p ~ Beta(a, b). Fitted by maximum likelihood on the
per-customer summary (``frequency`` x, ``recency`` t_x, ``T``; see
:func:`segmint.features.repeat.repeat_summary`), with identical histories grouped.

>>> import pandas as pd
>>> from segmint.segment.value import BetaGeoModel
>>> m = BetaGeoModel()
>>> m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, CDNOW
>>> one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
>>> round(float(m.expected_purchases(39, one).iloc[0]), 3)
1.226
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from segmint.exceptions import ModelError
from segmint.segment.value._data import Histories
from segmint.segment.value._transaction import (
    LogLik,
    TransactionModel,
    beta_geo_start,
    grouped_likelihood,
)

__all__ = ["BetaGeoModel", "bgnbd_log_likelihood"]

_NAMES = ("r", "alpha", "a", "b")


def bgnbd_log_likelihood(
    params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    x_groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood and its gradient (rows × 4) with respect to (r, α, a, b).

    ln L = A1 + A2 + ln(exp(A3) + δ(x>0)·exp(A4)), where A1 = lnΓ(r+x) − lnΓ(r) + r ln α,
    A2 = ln B(a, b+x) − ln B(a, b) (written with lnΓ), A3 = −(r+x) ln(α+T) and
    A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x) (FHL 2005, eq. 6, in log space).
    ``x_groups`` = (distinct x values, each row's index into them) lets the gamma-function
    terms, which depend on x alone, be computed once per distinct x.
    """
    r, alpha, a, b = params
    xu, inv = x_groups if x_groups is not None else np.unique(x, return_inverse=True)
    by_x = np.stack(
        [
            gammaln(r + xu) + gammaln(b + xu) - gammaln(a + b + xu),
            digamma(r + xu),
            digamma(a + b + xu),
            digamma(b + xu),
        ]
    )[:, inv]
    rx = r + x
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + t_x)
    head = by_x[0] - gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b)
    a3 = -rx * log_at
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(bx1) - rx * log_atx, -np.inf)
    tail = np.logaddexp(a3, a4)
    w = np.exp(a4 - tail)  # share of the drop-out term; 0 without repeats
    grad = np.empty((len(x), 4))
    grad[:, 0] = by_x[1] - digamma(r) + np.log(alpha) - (1 - w) * log_at - w * log_atx
    grad[:, 1] = r / alpha - (1 - w) * rx / (alpha + T) - w * rx / (alpha + t_x)
    grad[:, 2] = digamma(a + b) - by_x[2] + w / a
    grad[:, 3] = digamma(a + b) + by_x[3] - digamma(b) - by_x[2] - np.where(repeat, w / bx1, 0.0)
    return head + tail, grad


class BetaGeoModel(TransactionModel):
    """BG/NBD by maximum likelihood; scikit-learn conventions (``fit`` returns ``self``).

    ``penalizer`` adds ``penalizer · Σθ²`` to the negative log-likelihood (0 = plain MLE), a
    fix for small or degenerate data. Fitted state: ``params_`` (r, alpha, a, b),
    ``standard_errors_``, ``log_likelihood_`` (total, at the estimate), ``n_customers_``,
    ``iterations_``, ``unit_`` (the summary's time unit, when it says).
    :meth:`expected_purchases` is FHL 2005 eq. 10: (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
    · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
    """

    names = _NAMES
    label = "BG/NBD"

    def _likelihood(self, h: Histories) -> LogLik:
        return grouped_likelihood(bgnbd_log_likelihood, h)

    def _start(self, h: Histories) -> np.ndarray:
        return beta_geo_start(h)

    def _expected(self, t: float, h: Histories) -> np.ndarray:
        r, alpha, a, b = self._theta()
        x, T = h.x, h.T
        if t <= 0:
            return np.zeros(len(x))
        rx = r + x
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        power = np.exp(rx * (np.log(alpha + T) - np.log(alpha + T + t)))
        body = 1 - power * hyp2f1(rx, b + x, a + b + x - 1, z)
        return np.asarray(head * body * self._alive(h))

    def _alive(self, h: Histories) -> np.ndarray:
        with np.errstate(divide="ignore"):  # a = 0: nobody drops out, P(alive) = 1
            r, alpha, a, b = self._theta()
            x, t_x, T = h.x, h.t_x, h.T
            repeat = x > 0
            bx1 = np.where(repeat, b + x - 1, 1.0)
            log_odds = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            return np.where(repeat, expit(-log_odds), 1.0)

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)] for a customer who just made their first purchase (FHL 2005 eq. 9)."""
        r, alpha, a, b = self._theta()
        t = np.asarray(t, dtype=float)
        body = 1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return np.asarray((a + b - 1) / (a - 1) * body)

    def probability_of_purchases(self, n: int, t: float) -> float:
        """P(X(t) = n): a new customer makes exactly ``n`` purchases in ``t`` (FHL 2005 eq. 8)."""
        r, alpha, a, b = self._theta()
        if int(n) != n or n < 0:
            raise ModelError(f"n must be a whole number ≥ 0. Got {n!r}.", fix="use n=0, 1, 2, …")
        n = int(n)
        log_p, log_q = np.log(alpha / (alpha + t)), np.log(t / (alpha + t))

        def nbd(j: np.ndarray | int) -> np.ndarray:
            return np.asarray(
                np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * log_p + j * log_q)
            )

        first = np.exp(betaln(a, b + n) - betaln(a, b)) * nbd(n)
        if n == 0:
            return float(first)
        rest = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1 - nbd(np.arange(n)).sum())
        return float(first + rest)
