"""Value models (M8): golden numbers on CDNOW, recovery on simulated data, CLV against lifetimes,
the estimator contract, and clear errors on degenerate data."""

from __future__ import annotations

import doctest
import importlib
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmint.exceptions import ModelError, NotFittedError, SegmintWarning
from segmint.segment.value import (
    CHURN_RISK,
    BetaGeoModel,
    GammaGammaModel,
    ValueSegmenter,
    assign_tiers,
    clv,
    summary_from_orders,
    tier_thresholds,
)
from segmint.segment.value._mle import NoFiniteMaximum
from segmint.segment.value.bgnbd import bgnbd_log_likelihood
from segmint.segment.value.gammagamma import gamma_gamma_log_likelihood
from segmint.segment.value.holdout import holdout_check
from segmint.segment.value.simulate import simulate_summary

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow"
FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def cdnow_lines() -> pd.DataFrame:
    raw = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str),
            "ordered_at": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["amount"].astype(float),
            "status": "paid",
        }
    )


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """segmint's own summary of the raw CDNOW sample, calibration to 1997-09-30, in weeks."""
    return summary_from_orders(cdnow_lines(), as_of="1997-09-30", unit="weeks")


@pytest.fixture(scope="module")
def bg(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


# ------------------------------------------------------------------ summary


def test_summary_from_raw_transactions_matches_the_published_summary(cdnow):
    published = pd.read_csv(CDNOW / "cdnow_customers_summary.csv")
    published.index = published["ID"].astype(str)
    both = cdnow.join(published.add_suffix("_pub"), how="inner")
    assert len(cdnow) == len(published) == len(both) == 2357
    assert (both["frequency"] == both["frequency_pub"]).all()
    assert np.abs(both["recency"] - both["recency_pub"]).max() <= 0.005  # 2-decimal rounding
    assert np.abs(both["T"] - both["T_pub"]).max() <= 0.005
    assert int((cdnow["frequency"] > 0).sum()) == 946
    assert cdnow.attrs["unit"] == "weeks"


def test_summary_monetary_is_the_mean_of_repeat_days_against_pandas():
    lines = cdnow_lines()
    s = summary_from_orders(lines, as_of="1997-09-30", unit="days")
    calib = lines[lines["ordered_at"] <= "1997-09-30"]
    days = calib.groupby(["customer_id", calib["ordered_at"].dt.normalize()])["amount"].sum()
    days = days.reset_index().sort_values(["customer_id", "ordered_at"])
    repeat = days[days.groupby("customer_id").cumcount() > 0]
    expected = repeat.groupby("customer_id")["amount"].mean()
    got = s.loc[expected.index, "monetary_value"]
    assert np.allclose(got.to_numpy(), expected.to_numpy())
    assert np.allclose(s["revenue"].sort_index(), days.groupby("customer_id")["amount"].sum())
    first = days.groupby("customer_id")["ordered_at"].min()
    age = (pd.Timestamp("1997-09-30") - first).dt.days
    assert np.array_equal(s["T"].sort_index().to_numpy(), age.sort_index().to_numpy())


def test_summary_counts_a_day_once_and_ignores_cancelled_lines():
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 08:00",
                    "2024-01-01 20:00",
                    "2024-01-08 10:00",
                    "2024-01-09 10:00",
                    "2024-01-02 09:00",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 99.0, 7.0],
            "status": ["paid", "paid", "paid", "cancelled", "paid"],
        }
    )
    s = summary_from_orders(lines, as_of="2024-01-15", unit="days")
    assert s.loc["a"].to_dict() == {
        "frequency": 1,
        "recency": 7.0,
        "T": 14.0,
        "monetary_value": 20.0,
        "revenue": 35.0,
    }
    assert s.loc["b", "frequency"] == 0 and s.loc["b", "monetary_value"] == 0.0


# ------------------------------------------------------------------ BG/NBD golden numbers


