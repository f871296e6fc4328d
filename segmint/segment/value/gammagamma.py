"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers (γ is
``v`` here). Fitted on repeat buyers (frequency > 0) by maximum likelihood on the mean value
of their repeat transactions. The model assumes spend is independent of purchase frequency:
:meth:`GammaGammaModel.fit` measures that correlation and warns when it is not small.

>>> import pandas as pd
>>> m = GammaGammaModel()
>>> m.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}  # CDNOW repeat buyers
>>> one = pd.DataFrame({"frequency": [2], "monetary_value": [22.35]})
>>> round(float(m.expected_average_value(one).iloc[0]), 2)
24.66
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from segmint.exceptions import ModelError
from segmint.segment.base import BaseEstimator
from segmint.segment.value._data import check_summary
from segmint.segment.value._mle import fit_mle
from segmint.segment.value._transaction import WARM_SAMPLE

__all__ = ["INDEPENDENCE_LIMIT", "GammaGammaModel", "gamma_gamma_log_likelihood"]

_NAMES = ("p", "q", "v")
#: |Pearson correlation| of frequency and spend above which the independence check warns
INDEPENDENCE_LIMIT = 0.3


def gamma_gamma_log_likelihood(
    params: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the mean spend ``m`` over ``x`` transactions, and its
    gradient (rows × 3) with respect to (p, q, v).

    ln L = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(xm+v).
    """
    return _GammaGammaData(x, m).loglik(params)


class _GammaGammaData:
    """What does not change between optimizer steps: logs of the data, distinct x values."""

    def __init__(self, x: np.ndarray, m: np.ndarray) -> None:
        self.x, self.m = x, m
        self.log_m, self.log_x, self.xm = np.log(m), np.log(x), x * m
        self.xu, self.inv = np.unique(x, return_inverse=True)
        # for the summed form: counts per distinct x and what does not depend on θ
        self.n_u = np.bincount(self.inv).astype(float)
        self.xn_u = self.xu * self.n_u
        self.log_mx = self.log_m + self.log_x
        self.sum_log_m = float(self.log_m.sum())
        self.xf = np.asarray(x, dtype=float)
        self._scratch = np.empty((2, len(x)))

    def loglik_sum(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Σ ln L and its gradient, as :meth:`loglik` summed, with fewer passes per step.

        Per customer, ln L = lnΓ(px+q) − lnΓ(px) − lnΓ(q) − ln m + px·d + q·e with
        d = ln m + ln x − ln(xm+v) and e = ln v − ln(xm+v); the gamma terms are summed per
        distinct x. d is formed per customer before summing, so the large terms cancel row by
        row as in :meth:`loglik` (the optimizer needs that precision where the likelihood is
        nearly flat). The optimizer calls this a few hundred times on every repeat buyer, so
        each step reuses two scratch arrays instead of allocating new ones.
        """
        p, q, v = params
        n = float(len(self.x))
        pxu = p * self.xu
        xmv = np.add(self.xm, v, out=self._scratch[0])
        log_xmv = np.log(xmv, out=self._scratch[1])
        s_e = n * float(np.log(v)) - float(log_xmv.sum())
        d = np.subtract(self.log_mx, log_xmv, out=log_xmv)
        s_xd = float(self.xf @ d)
        inv = np.reciprocal(xmv, out=xmv)  # Σ x(qm/v − p)/(xm+v) = (q/v)·Σ xm/(xm+v) − p·Σ x/(xm+v)
        g_v = (q / v) * float(self.xm @ inv) - p * float(self.xf @ inv)
        ll = (
            float(self.n_u @ (gammaln(pxu + q) - gammaln(pxu)))
            - n * float(gammaln(q))
            - self.sum_log_m
            + p * s_xd
            + q * s_e
        )
        grad = np.array(
            [
                float(self.xn_u @ (digamma(pxu + q) - digamma(pxu))) + s_xd,
                float(self.n_u @ digamma(pxu + q)) - n * float(digamma(q)) + s_e,
                g_v,
            ]
        )
        return float(ll), grad

    def loglik(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, q, v = params
        x, xu, inv = self.x, self.xu, self.inv
        pxu = p * xu
        by_x = np.stack(
            [
                gammaln(pxu + q) - gammaln(pxu),
                digamma(pxu + q) - digamma(pxu),
                digamma(pxu + q),
            ]
        )[:, inv]
        px = p * x
        log_xmv = np.log(self.xm + v)
        ll = (
            by_x[0]
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * self.log_m
            + px * self.log_x
            - (px + q) * log_xmv
        )
        grad = np.empty((len(x), 3))
        grad[:, 0] = x * (by_x[1] + self.log_m + self.log_x - log_xmv)
        grad[:, 1] = by_x[2] - digamma(q) + np.log(v) - log_xmv
        grad[:, 2] = q / v - (px + q) / (self.xm + v)
        return ll, grad


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma by maximum likelihood on repeat buyers.

    ``fit(summary)`` uses the rows with ``frequency > 0`` (columns frequency, monetary_value);
    their values must be > 0. Fitted state: ``params_`` (p, q, v), ``standard_errors_``,
    ``log_likelihood_``, ``n_customers_``, ``independence_`` (the frequency–spend correlation
    check), ``warnings_``, ``undetermined_`` (as for the purchase models).
    """

    _fitted_attr = "params_"
    #: what a limit the data cannot rule out means, in words
    limits: ClassVar[dict[str, str]] = {
        "p → ∞": "a customer's spend hardly varies from one purchase to the next"
    }

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame, y: Any = None) -> GammaGammaModel:
        if not isinstance(self.penalizer, int | float) or self.penalizer < 0:
            raise ModelError(
                f"The 'penalizer' parameter of GammaGammaModel must be a number ≥ 0. "
                f"Got {self.penalizer!r}.",
                fix="use penalizer=0.0 (plain maximum likelihood) or a small value like 0.001.",
            )
        df = check_summary(summary, "GammaGammaModel", ("frequency", "monetary_value"), min_rows=0)
        # a numpy mask: a boolean Series makes pandas look its name up in the index, which
        # with millions of string customer ids costs seconds
        repeat = df[(df["frequency"] > 0).to_numpy()]
        if len(repeat) < 10:
            raise ModelError(
                f"GammaGammaModel is fitted on repeat buyers and needs at least 10; the summary "
                f"has {len(repeat)} (of {len(df)} customers).",
                fix="use a longer order history so that more customers buy twice.",
            )
        bad = repeat["monetary_value"] <= 0
        if bad.any():
            raise ModelError(
                f"GammaGammaModel needs a positive spend per transaction; {int(bad.sum())} repeat "
                f"buyer(s) have monetary_value ≤ 0 (first: customer {repeat.index[bad][0]!r}, "
                f"{repeat['monetary_value'][bad].iloc[0]:g}).",
                fix="leave out customers whose repeat purchases brought no money (refunds, "
                "free orders) before fitting, e.g. summary[summary.monetary_value > 0].",
            )
        x = repeat["frequency"].to_numpy()
        m = repeat["monetary_value"].to_numpy()

        data = _GammaGammaData(x, m)
        warm = None
        if len(x) > 2 * WARM_SAMPLE:  # a sample's fit starts the full fit near its optimum
            rows = np.sort(np.random.default_rng(0).choice(len(x), WARM_SAMPLE, replace=False))
            warm = (_GammaGammaData(x[rows], m[rows]).loglik_sum, float(WARM_SAMPLE))

        start = np.array([1.0, 1.0, max(float(np.mean(m)), 1e-3)])
        res = fit_mle(
            data.loglik_sum,
            start,
            n=float(len(x)),
            names=_NAMES,
            model="Gamma-Gamma",
            penalizer=float(self.penalizer),
            warm=warm,
        )
        self.params_ = dict(zip(_NAMES, map(float, res.params), strict=True))
        self.standard_errors_ = dict(zip(_NAMES, map(float, res.standard_errors), strict=True))
        self.log_likelihood_ = res.log_likelihood
        self.iterations_ = res.iterations
        self.undetermined_ = res.undetermined
        self.n_customers_ = len(x)
        corr = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else 0.0
        ok = abs(corr) <= INDEPENDENCE_LIMIT
        self.independence_ = {"correlation": corr, "limit": INDEPENDENCE_LIMIT, "ok": ok}
        self.warnings_ = (
            []
            if ok
            else [
                f"Spend per purchase and number of purchases are correlated (Pearson "
                f"{corr:.2f}; the Gamma-Gamma model assumes independence, |r| ≤ "
                f"{INDEPENDENCE_LIMIT}): expected spend and CLV may be biased."
            ]
        )
        self.fallback_ = float(np.median(m))
        if self.params_["q"] <= 1:
            self.warnings_.append(
                f"The spend model's q is {self.params_['q']:.2f} ≤ 1: spend varies so much "
                "between customers that the model has no finite average, so customers without "
                f"a repeat purchase get the median spend of repeat buyers ({self.fallback_:,.2f})."
            )
        return self

    def expected_average_value(self, summary: pd.DataFrame) -> pd.Series:
        """E[spend per transaction | history] = p(v + x·m) / (p·x + q − 1) per customer.

        For customers without repeat purchases (x = 0) this is the population mean p·v/(q−1);
        when that does not exist (q ≤ 1: p·x + q − 1 ≤ 0) they get ``fallback_``, the median
        spend of the repeat buyers the model was fitted on.
        """
        self._check_fitted()
        df = check_summary(summary, "GammaGammaModel", ("frequency", "monetary_value"), min_rows=0)
        p, q, v = (self.params_[k] for k in _NAMES)
        x = df["frequency"].to_numpy()
        m = np.where(x > 0, df["monetary_value"].to_numpy(), 0.0)
        denominator = p * x + q - 1
        safe = np.where(denominator > 0, denominator, 1.0)
        value = np.where(denominator > 0, p * (v + x * m) / safe, self._fallback())
        return pd.Series(value, index=summary.index, name="expected_aov")

    def _fallback(self) -> float:
        return float(getattr(self, "fallback_", np.nan))

    def predict(self, summary: pd.DataFrame) -> pd.Series:
        """Same as :meth:`expected_average_value`."""
        return self.expected_average_value(summary)

    def population_mean(self) -> float:
        """Mean spend per transaction across customers, p·v/(q−1) (infinite when q ≤ 1)."""
        self._check_fitted()
        p, q, v = (self.params_[k] for k in _NAMES)
        return p * v / (q - 1) if q > 1 else float("inf")
