"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime is
exponential with rate μ ~ Gamma(s, β), so they may drop out at any moment (not only right
after a purchase, as in BG/NBD). Fitted by maximum likelihood on the per-customer summary
(``frequency`` x, ``recency`` t_x, ``T``), identical histories grouped, with the likelihood
and predictions of Fader, Hardie & Lee (2005), "A note on deriving the Pareto/NBD model and
related expressions".

>>> import pandas as pd
>>> from segmint.segment.value import ParetoNBDModel
>>> m = ParetoNBDModel()
>>> m.params_ = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # FHL, CDNOW
>>> one = pd.DataFrame({"frequency": [2, 0], "recency": [30.43, 0.0], "T": [38.86, 38.86]})
>>> [round(float(v), 3) for v in m.expected_purchases(39, one)]
[1.45, 0.106]
>>> [round(float(v), 3) for v in m.p_alive(one)]
[0.868, 0.294]
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from segmint.segment.value._data import Histories
from segmint.segment.value._transaction import LogLik, TransactionModel

__all__ = ["ParetoNBDModel", "log_tail_integral", "paretonbd_log_likelihood"]

_NAMES = ("r", "alpha", "s", "beta")
#: step of the trapezoidal rule in v (relative error about 1e-13, checked against quadrature)
_STEP = 0.2
#: left end of the v grid: y = feature · exp(v − e^−v) starts e^−58 below the feature
_LEFT = -4.0


def _log_j(
    A: np.ndarray, d: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ln J and its derivatives in A, d and ρ, J = ∫_0^∞ e^(−A·y) R(y)^d dy, where
    R = ρ / (ρ + (1−ρ)(1 − e^(−y))) falls from 1 to ρ (0 < ρ ≤ 1, A > 0, d > 0).

    Trapezoidal rule after the double-exponential substitution y = f · exp(v − e^(−v)), with
    f = min(1/A, ρ/d) the row's smallest feature: the integrand then decays
    double-exponentially at both ends and is analytic in a strip around the real v axis, so
    the rule converges geometrically in the step. Every term is positive, so there is no
    cancellation, for any x and however close |α−β|/(max+u) comes to 1.
    """
    feature = np.minimum(1.0 / A, rho / np.maximum(d, 1.0))
    v_hi = np.log(45.0 / (A * feature)) + 0.1  # e^(−A·y) < e^(−45) beyond
    k = int(np.ceil((np.max(v_hi, initial=0.0) - _LEFT) / _STEP)) + 1
    v = _LEFT + _STEP * np.arange(k)
    shrink = np.exp(-v)
    log_y = np.log(feature)[:, None] + (v - shrink)[None, :]
    y = np.exp(log_y)
    m = -np.expm1(-y)
    den = rho[:, None] + (1.0 - rho[:, None]) * m
    log_r = np.log(rho)[:, None] - np.log(den)
    log_w = log_y + np.log1p(shrink)[None, :] - A[:, None] * y + d[:, None] * log_r
    top = log_w.max(axis=1)
    w = np.exp(log_w - top[:, None])
    total = w.sum(axis=1)
    log_j = top + np.log(_STEP * total)
    d_a = -(w * y).sum(axis=1) / total
    d_d = (w * log_r).sum(axis=1) / total
    d_rho = d * (w * m / den).sum(axis=1) / (rho * total)
    return log_j, d_a, d_d, d_rho


def _log_tail(
    p: np.ndarray, q: np.ndarray, alpha: float, beta: float, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ln G(u), G = ∫_u^∞ (α+τ)^−p (β+τ)^−q dτ, and its gradient (rows × 4) in (p, q, α, β).

    FHL write G = (m+u)^(1−p−q) ₂F₁(p+q−1, ·; p+q; z) / (p+q−1) with m = max(α, β) and
    z = |α−β| / (m+u) in [0, 1) (their case split α ≥ β vs α < β). Going back to the integral
    that ₂F₁ stands for (Euler's) and putting α+τ = (α+u)e^y gives, for α ≥ β (the other case
    mirrors α↔β, p↔q),

        G = (α+u)^(1−p) (β+u)^(−q) J(A = p+q−1, d = q, ρ = 1−z = (β+u)/(α+u)),

    an integral of positive terms (see :func:`_log_j`) that stays accurate where
    ``scipy.special.hyp2f1`` does not (z near 1 with large x, or r+x an integer: NaN, inf
    or errors of 1e-4 there); 1−z is formed as a ratio, never as 1 − z.
    """
    ge = alpha >= beta
    a1, a2 = (alpha, beta) if ge else (beta, alpha)
    e1, e2 = (p, q) if ge else (q, p)
    l1, l2 = np.log(a1 + u), np.log(a2 + u)
    rho = np.exp(l2 - l1)
    log_j, j_a, j_d, j_rho = _log_j(e1 + e2 - 1.0, e2, rho)
    log_g = (1.0 - e1) * l1 - e2 * l2 + log_j
    g_e1 = -l1 + j_a
    g_e2 = -l2 + j_a + j_d
    g_a1 = (1.0 - e1) / (a1 + u) - j_rho * rho / (a1 + u)
    g_a2 = -e2 / (a2 + u) + j_rho / (a1 + u)
    cols = (g_e1, g_e2, g_a1, g_a2) if ge else (g_e2, g_e1, g_a2, g_a1)
    return log_g, np.column_stack(cols)


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """ln(1 − e^d) for d ≤ 0 (−inf at d = 0)."""
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(-np.expm1(np.minimum(d, 0.0))))