def test_bgnbd_fit_on_cdnow_gives_the_published_parameters(bg):
    # published to 3 decimals (our optimum: alpha 4.4135, on the rounding edge): compare with
    # half a unit of the last digit plus the optimizer's tolerance, not by rounding
    assert bg.params_ == pytest.approx(FHL, abs=6e-4)
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)  # FHL 2005
    assert bg.n_customers_ == 2357
    assert all(0 < se < bg.params_[k] for k, se in bg.standard_errors_.items())


def test_bgnbd_conditional_expectation_published_case():
    m = BetaGeoModel()
    m.params_ = dict(FHL)
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert round(float(m.expected_purchases(39, one).iloc[0]), 3) == 1.226


def test_bgnbd_agrees_with_lifetimes_on_cdnow(bg, cdnow):
    from lifetimes import BetaGeoFitter

    ref = BetaGeoFitter().fit(
        cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    )
    for k in FHL:
        assert bg.params_[k] == pytest.approx(float(ref.params_[k]), rel=1e-4)
    ref.params_ = pd.Series(bg.params_)
    f, r, t = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    expected = ref.conditional_expected_number_of_purchases_up_to_time(39, f, r, t)
    assert np.allclose(bg.expected_purchases(39, cdnow).to_numpy(), expected, rtol=1e-8)
    alive = ref.conditional_probability_alive(f, r, t)
    assert np.allclose(bg.p_alive(cdnow).to_numpy(), alive, rtol=1e-8)


def test_bgnbd_gradient_matches_finite_differences(cdnow):
    x, t_x, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    theta = np.array([0.3, 5.0, 0.9, 2.0])
    _, grad = bgnbd_log_likelihood(theta, x, t_x, T)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        up = bgnbd_log_likelihood(theta + step, x, t_x, T)[0].sum()
        down = bgnbd_log_likelihood(theta - step, x, t_x, T)[0].sum()
        assert grad[:, i].sum() == pytest.approx((up - down) / 2e-6, rel=1e-5)


def test_probability_of_n_purchases_is_a_distribution_with_the_right_mean(bg):
    probs = np.array([bg.probability_of_purchases(n, 39) for n in range(300)])
    assert probs.min() >= 0 and probs.sum() == pytest.approx(1.0, abs=1e-9)
    mean = float((np.arange(300) * probs).sum())
    assert mean == pytest.approx(float(bg.expected_purchases_new(39)), rel=1e-8)


def test_expected_purchases_for_a_new_customer_matches_simulation(bg):
    """E[X(t)] in closed form against the mean count of 200,000 simulated new customers."""
    p = bg.params_
    sim = simulate_summary(200_000, r=p["r"], alpha=p["alpha"], a=p["a"], b=p["b"], T=39, seed=7)
    counts = sim["frequency"].to_numpy()
    se = counts.std() / np.sqrt(len(counts))
    assert abs(counts.mean() - float(bg.expected_purchases_new(39))) < 4 * se


