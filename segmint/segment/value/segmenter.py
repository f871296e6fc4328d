"""``ValueSegmenter``: value tiers by CLV, and churn risk (high past value, low P(alive)).

Fits MBG/NBD and Gamma-Gamma on the repeat-purchase summary, computes per customer expected
purchases over the horizon, P(alive), expected spend and CLV (``values_``), then labels:

* ``Churn risk`` — past revenue in the top ``churn_value_share`` of customers and
  P(alive) < ``churn_p_alive`` (checked first: these are the customers to win back);
* otherwise the CLV tier (``Top 1%``, ``Top 10%``, ``Middle``, ``Low`` by default).

The purchase model is MBG/NBD, not BG/NBD: BG/NBD cannot let a customer drop out before a
repeat purchase, so it gives every one-time buyer P(alive) = 1 however long ago they bought,
and churn risk (and every name or goal read from P(alive)) would then pass over exactly the
customers who left after one order and flag repeat buyers instead. MBG/NBD's P(alive) falls
with the time since the last purchase for one-time buyers too.

To score customers where the data live (fit on a sample, apply in the engine), the values come
from :meth:`ValueSegmenter.scorer` batch by batch (``batch.py``: the models need ₂F₁, which SQL
lacks) and the labels from :meth:`ValueSegmenter.to_ibis`, as Ibis expressions.

>>> from segmint.datasets import make_retail
>>> from segmint.segment.value import ValueSegmenter, summary_from_orders
>>> shop = make_retail(n_customers=400, seed=1)
>>> summary = summary_from_orders(shop.orders, as_of="2024-12-31")
>>> seg = ValueSegmenter().fit(summary)
>>> sorted(seg.labels_.unique())
['Churn risk', 'Low', 'Middle', 'Top 1%', 'Top 10%']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.exceptions import ModelError, SegmintWarning
from segmint.segment._cuts import compare, require_columns
from segmint.segment.base import BaseSegmenter, Segmentation
from segmint.segment.value._mle import NoFiniteMaximum
from segmint.segment.value.batch import ValueScorer
from segmint.segment.value.clv import (
    LOW,
    MONTH_DAYS,
    VALUE_COLUMNS,
    _checked_tiers,
    assign_tiers,
    clv,
    tier_thresholds,
)
from segmint.segment.value.gammagamma import GammaGammaModel
from segmint.segment.value.mbgnbd import ModifiedBetaGeoModel

__all__ = ["CHURN_RISK", "FALLBACK_PENALIZER", "ValueSegmenter"]

CHURN_RISK = "Churn risk"
#: penalizer used when a model has no finite MLE and the user chose none (lifetimes' usual)
FALLBACK_PENALIZER = 0.001


class ValueSegmenter(BaseSegmenter):
    """Value tiers and churn risk from MBG/NBD + Gamma-Gamma (scikit-learn conventions).

    ``fit(summary)`` takes the repeat-purchase summary (index customer_id; columns frequency,
    recency, T, monetary_value and, for churn risk, revenue). Fitted: ``bgnbd_`` (the purchase
    model, a :class:`ModifiedBetaGeoModel`: the BG/NBD variant whose P(alive) is not 1 for
    one-time buyers), ``gamma_gamma_``, ``values_`` (per customer: expected_purchases, p_alive, expected_aov,
    clv), ``thresholds_`` (lowest CLV of each tier), ``churn_revenue_`` (past revenue above
    which a customer counts as high value), ``labels_``, ``warnings_``.

    ``penalizer`` (default 0: plain maximum likelihood) is passed to both models; with 0, a
    model whose likelihood has no finite maximum is refitted with ``FALLBACK_PENALIZER`` and
    a warning says so, in ``warnings_`` and as a :class:`~segmint.exceptions.SegmintWarning`
    (the models themselves never do this: they raise).
    """

    def __init__(
        self,
        horizon_days: float = 365.0,
        discount_rate: float = 0.10,
        margin: float = 1.0,
        tiers: Mapping[str, float] | None = None,
        churn_p_alive: float = 0.5,
        churn_value_share: float = 0.2,
        penalizer: float = 0.0,
        unit: str | None = None,
    ) -> None:
        self.horizon_days = horizon_days
        self.discount_rate = discount_rate
        self.margin = margin
        self.tiers = tiers
        self.churn_p_alive = churn_p_alive
        self.churn_value_share = churn_value_share
        self.penalizer = penalizer
        self.unit = unit

    def _check_params(self) -> dict[str, float]:
        tiers = _checked_tiers(self.tiers)
        for name in ("churn_p_alive", "churn_value_share"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not 0 <= v <= 1:
                raise ModelError(
                    f"The {name!r} parameter of ValueSegmenter must be a number in [0, 1]. "
                    f"Got {v!r}.",
                    fix="e.g. churn_p_alive=0.5, churn_value_share=0.2 (0 turns churn risk off).",
                )
        return tiers

    def fit(self, X: pd.DataFrame, y: Any = None) -> ValueSegmenter:
        tiers = self._check_params()
        self.warnings_: list[str] = []
        self.bgnbd_ = self._fit(ModifiedBetaGeoModel, X, "purchase model (MBG/NBD)")
        repeat = X[X["frequency"] > 0]
        usable = repeat[repeat["monetary_value"] > 0]
        if len(usable) < len(repeat):
            self.warnings_.append(
                f"{len(repeat) - len(usable)} repeat buyer(s) whose repeat purchases brought "
                "no money (refunded or free) are left out of the spend model."
            )
        self.gamma_gamma_ = self._fit(GammaGammaModel, usable, "spend model (Gamma-Gamma)")
        self.warnings_ += self.gamma_gamma_.warnings_
        self.values_ = self._values(X)
        self.thresholds_ = tier_thresholds(self.values_["clv"], tiers)
        past = self._past_revenue(X)
        share = float(self.churn_value_share)
        self.churn_revenue_ = float(past.quantile(1 - share)) if share > 0 else float("inf")
        self.labels_ = self._label(X, self.values_)
        return self

    def _fit(self, model: type[Any], data: pd.DataFrame, what: str) -> Any:
        """Fit ``model``; without a penalizer of the user's, a fit that does not converge is
        refitted once with :data:`FALLBACK_PENALIZER`; the warnings say so, and say where
        the data still do not bound the parameters."""
        why = None
        try:
            fitted = model(penalizer=self.penalizer).fit(data)
        except ModelError as exc:
            if self.penalizer or "did not converge" not in exc.problem:
                raise
            why = (
                "has no finite maximum-likelihood estimate on this data (the likelihood keeps "
                f"rising as {exc.heading}{_meaning(model, exc.heading)})"
                if isinstance(exc, NoFiniteMaximum)
                else "did not converge on this data"
            )
            fitted = model(penalizer=FALLBACK_PENALIZER).fit(data)
        message = (
            []
            if why is None
            else [
                f"The {what} {why}, so it was fitted with penalizer={FALLBACK_PENALIZER}, which "
                "keeps the parameters finite (set penalizer= in the spec's params to choose)."
            ]
        )
        if fitted.undetermined_:
            message.append(
                f"Even so, the data do not pin the {what} down ({fitted.undetermined_}"
                f"{_meaning(model, fitted.undetermined_)}): its predictions use that limit."
            )
        if message:
            self.warnings_.append(" ".join(message))
            warnings.warn(self.warnings_[-1], SegmintWarning, stacklevel=3)
        return fitted

    def _values(self, X: pd.DataFrame) -> pd.DataFrame:
        return clv(
            self.bgnbd_,
            self.gamma_gamma_,
            X,
            horizon_days=self.horizon_days,
            discount_rate=self.discount_rate,
            margin=self.margin,
            step_days=MONTH_DAYS,
            unit=self.unit,
        )

    @staticmethod
    def _past_revenue(X: pd.DataFrame) -> pd.Series:
        if "revenue" in X.columns:
            return X["revenue"].astype(float)
        return (X["frequency"] * X["monetary_value"]).astype(float)

    def _label(self, X: pd.DataFrame, values: pd.DataFrame) -> pd.Series:
        labels = assign_tiers(values["clv"], self.thresholds_)
        risky = (self._past_revenue(X) >= self.churn_revenue_) & (
            values["p_alive"] < self.churn_p_alive
        )
        labels[risky] = CHURN_RISK
        labels.name = "segment"
        return labels

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Labels for (new) customers' summaries, with the fitted models and thresholds."""
        self._check_fitted()
        return self._label(X, self._values(X))

    def predict_values(self, X: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        """Labels and the per-customer values (as ``values_``) for customers' summaries."""
        self._check_fitted()
        values = self._values(X)
        return self._label(X, values), values

    def scorer(self) -> ValueScorer:
        """The fitted models as a batch function: summary rows in, their ``values_`` out
        (:class:`~segmint.segment.value.batch.ValueScorer`), to run per partition."""
        self._check_fitted()
        unit = self.unit or self.bgnbd_.unit_
        if unit is None:
            raise ModelError(
                "The value models do not know the summary's time unit, so a batch of rows "
                "(which carries none) cannot be scored.",
                fix="pass unit= to ValueSegmenter (the unit of the summary it was fitted on).",
            )
        return ValueScorer(
            self.bgnbd_,
            self.gamma_gamma_,
            horizon_days=float(self.horizon_days),
            discount_rate=float(self.discount_rate),
            margin=float(self.margin),
            unit=str(unit),
        )

    def to_ibis(self, table: ir.Table, column: str = "segment") -> ir.Table:
        """``table`` plus a ``column`` with every row's tier or ``Churn risk``, in the engine.

        ``table`` holds the values of :meth:`scorer` (clv, p_alive) and the past revenue
        (``revenue``, else frequency × monetary_value, as in ``fit``). The fitted thresholds
        become CASE expressions making ``predict``'s comparisons, so the labels equal it; a
        missing or NaN value meets no threshold (``Low``, not churn risk), as in pandas.
        """
        self._check_fitted()
        past_cols = ["revenue"] if "revenue" in table.columns else ["frequency", "monetary_value"]
        require_columns(table, ["clv", "p_alive", *past_cols], "ValueSegmenter")
        past = (
            table.revenue
            if "revenue" in table.columns
            else table.frequency.cast("float64") * table.monetary_value.cast("float64")
        )
        branches = [(compare(table.clv, ">=", cut), name) for name, cut in self.thresholds_.items()]
        tier = ibis.cases(*branches, else_=LOW) if branches else ibis.literal(LOW)
        risky = compare(past, ">=", self.churn_revenue_) & compare(
            table.p_alive, "<", float(self.churn_p_alive)
        )
        return table.mutate(**{column: risky.ifelse(CHURN_RISK, tier)})

    def segmentation(self, name: str) -> Segmentation:
        self._check_fitted()
        bg, gg = self.bgnbd_, self.gamma_gamma_
        details = {
            "bgnbd": {
                "model": bg.label,
                "params": bg.params_,
                "standard_errors": bg.standard_errors_,
                "log_likelihood": bg.log_likelihood_,
                "customers": bg.n_customers_,
            },
            "gamma_gamma": {
                "params": gg.params_,
                "standard_errors": gg.standard_errors_,
                "log_likelihood": gg.log_likelihood_,
                "customers": gg.n_customers_,
                "independence": gg.independence_,
            },
            "horizon_days": self.horizon_days,
            "discount_rate": self.discount_rate,
            "margin": self.margin,
            "thresholds": self.thresholds_,
            "churn": {"p_alive_below": self.churn_p_alive, "revenue_from": self.churn_revenue_},
        }
        return Segmentation(
            name=name,
            method="value",
            labels=self.labels_.copy(),
            features=list(VALUE_COLUMNS),
            details=details,
            warnings=list(self.warnings_),
        )


def _meaning(model: type[Any], heading: str) -> str:
    """What the model's limit (e.g. "a → 0") means for a marketer, when it says (``limits``)."""
    said = [text for limit, text in getattr(model, "limits", {}).items() if limit in heading]
    return "".join(f": {text}" for text in said[:1])