def log_tail_integral(
    p: np.ndarray, q: np.ndarray, alpha: float, beta: float, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ln I and its gradient (rows × 4) in (p, q, α, β), I = ∫_lo^hi (α+τ)^−p (β+τ)^−q dτ.

    I = G(lo) − G(hi) (:func:`_log_tail`), in log space. With p = r+x and q = s+1, s·I is
    the second term of the Pareto/NBD likelihood (FHL's s/(r+s+x)·A₀, eq. 19–20). ln I = −inf
    where lo = hi, and its gradient is then 0.
    """
    g_lo, d_lo = _log_tail(p, q, alpha, beta, lo)
    g_hi, d_hi = _log_tail(p, q, alpha, beta, hi)
    gap = g_hi - g_lo
    log_i = g_lo + _log1mexp(gap)
    with np.errstate(all="ignore"):
        share = np.exp(gap)[:, None]  # G(hi)/G(lo) in (0, 1]
        grad = (d_lo - share * d_hi) / (1.0 - share)
    return log_i, np.where(np.isfinite(log_i)[:, None], grad, 0.0)


def paretonbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood and its gradient (rows × 4) with respect to (r, α, s, β).

    ln L = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β + ln(exp(B₁) + s·I), with
    B₁ = −(r+x) ln(α+T) − s ln(β+T) and I = ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ
    (FHL 2005 note, eq. 18–20, in log space). The gradient is analytic: the derivatives of I
    are integrals over the same quadrature nodes.
    """
    r, alpha, s, beta = (float(v) for v in params)
    p = r + x
    q = np.full_like(p, s + 1.0)
    log_i, di = log_tail_integral(p, q, alpha, beta, t_x, T)
    log_at, log_bt = np.log(alpha + T), np.log(beta + T)
    b1 = -p * log_at - s * log_bt
    b2 = np.log(s) + log_i
    tail = np.logaddexp(b1, b2)
    w = np.exp(b2 - tail)  # share of the "dropped out between t_x and T" term
    head = gammaln(p) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    grad = np.empty((len(x), 4))
    grad[:, 0] = digamma(p) - digamma(r) + np.log(alpha) - (1 - w) * log_at + w * di[:, 0]
    grad[:, 1] = r / alpha - (1 - w) * p / (alpha + T) + w * di[:, 2]
    grad[:, 2] = np.log(beta) - (1 - w) * log_bt + w * (1 / s + di[:, 1])
    grad[:, 3] = s / beta - (1 - w) * s / (beta + T) + w * di[:, 3]
    return head + tail, grad


def _growth(s: float, base: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """[1 − (base/(base+t))^(s−1)] / (s−1), and its limit ln(1 + t/base) at s = 1."""
    span = np.log1p(np.asarray(t, dtype=float) / base)
    if abs(s - 1) < 1e-10:
        return np.asarray(span)
    return np.asarray(-np.expm1(-(s - 1) * span) / (s - 1))


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD by maximum likelihood; scikit-learn conventions (``fit`` returns ``self``).

    Same interface as :class:`~segmint.segment.value.BetaGeoModel`, and :func:`clv` accepts
    either. ``penalizer`` adds ``penalizer · Σθ²`` to the negative log-likelihood (0 = plain
    MLE). Fitted state: ``params_`` (r, alpha, s, beta), ``standard_errors_``,
    ``log_likelihood_`` (total, at the estimate), ``n_customers_``, ``iterations_``, ``unit_``
    (the summary's time unit, when it says). :meth:`expected_purchases` is FHL note eq. 41:
    (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive).
    """

    names = _NAMES
    label = "Pareto/NBD"

    def _likelihood(self, h: Histories) -> LogLik:
        def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = paretonbd_log_likelihood(theta, h.x, h.t_x, h.T)
            return float(h.count @ ll), h.count @ grad

        return loglik

    def _start(self, h: Histories) -> np.ndarray:
        scale = max(float(np.average(h.T, weights=h.count)), 1e-3)
        return np.array([1.0, scale, 1.0, scale])

    def _expected(self, t: float, h: Histories) -> np.ndarray:
        r, alpha, s, beta = self._theta()
        if t <= 0:
            return np.zeros(len(h.x))
        rate = (r + h.x) / (alpha + h.T) * (beta + h.T)
        return np.asarray(rate * _growth(s, beta + h.T, t) * self._alive(h))

    def _alive(self, h: Histories) -> np.ndarray:
        """1 / (1 + s·I · (α+T)^(r+x) (β+T)^s) (FHL note eq. 36–37), in log space."""
        r, alpha, s, beta = self._theta()
        p = r + h.x
        log_i, _ = log_tail_integral(p, np.full_like(p, s + 1), alpha, beta, h.t_x, h.T)
        b1 = -p * np.log(alpha + h.T) - s * np.log(beta + h.T)
        with np.errstate(divide="ignore"):  # s = 0: nobody drops out, P(alive) = 1
            return np.asarray(np.exp(b1 - np.logaddexp(b1, np.log(s) + log_i)))

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)] for a customer who just made their first purchase (FHL note eq. 27):
        rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)]."""
        r, alpha, s, beta = self._theta()
        return np.asarray(r * beta / alpha * _growth(s, np.asarray(beta), t))
