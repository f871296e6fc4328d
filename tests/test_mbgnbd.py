"""MBG/NBD: agreement with lifetimes on CDNOW (an independent implementation), the analytic
gradient, P(alive) of one-time buyers, and what the value segmenter's churn labels rest on,
on real data (CDNOW, UCI Online Retail)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from segmint.segment.rfm import RFMSegmenter
from segmint.segment.value import (
    CHURN_RISK,
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ValueSegmenter,
    summary_from_orders,
)
from segmint.segment.value import mbgnbd as mbgnbd_module
from segmint.segment.value.mbgnbd import mbgnbd_log_likelihood
from tests.conftest import shared_file
from tests.test_value import cdnow_lines


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The CDNOW sample, calibration to 1997-09-30, in weeks (as the papers)."""
    return summary_from_orders(cdnow_lines(), as_of="1997-09-30", unit="weeks")


@pytest.fixture(scope="module")
def mbg(cdnow: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel().fit(cdnow)


def test_agrees_with_lifetimes_on_cdnow(mbg, cdnow):
    from lifetimes import ModifiedBetaGeoFitter

    f, r, t = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    ref = ModifiedBetaGeoFitter().fit(f, r, t)
    for k in ("r", "alpha", "a", "b"):
        assert mbg.params_[k] == pytest.approx(float(ref.params_[k]), rel=1e-4), k
    ref.params_ = pd.Series(mbg.params_)
    expected = ref.conditional_expected_number_of_purchases_up_to_time(39, f, r, t)
    assert np.allclose(mbg.expected_purchases(39, cdnow).to_numpy(), expected, rtol=1e-8)
    assert np.allclose(mbg.p_alive(cdnow).to_numpy(), ref.conditional_probability_alive(f, r, t))
    new = float(ref.expected_number_of_purchases_up_to_time(39))
    assert float(mbg.expected_purchases_new(39)) == pytest.approx(new, rel=1e-10)
    assert all(0 < se < 2 * mbg.params_[k] for k, se in mbg.standard_errors_.items())


def test_gradient_matches_finite_differences(cdnow):
    x, t_x, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    theta = np.array([0.5, 6.0, 0.9, 1.6])
    _, grad = mbgnbd_log_likelihood(theta, x, t_x, T)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        up = mbgnbd_log_likelihood(theta + step, x, t_x, T)[0].sum()
        down = mbgnbd_log_likelihood(theta - step, x, t_x, T)[0].sum()
        assert grad[:, i].sum() == pytest.approx((up - down) / 2e-6, rel=1e-5)


def test_one_time_buyers_p_alive_falls_with_time_since_their_purchase(mbg):
    """The property churn risk needs, which BG/NBD lacks (P(alive) = 1 for x = 0)."""
    T = np.linspace(1, 80, 30)
    once = pd.DataFrame({"frequency": 0, "recency": 0.0, "T": T})
    alive = mbg.p_alive(once).to_numpy()
    assert (np.diff(alive) < 0).all() and alive[0] < 1
    bg = BetaGeoModel()
    bg.params_ = mbg.params_
    assert (bg.p_alive(once) == 1.0).all()


def test_docstring_examples_run():
    result = doctest.testmod(mbgnbd_module)
    assert result.failed == 0 and result.attempted > 0


# ------------------------------------------------------------------ real data, full histories


@pytest.fixture(scope="module")
def cdnow_master() -> pd.DataFrame:
    """Every CDNOW purchase (23,570 customers) summarised in days at the end of the data."""
    raw = pd.read_csv(
        shared_file("cdnow", "CDNOW_master.txt"),
        sep=r"\s+",
        header=None,
        skiprows=1,
        names=["customer_id", "date", "cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    orders = pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"].astype(float),
        }
    )
    return summary_from_orders(orders, as_of="1998-06-30", unit="days")


def rfm_labels(summary: pd.DataFrame) -> pd.Series:
    """RFM on the features the summary implies (days since the last purchase day, purchase
    days, revenue)."""
    features = pd.DataFrame(
        {
            "recency_days": summary["T"] - summary["recency"],
            "frequency": summary["frequency"] + 1,
            "monetary_total": summary["revenue"],
        }
    )
    return RFMSegmenter().fit(features).labels_


def test_cdnow_lost_customers_have_a_far_lower_p_alive_than_champions(cdnow_master):
    """Under BG/NBD every one-time buyer has P(alive) = 1, so RFM's "Lost" (all one-time
    buyers here) averaged 1.000; the segmenter's model must tell them from Champions."""
    seg = ValueSegmenter(unit="days").fit(cdnow_master)
    assert seg.bgnbd_.undetermined_ is None  # a proper maximum on this data
    rfm = rfm_labels(cdnow_master)
    alive = seg.values_["p_alive"].groupby(rfm).mean()
    assert alive["Lost"] < 0.5 * alive["Champions"], alive.to_dict()
    assert alive["Hibernating"] < 0.5 * alive["Champions"], alive.to_dict()
    # the degeneracy the segmenter avoids, on the same data
    bg = BetaGeoModel().fit(cdnow_master)
    assert bg.p_alive(cdnow_master).groupby(rfm).mean()["Lost"] == pytest.approx(1.0)
    # churn risk can now name valuable customers who bought once, long ago
    risky = seg.labels_ == CHURN_RISK
    assert (cdnow_master.loc[risky, "frequency"] == 0).any()


@pytest.mark.slow
def test_online_retail_best_repeat_buyers_are_not_called_at_risk(tmp_path):
    """On 55 days of Online Retail, BG/NBD gave every one-time buyer P(alive) = 1, so the best
    repeat buyers had the lowest P(alive) and their profile read "at-risk"."""
    import segmint
    from segmint.profile import profile
    from segmint.segment.base import Segmentation

    ws = segmint.Workspace(tmp_path / "retail.duckdb")
    ws.ingest(shared_file("uci_online_retail_head", "Online Retail.xlsx"))
    ws.clean()
    summary = ws.value_summary()
    with pytest.warns(UserWarning):  # 55 days show no drop-out: the segmenter says so
        seg = ValueSegmenter().fit(summary)
    assert any("churn risk cannot be judged" in w for w in seg.warnings_)
    repeat = summary[summary["frequency"] > 0]
    best = repeat["revenue"] >= repeat["revenue"].quantile(0.9)
    alive = seg.values_["p_alive"]
    assert alive[best[best].index].mean() >= alive.mean() - 1e-6
    assert CHURN_RISK not in set(seg.labels_[best[best].index])
    features = summary.join(seg.values_)
    labels = pd.Series("others", index=summary.index)
    labels[best[best].index] = "best"
    named = profile(features, Segmentation("t", "rules", labels, list(features.columns)))
    names = {p["label"]: p["name"] for p in named.to_dict()["segments"]}
    assert "risk" not in names["best"].lower(), names