def test_holdout_check_on_cdnow_compares_per_frequency():
    s = summary_from_orders(
        cdnow_lines(), as_of="1997-09-30", unit="weeks", holdout_end="1998-06-30"
    )
    check = holdout_check(s)
    assert check.duration == 39.0
    b = check.buckets
    assert list(b["frequency"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert int(b["customers"].sum()) == 2357
    actual = s["frequency_holdout"].groupby(np.minimum(s["frequency"], 7)).mean()
    assert np.allclose(b["actual"].to_numpy(), actual.to_numpy())
    # predictions rise with past frequency, as the actual counts do
    assert (np.diff(b["predicted"].to_numpy()) > 0).all()
    assert check.total_actual == float(s["frequency_holdout"].sum())
    assert 0 < check.mae < 2 and abs(check.total_error) < 0.25


# ------------------------------------------------------------------ simulated data


def test_bgnbd_recovers_simulated_parameters_within_two_standard_errors():
    rng = np.random.default_rng(1)
    sim = simulate_summary(20_000, **FHL, T=rng.uniform(27, 39, 20_000), seed=3)
    m = BetaGeoModel().fit(sim)
    for k, true in FHL.items():
        assert abs(m.params_[k] - true) <= 2 * m.standard_errors_[k], k


def test_bgnbd_standard_errors_cover_the_truth_about_95_percent_of_the_time():
    hits = dict.fromkeys(FHL, 0)
    runs = 40
    for i in range(runs):
        m = BetaGeoModel().fit(simulate_summary(3_000, **FHL, T=38.86, seed=100 + i))
        for k, true in FHL.items():
            hits[k] += abs(m.params_[k] - true) <= 1.96 * m.standard_errors_[k]
    coverage = {k: v / runs for k, v in hits.items()}
    assert all(c >= 0.8 for c in coverage.values()), coverage


def test_gamma_gamma_recovers_simulated_parameters():
    sim = simulate_summary(20_000, **FHL, T=38.86, spend=(6.25, 3.74, 15.44), seed=5)
    m = GammaGammaModel().fit(sim)
    for k, true in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert abs(m.params_[k] - true) <= 2.5 * m.standard_errors_[k], k


# ------------------------------------------------------------------ Gamma-Gamma and CLV


def test_gamma_gamma_on_cdnow_repeat_buyers_gives_the_published_parameters(cdnow):
    m = GammaGammaModel().fit(cdnow)
    assert m.n_customers_ == 946
    assert m.params_["p"] == pytest.approx(6.25, abs=0.01)
    assert m.params_["q"] == pytest.approx(3.74, abs=0.01)
    assert m.params_["v"] == pytest.approx(15.44, abs=0.01)
    assert m.independence_["ok"] and abs(m.independence_["correlation"]) < 0.3


def test_gamma_gamma_gradient_matches_finite_differences(cdnow):
    rep = cdnow[cdnow["frequency"] > 0]
    x, mv = rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy()
    theta = np.array([5.0, 3.0, 12.0])
    _, grad = gamma_gamma_log_likelihood(theta, x, mv)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6
        up = gamma_gamma_log_likelihood(theta + step, x, mv)[0].sum()
        down = gamma_gamma_log_likelihood(theta - step, x, mv)[0].sum()
        assert grad[:, i].sum() == pytest.approx((up - down) / 2e-6, rel=1e-5)


def test_gamma_gamma_summed_likelihood_equals_the_per_customer_sum(cdnow):
    """The fit uses a regrouped sum (two passes over the customers per step); it must equal
    the sum of the per-customer terms, value and gradient, anywhere in the parameter space."""
    from segmint.segment.value.gammagamma import _GammaGammaData

    rep = cdnow[cdnow["frequency"] > 0]
    data = _GammaGammaData(rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy())
    for theta in ([6.25, 3.74, 15.44], [0.2, 0.8, 900.0], [40.0, 120.0, 3.0]):
        ll, grad = data.loglik(np.array(theta))
        total, total_grad = data.loglik_sum(np.array(theta))
        assert total == pytest.approx(ll.sum(), rel=1e-12)
        np.testing.assert_allclose(total_grad, grad.sum(axis=0), rtol=1e-9)


def test_clv_agrees_with_lifetimes(bg, cdnow):
    """12 months of 4.345 weeks at 1 % a month, as lifetimes computes it (freq='W')."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    gg = GammaGammaModel().fit(cdnow)
    step_days = 4.345 * 7
    annual = 1.01 ** (365.25 / step_days) - 1
    ours = clv(
        bg,
        gg,
        cdnow,
        horizon_days=12 * step_days,
        discount_rate=annual,
        step_days=step_days,
        unit="weeks",
    )
    f, r, t, m = (cdnow[c] for c in ("frequency", "recency", "T", "monetary_value"))
    rep = f > 0
    # lifetimes attaches predict() inside fit(), so fit first, then use our parameters
    ref_bg = BetaGeoFitter().fit(f.to_numpy(), r.to_numpy(), t.to_numpy())
    ref_gg = GammaGammaFitter().fit(f[rep].to_numpy(), m[rep].to_numpy())
    ref_bg.params_ = pd.Series(bg.params_)
    ref_gg.params_ = pd.Series(gg.params_)
    ref = ref_gg.customer_lifetime_value(ref_bg, f, r, t, m, time=12, discount_rate=0.01, freq="W")
    assert np.allclose(ours["clv"].to_numpy(), np.asarray(ref, dtype=float), rtol=1e-6)
    aov = ref_gg.conditional_expected_average_profit(f, m)
    assert np.allclose(ours["expected_aov"].to_numpy(), np.asarray(aov, dtype=float))


def test_clv_without_discount_is_expected_purchases_times_spend(bg, cdnow):
    gg = GammaGammaModel().fit(cdnow)
    out = clv(bg, gg, cdnow, horizon_days=273, discount_rate=0.0, margin=0.3, unit="weeks")
    direct = bg.expected_purchases(39, cdnow) * gg.expected_average_value(cdnow) * 0.3
    assert np.allclose(out["clv"], direct)
    assert np.allclose(out["expected_purchases"], bg.expected_purchases(39, cdnow))
    discounted = clv(bg, gg, cdnow, horizon_days=273, discount_rate=0.2, unit="weeks")
    assert (discounted["clv"] <= out["clv"] / 0.3 + 1e-9).all()


def test_clv_needs_the_time_unit(bg, cdnow):
    gg = GammaGammaModel().fit(cdnow)
    bare = pd.DataFrame(cdnow.to_dict())  # no attrs
    bg2 = BetaGeoModel()
    bg2.params_ = bg.params_
    with pytest.raises(ModelError, match="time unit"):
        clv(bg2, gg, bare)


# ------------------------------------------------------------------ tiers and the segmenter


def test_tiers_take_the_best_shares_first():
    values = pd.Series(np.arange(1000, 0, -1, dtype=float), index=[f"c{i}" for i in range(1000)])
    thresholds = tier_thresholds(values)
    labels = assign_tiers(values, thresholds)
    assert labels.value_counts().to_dict() == {
        "Low": 500,
        "Middle": 400,
        "Top 10%": 90,
        "Top 1%": 10,
    }
    assert labels["c0"] == "Top 1%" and labels["c999"] == "Low"
    # any order: tiers are taken best (smallest share) first
    swapped = tier_thresholds(values, {"Middle": 0.5, "Top 1%": 0.01, "Top 10%": 0.1})
    assert list(swapped) == ["Top 1%", "Top 10%", "Middle"] and swapped == thresholds
    with pytest.raises(ModelError, match="different shares"):
        tier_thresholds(values, {"Top": 0.5, "Next": 0.5})


def test_value_segmenter_contract_and_labels(cdnow):
    seg = ValueSegmenter(horizon_days=180, tiers={"Top 5%": 0.05, "Next 20%": 0.25})
    assert seg.get_params()["tiers"] == {"Top 5%": 0.05, "Next 20%": 0.25}
    with pytest.raises(NotFittedError):
        seg.predict(cdnow)
    assert seg.fit(cdnow) is seg
    assert {"bgnbd_", "gamma_gamma_", "values_", "thresholds_", "labels_"} <= set(vars(seg))
    assert set(seg.labels_.unique()) <= {"Top 5%", "Next 20%", "Low", CHURN_RISK}
    risky = seg.labels_ == CHURN_RISK
    assert risky.any()
    assert (seg.values_.loc[risky, "p_alive"] < 0.5).all()
    assert (cdnow.loc[risky, "revenue"] >= seg.churn_revenue_).all()
    # predict on the same rows gives the fitted labels; on unseen rows, known labels
    assert seg.predict(cdnow).equals(seg.labels_)
    unseen = cdnow.head(50).rename(index=lambda i: f"new-{i}")
    assert set(seg.predict(unseen)) <= set(seg.labels_)
    again = ValueSegmenter(horizon_days=180, tiers={"Top 5%": 0.05, "Next 20%": 0.25}).fit(cdnow)
    assert again.labels_.equals(seg.labels_)
    result = seg.segmentation("value")
    assert result.method == "value" and result.details["bgnbd"]["params"] == seg.bgnbd_.params_
    assert seg.set_params(horizon_days=90).horizon_days == 90


# ------------------------------------------------------------------ degenerate data


def summary(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    frame = pd.DataFrame(cols, index=[f"c{i}" for i in range(n)])
    frame.attrs["unit"] = "weeks"
    return frame


def test_no_repeat_buyers_is_a_clear_error():
    s = summary(frequency=[0] * 20, recency=[0.0] * 20, T=np.linspace(1, 20, 20))
    with pytest.raises(ModelError, match="no customer made a repeat purchase") as e:
        BetaGeoModel().fit(s)
    assert "longer order history" in str(e.value)


def test_identical_histories_are_a_clear_error():
    s = summary(frequency=[2] * 15, recency=[5.0] * 15, T=[10.0] * 15)
    with pytest.raises(ModelError, match="same history"):
        BetaGeoModel().fit(s)


def test_too_few_customers_is_a_clear_error():
    s = summary(frequency=[1, 0, 2], recency=[3.0, 0.0, 4.0], T=[5.0, 6.0, 7.0])
    with pytest.raises(ModelError, match="at least 10 customers"):
        BetaGeoModel().fit(s)


def test_inconsistent_summary_rows_name_the_customer():
    s = summary(frequency=[1] * 12, recency=[3.0] * 11 + [9.0], T=[5.0] * 12)
    with pytest.raises(ModelError, match=r"recency .* is larger than T") as e:
        BetaGeoModel().fit(s)
    assert "'c11'" in str(e.value)


def test_zero_or_negative_spend_is_a_clear_error():
    s = summary(frequency=[1] * 12, monetary_value=[10.0] * 11 + [0.0])
    with pytest.raises(ModelError, match="monetary_value ≤ 0") as e:
        GammaGammaModel().fit(s)
    assert "'c11'" in str(e.value) and "monetary_value > 0" in str(e.value)


def constant_spend_summary() -> pd.DataFrame:
    """Spend that never varies within a customer: the Gamma-Gamma p runs to infinity (and v
    to 0) with the likelihood rising all the way, so there is no finite MLE. Purchases from
    BG/NBD at the CDNOW parameters, so the purchase model itself is well determined."""
    s = simulate_summary(2_000, **FHL, T=38.86, seed=11)
    spend = np.where(np.arange(len(s)) % 2, 20.0, 300.0)
    s["monetary_value"] = np.where(s["frequency"] > 0, spend, 0.0)
    s.attrs["unit"] = "weeks"
    return s


def gamma_gamma_objective(s: pd.DataFrame):
    from segmint.segment.value.gammagamma import _GammaGammaData

    rep = s[s["frequency"] > 0]
    data = _GammaGammaData(rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy())
    return data.loglik_sum, float(len(rep))


def test_non_convergence_is_reported_with_the_penalizer_fix():
    with pytest.raises(NoFiniteMaximum, match="did not converge to a finite estimate") as e:
        GammaGammaModel().fit(constant_spend_summary())
    assert "p → ∞" in str(e.value) and "penalizer" in str(e.value)
    fitted = GammaGammaModel(penalizer=0.01).fit(constant_spend_summary())
    assert all(np.isfinite(v) for v in fitted.params_.values())
    assert all(np.isfinite(v) for v in fitted.standard_errors_.values())


@pytest.mark.parametrize(
    "start", [(1.0, 1.0, 160.0), (5.0, 2.0, 10.0), (0.5, 0.5, 1000.0), (20.0, 3.0, 5.0)]
)
@pytest.mark.parametrize("threads", [1, 2])
def test_no_finite_maximum_is_found_whatever_the_optimizer_path(start, threads):
    """The optimizer stops at p ≈ 1e5, 3e6 or 5e8 depending on where it starts (and, on
    other CPUs, on the BLAS kernels and thread counts): the verdict must not."""
    from threadpoolctl import threadpool_limits

    from segmint.segment.value._mle import fit_mle

    loglik, n = gamma_gamma_objective(constant_spend_summary())
    with threadpool_limits(threads), pytest.raises(NoFiniteMaximum):
        fit_mle(loglik, np.array(start), n=n, names=("p", "q", "v"), model="Gamma-Gamma")


def test_the_profile_likelihood_along_the_ridge_never_falls():
    """The condition the detection tests for, checked independently: with p fixed ever
    larger and q, v maximized (Nelder-Mead, no gradient), the log-likelihood keeps rising."""
    from scipy.optimize import minimize

    loglik, _ = gamma_gamma_objective(constant_spend_summary())
    profile = []
    for log_p in (2.0, 6.0, 10.0, 14.0):

        def nll(z, log_p=log_p):
            return -loglik(np.exp([log_p, *z]))[0]

        starts = [(np.log(0.8), np.log(v)) for v in (1e-4, 1e-2, 1.0, 100.0)]
        best = min(
            (
                minimize(nll, z0, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-9})
                for z0 in starts
            ),
            key=lambda r: r.fun,
        )
        profile.append(-best.fun)
    # rising (to within the inner optimizer's tolerance), and by more than 1.92 from p = e²
    assert all(b >= a - 1e-3 for a, b in itertools.pairwise(profile)), profile
    assert profile[-1] - profile[0] > 1.92, profile


def test_a_well_determined_fit_is_not_flagged_from_any_start(cdnow):
    """The other side: CDNOW's Gamma-Gamma has a finite MLE, found from several starts."""
    from segmint.segment.value._mle import fit_mle

    loglik, n = gamma_gamma_objective(cdnow)
    for start in [(1.0, 1.0, 35.0), (20.0, 10.0, 2.0), (0.3, 0.5, 500.0)]:
        res = fit_mle(loglik, np.array(start), n=n, names=("p", "q", "v"), model="Gamma-Gamma")
        assert res.params == pytest.approx([6.25, 3.74, 15.44], abs=0.01)


def test_unfitted_models_raise_not_fitted():
    with pytest.raises(NotFittedError, match="BetaGeoModel"):
        BetaGeoModel().p_alive(summary(frequency=[1], recency=[1.0], T=[2.0]))
    with pytest.raises(NotFittedError, match="GammaGammaModel"):
        GammaGammaModel().predict(summary(frequency=[1], monetary_value=[1.0]))


@pytest.mark.parametrize(
    "module",
    [
        "segmint.features.repeat",
        "segmint.segment.value.bgnbd",
        "segmint.segment.value.gammagamma",
        "segmint.segment.value.clv",
        "segmint.segment.value.segmenter",
        "segmint.segment.value.simulate",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_a_customer_who_first_bought_on_the_as_of_day_is_fine(cdnow):
    """T = 0 (first purchase on the as-of day) adds log-likelihood 0 and predicts like new."""
    today = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [0.0]}, index=["new"])
    m = BetaGeoModel().fit(pd.concat([cdnow[["frequency", "recency", "T"]], today]))
    assert m.p_alive(today).iloc[0] == 1.0
    assert float(m.expected_purchases(39, today).iloc[0]) == pytest.approx(
        float(m.expected_purchases_new(39)), rel=1e-9
    )


def test_value_segmenter_refits_a_model_without_a_finite_mle_with_a_penalizer_and_says_so():
    s = constant_spend_summary()
    with pytest.warns(SegmintWarning, match="fitted with penalizer=0.001"):
        seg = ValueSegmenter().fit(s)
    assert any("fitted with penalizer=0.001" in w and "p → ∞" in w for w in seg.warnings_)
    assert all(np.isfinite(v) for v in seg.gamma_gamma_.params_.values())
    assert seg.gamma_gamma_.penalizer == 0.001 and seg.bgnbd_.penalizer == 0.0
    chosen = ValueSegmenter(penalizer=0.01).fit(s)  # the user's choice: no refit, no warning
    assert not any("fitted with penalizer" in w for w in chosen.warnings_)


def test_readme_value_example_on_the_sample_shop_warns_and_gives_finite_estimates():
    """README example 3 on the sample shop: spend per customer hardly varies there, so the
    Gamma-Gamma fit has no finite MLE (it used to come back with p = 4.8e8, NaN standard
    errors and no warning). The bare model says so; the segmenter refits and warns."""
    from segmint.datasets import make_retail

    summary = summary_from_orders(make_retail(2000, seed=0).orders, as_of="2024-12-31")
    paying = summary[summary["monetary_value"] > 0]
    with pytest.raises(NoFiniteMaximum, match="p → ∞"):
        GammaGammaModel().fit(paying)
    with pytest.warns(SegmintWarning, match="spend hardly varies") as caught:
        seg = ValueSegmenter().fit(summary)
    assert caught[0].filename == __file__  # points at the user's line
    gg = seg.gamma_gamma_
    assert gg.penalizer == 0.001 and any("penalizer=0.001" in w for w in seg.warnings_)
    for params in (gg.params_, gg.standard_errors_, seg.bgnbd_.standard_errors_):
        assert all(np.isfinite(v) for v in params.values())
    assert gg.params_["p"] < 1e3  # penalized: nowhere near the runaway values
    assert np.isfinite(seg.values_["clv"]).all()


def homogeneous_dropout_summary() -> pd.DataFrame:
    """Every customer a repeat buyer, purchases spread evenly: nothing tells customers' drop-out
    rates apart, so the heterogeneity parameters run to infinity together (a, b or s, β)."""
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, 400)
    T = rng.uniform(30, 60, 400)
    return summary(frequency=x, recency=T * rng.uniform(0.2, 1.0, 400), T=T)


@pytest.mark.parametrize("model", ["BetaGeoModel", "ModifiedBetaGeoModel", "ParetoNBDModel"])
def test_purchase_models_report_a_missing_maximum_from_any_start(model):
    import segmint.segment.value as value
    from segmint.segment.value._data import histories
    from segmint.segment.value._mle import fit_mle

    cls = getattr(value, model)
    s = homogeneous_dropout_summary()
    with pytest.raises(NoFiniteMaximum, match="→ ∞"):
        cls().fit(s)
    h = histories(s, model)
    loglik = cls()._likelihood(h)
    starts = [cls()._start(h), np.array([0.3, 5.0, 0.5, 3.0])]
    for start in starts if model != "ParetoNBDModel" else starts[1:]:  # Pareto/NBD is slower
        with pytest.raises(NoFiniteMaximum):
            fit_mle(loglik, start, n=float(h.count.sum()), names=cls.names, model=cls.label)
    fitted = cls(penalizer=0.01).fit(s)
    assert all(np.isfinite(v) for v in fitted.params_.values())


def test_unbounded_direction_on_known_surfaces():
    """A bowl that is weakly curved (se 3 in log space) still has a maximum; a surface that
    keeps falling towards an asymptote as x₀ grows does not, wherever on it we stand."""
    from segmint.segment.value._finite import unbounded_direction

    def bowl(x):  # mean objective of n = 1 rows: ½ (x₀/3)² + x₁²
        return 0.5 * (x[0] / 3) ** 2 + x[1] ** 2, np.array([x[0] / 9, 2 * x[1]])

    h = np.diag([1 / 9, 2.0])
    assert unbounded_direction(bowl, np.zeros(2), h, n=1.0, box=(-20, 20), stationary=True) is None

    def ridge(x):  # 5·e^(−x₀) + (x₁ − x₀/4)²: the valley's floor rises to 0 as x₀ → ∞
        d = x[1] - x[0] / 4
        return 5 * np.exp(-x[0]) + d**2, np.array([-5 * np.exp(-x[0]) - d / 2, 2 * d])

    for x0 in (2.0, 6.0, 12.0):
        x = np.array([x0, x0 / 4])
        h = np.array([[5 * np.exp(-x0) + 0.125, -0.5], [-0.5, 2.0]])
        way = unbounded_direction(ridge, x, h, n=1.0, box=(-20, 20), stationary=x0 > 6)
        assert way is not None and way[0] > 0.9, (x0, way)
