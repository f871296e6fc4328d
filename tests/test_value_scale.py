"""What makes the value models fast on millions of customers, each checked against the plain
computation it replaces: the summed BG/NBD likelihood against the per-history one, the
grouping of histories against a pandas group-by, CLV per distinct (x, T) against the step
loop per history, and the warm start (a sample's fit, then Newton steps) against a cold fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmint.exceptions import ModelError
from segmint.segment.value import BetaGeoModel, GammaGammaModel, _mle, _transaction, clv, gammagamma
from segmint.segment.value._data import _group, histories
from segmint.segment.value._transaction import (
    TransactionModel,
    grouped_likelihood,
    sample_histories,
)
from segmint.segment.value.bgnbd import _BetaGeoSums, bgnbd_log_likelihood
from segmint.segment.value.simulate import simulate_summary

FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    """60,000 customers of different ages, times in whole days: many shared histories."""
    days = np.random.default_rng(0).integers(1, 731, 60_000)
    s = simulate_summary(60_000, **FHL, T=days / 7.0, seed=1, unit="weeks")
    s["recency"] = np.floor(s["recency"] * 7) / 7
    return s


@pytest.mark.parametrize(
    "theta", [[0.243, 4.414, 0.793, 2.426], [1.0, 30.0, 1.0, 1.0], [0.05, 0.5, 3.0, 0.2]]
)
def test_summed_bgnbd_likelihood_equals_the_per_history_sum(summary, theta):
    h = histories(summary, "test")
    ll, grad = _BetaGeoSums(h).loglik(np.array(theta))
    ll_ref, grad_ref = grouped_likelihood(bgnbd_log_likelihood, h)(np.array(theta))
    assert ll == pytest.approx(ll_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-9 * np.abs(grad_ref).max())


def test_grouping_equals_a_pandas_group_by():
    rng = np.random.default_rng(1)
    cols = (
        rng.integers(0, 5, 20_000).astype(float),
        np.round(rng.random(20_000) * 3, 1),
        rng.choice([0.0, -0.0, 1.5, np.pi], 20_000),
    )
    inverse, first = _group(*cols)
    frame = pd.DataFrame({"a": cols[0], "b": cols[1], "c": cols[2]})
    grouped = frame.groupby(["a", "b", "c"], sort=False)
    np.testing.assert_array_equal(inverse, grouped.ngroup().to_numpy())
    np.testing.assert_array_equal(first, grouped.head(1).index.to_numpy())
    whole = _group(cols[0].astype(np.int64), *cols[1:])  # small whole numbers: their own codes
    np.testing.assert_array_equal(whole[0], inverse)
    np.testing.assert_array_equal(whole[1], first)
    empty = _group(np.zeros(0), np.zeros(0))
    assert len(empty[0]) == len(empty[1]) == 0


def test_clv_per_distinct_x_and_T_equals_the_loop_over_histories(summary):
    bg, gg = BetaGeoModel(), GammaGammaModel()
    bg.params_, gg.params_ = dict(FHL), {"p": 6.25, "q": 3.74, "v": 15.44}
    h = histories(summary, "test", fitting=False)
    ends = np.array([4.3, 8.7, 13.0, 26.1, 52.2])
    factors = 1.1 ** (ends / 52.18)
    got = bg._discounted(ends, factors, h)
    ref = TransactionModel._discounted(bg, ends, factors, h)  # one _expected per step
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-300)
    out = clv(bg, gg, summary, horizon_days=365, discount_rate=0.1)
    assert out["expected_purchases"].to_numpy() == pytest.approx(
        bg.expected_purchases(365 / 7, summary).to_numpy(), rel=1e-12
    )


def test_sampled_histories_hold_the_drawn_customers(summary):
    h = histories(summary, "test")
    sample = sample_histories(h, 5_000)
    assert sample is not None and sample.count.sum() == 5_000
    rows = set(zip(h.x, h.t_x, h.T, strict=True))
    assert set(zip(sample.x, sample.t_x, sample.T, strict=True)) <= rows
    assert sample_histories(h, 40_000) is None  # not many more customers than the sample


def test_warm_started_fits_reach_the_cold_fits_optimum(summary, monkeypatch):
    cold_bg = BetaGeoModel().fit(summary)
    rep = summary[summary["frequency"] > 0]
    cold_gg = GammaGammaModel().fit(rep)
    monkeypatch.setattr(_transaction, "WARM_SAMPLE", 5_000)
    monkeypatch.setattr(gammagamma, "WARM_SAMPLE", 5_000)
    starts = []
    warm_start = _mle._warm_start
    monkeypatch.setattr(_mle, "_warm_start", lambda *a: starts.append(1) or warm_start(*a))
    for cold, warm in (
        (cold_bg, BetaGeoModel().fit(summary)),
        (cold_gg, GammaGammaModel().fit(rep)),
    ):
        assert warm.log_likelihood_ >= cold.log_likelihood_ - 1e-6
        for k, v in cold.params_.items():
            assert warm.params_[k] == pytest.approx(v, rel=1e-5)
            assert warm.standard_errors_[k] == pytest.approx(cold.standard_errors_[k], rel=1e-3)
    assert len(starts) == 2


def test_histories_are_reused_only_for_the_same_unchanged_frame(summary):
    s = summary.copy()
    first = histories(s, "test")
    assert histories(s, "test", fitting=False) is first  # clv after the fit: grouped once
    assert histories(s.copy(), "test") is not first  # another frame is grouped anew
    s.loc[s.index[5], "T"] += 1.0  # changed in place: grouped anew, with the new value
    changed = histories(s, "test", fitting=False)
    assert changed is not first
    assert changed.T[changed.inverse][5] == s["T"].iloc[5]
    np.testing.assert_array_equal(changed.T[changed.inverse], s["T"].to_numpy())


def test_reused_histories_still_get_a_fits_checks():
    same = pd.DataFrame({"frequency": [1.0] * 20, "recency": [2.0] * 20, "T": [5.0] * 20})
    histories(same, "test", fitting=False)  # no fit checks: fine
    with pytest.raises(ModelError, match="same history"):
        histories(same, "test")  # a fit must not reuse it unchecked


def test_a_dropped_frame_lets_its_histories_go(summary):
    import gc

    from segmint.segment.value import _data

    histories(summary.copy(), "test")
    gc.collect()
    assert _data._last is None
