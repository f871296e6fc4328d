"""The value step of the zero-config run, the way a pandas user would write it with lifetimes:
the peer of segmint's CLV in ``bench_run.py``'s *pandas+sklearn+lifetimes (zero-config
steps)* contender.

From the cleaned order lines: purchase lines (paid or refunded, amount ≥ 0) summed per
customer and day (paid amounts), the repeat-purchase summary in weeks as of the last order
(``lifetimes.utils.summary_data_from_transaction_data``), ``ModifiedBetaGeoFitter`` (segmint's
zero-config purchase model is the MBG/NBD), ``GammaGammaFitter`` on the repeat buyers with a
positive spend (penalizer 0.001 when the unpenalized fit does not converge, as segmint), the
12-month CLV at 10 % a year (lifetimes' ``customer_lifetime_value``, monthly steps) and
P(alive), then segmint's tiers (top 1 %, top 10 %, top half by CLV, the rest low) and churn
risk (P(alive) < 0.5 among the top 20 % by past revenue). The value columns join the feature
table and the tiers are profiled, ranked and projected like the other two segmentations.
Differences from segmint that change numbers but not the work: lifetimes' own summary rules
(its recency counts from the first purchase day, as segmint's), and float sums.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

TIERS = {"Top 1%": 0.01, "Top 10%": 0.10, "Middle": 0.50}
CHURN_P_ALIVE, CHURN_VALUE_SHARE = 0.5, 0.2


def ref_value(lines: pd.DataFrame, as_of: Any) -> tuple[pd.Series, pd.DataFrame]:
    """Tier labels and value columns (expected purchases, P(alive), expected order value,
    CLV) per customer who bought, indexed by customer_id."""
    from lifetimes import GammaGammaFitter, ModifiedBetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    buy = lines[
        lines["customer_id"].notna()
        & lines["status"].isin(["paid", "refunded"])
        & (lines["amount"] >= 0)
    ]
    paid = buy["amount"].where(buy["status"] == "paid", 0.0)
    days = (
        pd.DataFrame(
            {"customer_id": buy["customer_id"], "day": buy["ordered_at"].dt.floor("D"), "v": paid}
        )
        .groupby(["customer_id", "day"], sort=False, observed=True)["v"]
        .sum()
        .reset_index()
    )
    summary = summary_data_from_transaction_data(
        days,
        "customer_id",
        "day",
        monetary_value_col="v",
        observation_period_end=pd.Timestamp(as_of).floor("D"),
        freq="W",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mbg = ModifiedBetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        try:
            gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
        except Exception:  # no convergence: the penalized fit segmint falls back to
            gg = GammaGammaFitter(penalizer_coef=0.001).fit(
                repeat["frequency"], repeat["monetary_value"]
            )
        f, r, t, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
        values = pd.DataFrame(
            {
                "expected_purchases": mbg.conditional_expected_number_of_purchases_up_to_time(
                    52, f, r, t
                ),
                "p_alive": mbg.conditional_probability_alive(f, r, t),
                "expected_aov": gg.conditional_expected_average_profit(f, m),
                "clv": gg.customer_lifetime_value(
                    mbg, f, r, t, m, time=12, discount_rate=0.10 / 12, freq="W"
                ),
            },
            index=summary.index,
        )
    clv = values["clv"]
    labels = pd.Series("Low", index=values.index, dtype=object)
    for name, share in sorted(TIERS.items(), key=lambda kv: -kv[1]):
        labels[clv >= clv.quantile(1 - share)] = name
    revenue = days.groupby("customer_id", sort=False)["v"].sum().reindex(values.index)
    risky = (values["p_alive"] < CHURN_P_ALIVE) & (
        revenue >= revenue.quantile(1 - CHURN_VALUE_SHARE)
    )
    labels[risky.to_numpy()] = "Churn risk"
    values.index = values.index.astype(str)
    labels.index = values.index
    return labels, values.astype(np.float64)
