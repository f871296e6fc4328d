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


class _BetaGeoSums:
    """Σ count · ln L over grouped histories and its gradient: :func:`bgnbd_log_likelihood`
    summed, with fewer passes over the histories per optimizer step.

    Writing ln L = A1 + A2 + A3 + δ(x>0) · softplus(D), D = A4 − A3, the terms A1, A2 (and
    their derivatives) depend on x alone and A3 = −(r+x) ln(α+T) is linear in what depends
    on T alone: both are summed per distinct x and per distinct T, with counts computed once.
    Only D = ln a − ln(b+x−1) − (r+x)(ln(α+t_x) − ln(α+T)) needs every repeat history, and
    its logarithms are looked up from the distinct t_x and T values.
    """

    def __init__(self, h: Histories) -> None:
        x, c = h.x, h.count
        self.n = float(c.sum())
        self.xu, ix = np.unique(x, return_inverse=True)
        self.c_x = np.bincount(ix, weights=c)
        self.Tu, iT = np.unique(h.T, return_inverse=True)
        self.c_T, self.cx_T = np.bincount(iT, weights=c), np.bincount(iT, weights=c * x)
        rep = x > 0
        self.c_r, self.x_r = c[rep], x[rep]
        self.tu, self.it_r = np.unique(h.t_x[rep], return_inverse=True)
        self.iT_r, self.ix_r = iT[rep], ix[rep]

    def loglik(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        n, xu, c_x = self.n, self.xu, self.c_x
        log_T, inv_T = np.log(alpha + self.Tu), 1.0 / (alpha + self.Tu)
        log_t, inv_t = np.log(alpha + self.tu), 1.0 / (alpha + self.tu)
        # the repeat histories: D, w = P(drop-out term) = expit(D)
        rx = r + self.x_r
        delta = log_t[self.it_r] - log_T[self.iT_r]
        lbx = np.log(np.where(xu > 0, b + xu - 1, 1.0))
        d = (np.log(a) - lbx[self.ix_r]) - rx * delta
        w = expit(d)
        cw = self.c_r * w
        s_sp = float(self.c_r @ np.logaddexp(0.0, d))
        s_w = float(cw.sum())
        s_wd = float(cw @ delta)
        s_wa = float((cw * rx) @ (inv_t[self.it_r] - inv_T[self.iT_r]))
        s_wb = float(np.bincount(self.ix_r, weights=cw, minlength=len(xu)) @ np.exp(-lbx))
        # what depends on x alone, and on T alone
        by_x = gammaln(r + xu) + gammaln(b + xu) - gammaln(a + b + xu)
        psi_ab = digamma(a + b + xu)
        a3_T = r * self.c_T + self.cx_T  # Σ count · (r + x) per distinct T
        ll = (
            float(c_x @ by_x)
            + n * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
            - float(a3_T @ log_T)
            + s_sp
        )
        grad = np.array(
            [
                float(c_x @ digamma(r + xu))
                + n * (np.log(alpha) - digamma(r))
                - float(self.c_T @ log_T)
                - s_wd,
                n * r / alpha - float(a3_T @ inv_T) - s_wa,
                n * digamma(a + b) - float(c_x @ psi_ab) + s_w / a,
                n * (digamma(a + b) - digamma(b)) + float(c_x @ (digamma(b + xu) - psi_ab)) - s_wb,
            ]
        )
        return float(ll), grad


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
        return _BetaGeoSums(h).loglik

    def _start(self, h: Histories) -> np.ndarray:
        return beta_geo_start(h)

    def _expected(self, t: float, h: Histories) -> np.ndarray:
        x, T, pair = h.x_T
        return np.asarray(self._growth(t, x, T)[pair] * self._alive(h))

    def _growth(self, t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in the next t] of a customer alive at T: the part of eq. 10 that does
        not depend on t_x, (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(…)]."""
        r, alpha, a, b = self._theta()
        if t <= 0:
            return np.zeros(len(x))
        rx = r + x
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        power = np.exp(rx * (np.log(alpha + T) - np.log(alpha + T + t)))
        return np.asarray(head * (1 - power * hyp2f1(rx, b + x, a + b + x - 1, z)))

    def _discounted(
        self, times: np.ndarray, factors: np.ndarray, h: Histories
    ) -> tuple[np.ndarray, np.ndarray]:
        """As the base class, with the growth in purchases computed per distinct (x, T) and
        P(alive) once: E[Y(t)] = growth(t; x, T) · P(alive | x, t_x, T)."""
        x, T, pair = h.x_T
        previous = np.zeros(len(x))
        discounted = np.zeros(len(x))
        for t, factor in zip(times, factors, strict=True):
            current = self._growth(float(t), x, T)
            discounted += (current - previous) / factor
            previous = current
        alive = self._alive(h)
        return discounted[pair] * alive, previous[pair] * alive

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
