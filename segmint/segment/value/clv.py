"""Customer lifetime value over a horizon, value tiers and churn risk.

CLV is a discounted cash flow: the horizon is cut into steps (a month, 365.25/12 days, by
default; the last step ends at the horizon); in step i a customer is expected to make
E[Y(sᵢ)] − E[Y(sᵢ₋₁)] purchases (BG/NBD or Pareto/NBD, conditional on their history — any
:class:`TransactionModel`), each worth the
Gamma-Gamma expected spend times ``margin``, discounted by (1 + annual rate)^(sᵢ / 365.25)::

    CLV = margin · E[spend] · Σᵢ (E[Y(sᵢ)] − E[Y(sᵢ₋₁)]) / (1 + discount_rate)^(sᵢ / 365.25)

>>> import pandas as pd
>>> from segmint.segment.value import BetaGeoModel, GammaGammaModel
>>> bg, gg = BetaGeoModel(), GammaGammaModel()
>>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
>>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
>>> one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86],
...                     "monetary_value": [22.35]}, index=["c1"])
>>> out = clv(bg, gg, one, unit="weeks", horizon_days=273, discount_rate=0.0)
>>> round(float(out.loc["c1", "expected_purchases"]), 3), round(float(out.loc["c1", "clv"]), 2)
(1.226, 30.24)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.features.repeat import UNIT_DAYS
from segmint.segment.value._data import histories
from segmint.segment.value._transaction import TransactionModel
from segmint.segment.value.gammagamma import GammaGammaModel

__all__ = [
    "DEFAULT_TIERS",
    "VALUE_COLUMNS",
    "TransactionModel",
    "assign_tiers",
    "clv",
    "tier_thresholds",
]

#: tier name -> share of customers (cumulative, best first); the rest is "Low"
DEFAULT_TIERS: dict[str, float] = {"Top 1%": 0.01, "Top 10%": 0.10, "Middle": 0.50}
LOW = "Low"
VALUE_COLUMNS = ("expected_purchases", "p_alive", "expected_aov", "clv")
MONTH_DAYS = 365.25 / 12


def _unit_days(summary: pd.DataFrame, model: TransactionModel, unit: str | None) -> float:
    name = unit or summary.attrs.get("unit") or getattr(model, "unit_", None)
    if name not in UNIT_DAYS:
        raise ModelError(
            "CLV needs to know the summary's time unit to turn the horizon (days) into "
            f"model time. Got {name!r}.",
            fix=f"pass unit= one of {', '.join(UNIT_DAYS)} (Workspace.value_summary() records "
            "it for you).",
        )
    return UNIT_DAYS[str(name)]


def clv(
    bgnbd: TransactionModel,
    gamma_gamma: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    horizon_days: float = 365.0,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    step_days: float = MONTH_DAYS,
    unit: str | None = None,
) -> pd.DataFrame:
    """Per customer of ``summary``: expected purchases over the horizon, P(alive), expected
    spend per purchase and CLV (columns :data:`VALUE_COLUMNS`). ``discount_rate`` is annual.

    ``bgnbd`` is the fitted purchase-count model: a ``BetaGeoModel`` or a ``ParetoNBDModel``.
    """
    checks = {
        "horizon_days": horizon_days > 0,
        "discount_rate": discount_rate > -1,
        "margin": margin > 0,
        "step_days": step_days > 0,
    }
    for name, ok in checks.items():
        if not ok:
            raise ModelError(
                f"The {name!r} of clv() is out of range. Got {locals()[name]!r}.",
                fix="use horizon_days > 0, discount_rate > −1 (annual, e.g. 0.1), margin > 0 "
                "(1 = revenue) and step_days > 0.",
            )
    per = _unit_days(summary, bgnbd, unit)
    h = histories(summary, "clv", fitting=False)
    n_steps = math.ceil(horizon_days / step_days - 1e-9)
    ends = np.minimum(np.arange(1, n_steps + 1) * step_days, horizon_days)
    factors = (1 + discount_rate) ** (ends / 365.25)
    discounted, previous = bgnbd._discounted(ends / per, factors, h)
    aov = gamma_gamma.expected_average_value(summary).to_numpy()
    out = pd.DataFrame(
        {
            "expected_purchases": previous[h.inverse],
            "p_alive": bgnbd._alive(h)[h.inverse],
            "expected_aov": aov,
            "clv": margin * aov * discounted[h.inverse],
        },
        index=summary.index,
        copy=False,  # four columns of millions of rows: not copied into one block
    )
    return out


def _checked_tiers(tiers: Mapping[str, float] | None) -> dict[str, float]:
    """Tiers ordered best first (smallest cumulative share first), whatever the given order."""
    tiers = dict(DEFAULT_TIERS if tiers is None else tiers)
    shares = list(tiers.values())
    ok = (
        all(isinstance(s, int | float) and not isinstance(s, bool) and 0 < s < 1 for s in shares)
        and len(set(shares)) == len(shares)
        and LOW not in tiers
    )
    if not ok or not tiers:
        raise ModelError(
            f"Value tiers must map names to different shares between 0 and 1 (cumulative, "
            f"'{LOW}' is the rest). Got {tiers!r}.",
            fix="e.g. tiers={'Top 1%': 0.01, 'Top 10%': 0.1, 'Middle': 0.5}.",
        )
    return dict(sorted(tiers.items(), key=lambda kv: kv[1]))


def tier_thresholds(
    values: pd.Series, tiers: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The lowest value inside each tier when ``values`` are ranked best first.

    A tier holds the best ``share`` of customers (cumulative): 'Top 10%' is the top 10 % less
    the top 1 %. Customers with the same value share a tier, so a tier can be a little larger
    than its share when values tie at its edge.
    """
    checked = _checked_tiers(tiers)
    order = values.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    n = len(order)
    out = {}
    for name, share in checked.items():
        k = max(1, math.ceil(share * n - 1e-9))
        out[name] = float(order.iloc[min(k, n) - 1]) if n else float("inf")
    return out


def assign_tiers(values: pd.Series, thresholds: Mapping[str, float]) -> pd.Series:
    """Tier labels: the first tier (best first) whose threshold the value reaches, else Low."""
    labels = pd.Series(LOW, index=values.index, dtype=object)
    todo = pd.Series(True, index=values.index)
    for name, lowest in thresholds.items():
        hit = todo & (values >= lowest)
        labels[hit] = name
        todo &= ~hit
    return labels
