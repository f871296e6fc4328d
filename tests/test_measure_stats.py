"""segmint.measure.stats against GrowthBook's own published cases, to 5 decimals.

GrowthBook sources (github.com/growthbook/growthbook, read at commit 8f1db445, Aug 2026, unless
a case names another):
  FREQ  = packages/stats/tests/frequentist/test_tests.py
  BAYES = packages/stats/tests/bayesian/test_tests.py
  TS    = packages/shared/test/experiments.test.ts  ("pvalue correction method", "... on results")
  SRM   = packages/stats/tests/test_gbstats.py at commit 49bfdc71 (TestHelpers.test_srm; the case
          left the file when check_srm moved to gbstats/utils.py)
Independent checks use scipy and statsmodels directly on the raw formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from segmint.measure.stats import (
    Bayesian,
    Frequentist,
    Proportion,
    SampleMean,
    adjust,
    bayesian,
    frequentist,
    gaussian_risk,
    sample_ratio,
    welch_df,
)

R = 5  # GrowthBook's DECIMALS

# FREQ TestTwoSidedTTest.setUp
CONTROL = SampleMean(n=3407, sum=1396.87, sum_squares=52377.9767)
TREATMENT = SampleMean(n=3461, sum=2422.7, sum_squares=134698.29)


def rounded(*values: float) -> tuple[float, ...]:
    return tuple(round(v, R) for v in values)


# --- the statistics -----------------------------------------------------------------------


def test_sample_mean_and_proportion_follow_their_definitions():
    values = np.array([1.0, 2.5, 4.0, 4.0, 7.5])
    s = SampleMean(n=5, sum=values.sum(), sum_squares=(values**2).sum())
    assert s.mean == pytest.approx(values.mean())
    assert s.variance == pytest.approx(values.var(ddof=1))
    assert s.std == pytest.approx(values.std(ddof=1))
    p = Proportion(n=40, sum=10)
    assert (p.mean, p.variance, p.sum_squares) == (0.25, 0.25 * 0.75, 10)


# --- frequentist ---------------------------------------------------------------------------


def test_relative_welch_matches_growthbook():
    # FREQ TestTwoSidedTTest.test_two_sided_ttest
    r = frequentist(CONTROL, TREATMENT)
    assert r.status == "ok" and r.message == "" and r.relative
    assert rounded(r.estimate, r.ci_low, r.ci_high, r.p_value) == (
        0.70732, -0.03526, 1.44989, 0.06191,
    )  # fmt: skip
    assert round(r.se, R) == 0.37879  # uplift stddev
    assert not r.significant


def test_absolute_welch_matches_growthbook():
    # FREQ TestTwoSidedTTest.test_two_sided_ttest_absolute
    r = frequentist(CONTROL, TREATMENT, relative=False)
    assert rounded(r.estimate, r.ci_low, r.ci_high, r.p_value, r.se) == (
        0.29, 0.04538, 0.53462, 0.02016, 0.12478,
    )  # fmt: skip
    assert r.significant


def test_proportions_match_growthbook():
    # FREQ TestTwoSidedTTest.test_two_sided_ttest_binom
    r = frequentist(Proportion(n=28, sum=14), Proportion(n=30, sum=16))
    assert rounded(r.estimate, r.ci_low, r.ci_high, r.p_value, r.se) == (
        0.06667, -0.47767, 0.61101, 0.80707, 0.2717,
    )  # fmt: skip


def test_absolute_welch_equals_scipy_welch_on_raw_values():
    # independent: scipy's Welch test on the values themselves
    rng = np.random.default_rng(7)
    a, b = rng.gamma(2.0, 3.0, 400), rng.gamma(2.2, 3.0, 250)
    r = frequentist(
        SampleMean(len(a), a.sum(), (a**2).sum()),
        SampleMean(len(b), b.sum(), (b**2).sum()),
        relative=False,
    )
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r.estimate == pytest.approx(b.mean() - a.mean())
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.df == pytest.approx(ref.df, rel=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_relative_lift_keeps_its_sign_against_a_negative_baseline():
    # GrowthBook divides by |control mean| (gbstats utils.frequentist_diff; its test_utils.py
    # TestFrequentistDiff): -10 → -5 is an increase
    c = SampleMean(n=4, sum=-40.0, sum_squares=420.0)
    t = SampleMean(n=4, sum=-20.0, sum_squares=120.0)
    assert frequentist(c, t).estimate == pytest.approx(0.5)
    assert bayesian(c, t).expected == pytest.approx(0.5)


def test_alpha_sets_the_interval_width():
    wide = frequentist(CONTROL, TREATMENT, alpha=0.01)
    narrow = frequentist(CONTROL, TREATMENT, alpha=0.2)
    assert wide.ci_low < narrow.ci_low < narrow.estimate < narrow.ci_high < wide.ci_high
    assert wide.p_value == narrow.p_value and wide.alpha == 0.01


def test_welch_df_is_the_satterthwaite_formula():
    a = CONTROL.variance / CONTROL.n
    b = TREATMENT.variance / TREATMENT.n
    expected = (a + b) ** 2 / (a**2 / (CONTROL.n - 1) + b**2 / (TREATMENT.n - 1))
    assert welch_df(CONTROL, TREATMENT) == pytest.approx(expected)


# --- Bayesian ------------------------------------------------------------------------------


def test_bayesian_proportions_match_growthbook():
    # BAYES TestBinom.test_bayesian_binomial_ab_test
    r = bayesian(Proportion(n=100, sum=49), Proportion(n=100, sum=51))
    assert r.status == "ok"
    assert rounded(r.expected, r.ci_low, r.ci_high, r.sd, r.chance_to_win) == (
        0.04082, -0.24779, 0.32943, 0.14725, 0.60918,
    )  # fmt: skip
    assert rounded(r.risk_control, r.risk_treatment) == (0.0814, 0.04058)


def test_bayesian_means_match_growthbook():
    # BAYES TestNorm.test_bayesian_gaussian_ab_test (default flat prior)
    r = bayesian(SampleMean(n=10, sum=100, sum_squares=1002.25),
                 SampleMean(n=10, sum=105, sum_squares=1111.5))  # fmt: skip
    assert rounded(r.expected, r.ci_low, r.ci_high, r.sd, r.chance_to_win) == (
        0.05, -0.02, 0.12, 0.03572, 0.91923,
    )  # fmt: skip
    assert rounded(r.risk_control, r.risk_treatment) == (0.05131, 0.00131)


def test_risk_matches_growthbook_get_risk():
    # BAYES TestGetRiskNumericalStability: the regression values to 10 decimals, and the
    # extreme case gbstats once overflowed on
    assert [round(x, 10) for x in gaussian_risk(0.1, 0.05)] == [0.1004245351, 0.0004245351]
    assert gaussian_risk(0.01, 4.5e-9) == pytest.approx((0.01, 0.0), abs=1e-15)
    assert gaussian_risk(-0.01, 4.5e-9) == pytest.approx((0.0, 0.01), abs=1e-15)


def test_risk_is_the_expected_loss_by_integration():
    # independent: E[max(X, 0)] and E[max(-X, 0)] for X ~ N(mu, sd²) by numerical integration
    from scipy.integrate import quad

    for mu, sd in [(0.04, 0.15), (-0.3, 0.1), (0.0, 2.0)]:
        keep = quad(lambda x, mu=mu, sd=sd: x * sps.norm.pdf(x, mu, sd), 0, np.inf)[0]
        switch = quad(lambda x, mu=mu, sd=sd: -x * sps.norm.pdf(x, mu, sd), -np.inf, 0)[0]
        assert gaussian_risk(mu, sd) == pytest.approx((keep, switch), rel=1e-7, abs=1e-12)


def test_bayesian_flat_prior_agrees_with_the_frequentist_normal_interval():
    f = frequentist(CONTROL, TREATMENT)
    b = bayesian(CONTROL, TREATMENT)
    assert b.expected == f.estimate and b.sd == f.se
    z = sps.norm.ppf(0.975)
    assert (b.ci_low, b.ci_high) == pytest.approx((f.estimate - z * f.se, f.estimate + z * f.se))
    assert b.chance_to_win == pytest.approx(sps.norm.cdf(f.estimate / f.se))


# --- degenerate inputs come back coded; misuse raises --------------------------------------


@pytest.mark.parametrize("test", [frequentist, bayesian])
@pytest.mark.parametrize(
    ("control", "treatment", "relative", "status", "words"),
    [
        (Proportion(0, 0), Proportion(0, 0), True, "empty_arm", "control arm has no customers"),
        (Proportion(50, 5), Proportion(0, 0), False, "empty_arm", "treatment arm"),
        (SampleMean(1, 3.0, 9.0), SampleMean(9, 27.0, 90.0), True, "too_few", "at least 2"),
        (SampleMean(5, 10.0, 20.0), SampleMean(5, 10.0, 20.0), False, "zero_variance", "is 2 for all 5"),
        (Proportion(40, 40), Proportion(40, 30), True, "zero_variance", "is 1 for all 40"),
        (Proportion(80, 4), Proportion(60, 0), False, "zero_variance", "treatment arm"),
        (SampleMean(3, 0.0, 2.0), SampleMean(3, 3.0, 5.0), True, "zero_baseline", "control mean is 0"),
    ],
)  # fmt: skip
def test_degenerate_inputs_give_a_code_a_sentence_and_nan(
    test, control, treatment, relative, status, words
):
    r = test(control, treatment, relative=relative)
    assert r.status == status and words in r.message and r.message.endswith(".")
    numbers = [v for k, v in vars(r).items() if isinstance(v, float) and k != "alpha"]
    assert numbers and all(math.isnan(v) for v in numbers)
    if isinstance(r, Frequentist):
        assert not r.significant
    else:
        assert isinstance(r, Bayesian)


def test_absolute_difference_against_a_zero_control_mean_is_computed():
    # a departure from gbstats, which refuses every test when the control mean is 0
    r = frequentist(SampleMean(3, 0.0, 2.0), SampleMean(3, 3.0, 5.0), relative=False)
    assert r.status == "ok" and r.estimate == pytest.approx(1.0)


def test_impossible_sums_raise():
    # FREQ test_two_sided_ttest_missing_variance gives n=2 with sums no data can have
    # (sum² > n·sum_squares); gbstats returns its zero-variance default, segmint raises
    with pytest.raises(ValueError, match="impossible"):
        SampleMean(n=2, sum=1396.87, sum_squares=52377.9767)
    # a constant metric whose sums carry rounding error is not "impossible"
    x = 0.1
    s = SampleMean(n=3, sum=x + x + x, sum_squares=x * x * 3)
    assert s.variance == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: SampleMean(-1, 0.0, 0.0), "whole number"),
        (lambda: SampleMean(2.5, 1.0, 1.0), "whole number"),  # type: ignore[arg-type]
        (lambda: SampleMean(3, 1.0, -1.0), "cannot be negative"),
        (lambda: SampleMean(3, math.nan, 1.0), "finite"),
        (lambda: Proportion(10, 11), "between 0 and n=10"),
        (lambda: Proportion(10, -1), "between 0"),
        (lambda: frequentist(CONTROL, TREATMENT, alpha=1.0), "alpha"),
        (lambda: bayesian(CONTROL, TREATMENT, alpha=0), "alpha"),
        (lambda: frequentist(Proportion(10, 2), SampleMean(10, 2.0, 2.0)), "one kind"),
    ],
)
def test_misuse_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_numpy_integers_are_counts():
    # the engine's counts arrive as numpy integers
    assert Proportion(np.int64(10), np.float64(3)).mean == 0.3  # type: ignore[arg-type]
    assert sample_ratio([np.int64(5), np.int64(5)]).p_value == 1.0


# --- sample ratio mismatch ------------------------------------------------------------------


def test_srm_matches_growthbook():
    # SRM TestHelpers.test_srm: check_srm([1000, 1200], [0.5, 0.5]) rounded to 9 decimals
    r = sample_ratio([1000, 1200], [0.5, 0.5])
    assert round(r.p_value, 9) == 0.000020079
    assert r.flagged and r.threshold == 0.001
    assert r.observed == (1000, 1200) and r.expected == (1100.0, 1100.0)


def test_srm_against_design_weights_is_pearsons_chi_square():
    # independent: the statistic written out, three arms weighted 45/45/10
    counts, weights = [4400, 4650, 950], [45, 45, 10]
    expected = [10_000 * w / 100 for w in weights]
    x = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True))
    r = sample_ratio(counts, weights)
    assert r.p_value == pytest.approx(sps.chi2.sf(x, df=2), rel=1e-12)
    assert r.expected == pytest.approx(tuple(expected))
    assert r.flagged == (r.p_value < 0.001)


def test_srm_hillstrom_arms_are_not_flagged():
    # the Hillstrom e-mail test's arms (issue 12): 21,306 / 21,307 / 21,387, designed equal
    r = sample_ratio([21_306, 21_307, 21_387])
    assert not r.flagged and r.p_value > 0.5


def test_srm_with_no_customers_is_not_flagged():
    # gbstats check_srm returns 1 when nobody was counted
    r = sample_ratio([0, 0])
    assert r.p_value == 1.0 and not r.flagged


@pytest.mark.parametrize(
    ("counts", "weights", "match"),
    [
        ([10], None, "at least 2"),
        ([10, 20], [1, 2, 3], "2 counts and 3 weights"),
        ([10, 20], [1, 0], "positive"),
        ([10, -2], None, "whole number"),
    ],
)
def test_srm_misuse_raises(counts, weights, match):
    with pytest.raises(ValueError, match=match):
        sample_ratio(counts, weights)


# --- multiple testing -----------------------------------------------------------------------


def test_holm_matches_growthbook():
    # TS "does HB procedure correctly": sorted result [0.03, 0.05, 0.12, 0.12, 1, 1] at the
    # input positions [3, 0, 2, 1, 4, 5]
    got = adjust([0.01, 0.04, 0.03, 0.005, 0.55, 0.6], "holm")
    assert got == pytest.approx((0.05, 0.12, 0.12, 0.03, 1, 1))


def test_holm_equals_statsmodels_on_random_p_values(monkeypatch):
    """segmint's own Holm (statsmodels' calls gc.collect() each time) against statsmodels."""
    import gc

    import numpy as np
    from statsmodels.stats.multitest import multipletests

    # statsmodels' full collection per call took 42 s for these 125 calls in the whole suite's
    # heap; it frees memory, it does not change the numbers
    monkeypatch.setattr(gc, "collect", lambda *_a, **_k: 0)

    rng = np.random.default_rng(5)
    for m in (1, 2, 3, 7, 40):
        for _ in range(25):
            p = rng.beta(0.4, 1.5, size=m)
            p[rng.random(m) < 0.2] = p[0]  # ties
            assert adjust(list(p), "holm") == pytest.approx(
                tuple(multipletests(p, method="holm")[1]), abs=1e-15
            )


def test_bh_matches_growthbook():
    # TS "does BH procedure correctly" (rounded to 8 decimals there): sorted result
    # [0.964, 0.964, 0.7532, 0.2415, 0.2415, 0.0245, 0.0245] at positions [3, 0, 4, 1, 6, 2, 5]
    got = adjust([0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138], "bh")
    want = (0.964, 0.2415, 0.0245, 0.964, 0.7532, 0.0245, 0.2415)
    assert tuple(round(p, 8) for p in got) == want


def test_two_metric_case_matches_growthbook():
    # TS "pvals and CIs adjusted in place": 0.025 and 0.03 → Holm 0.05, 0.05; BH 0.03, 0.03
    assert adjust([0.025, 0.03], "holm") == pytest.approx((0.05, 0.05))
    assert adjust([0.025, 0.03], "bh") == pytest.approx((0.03, 0.03))


def test_nan_p_values_pass_through_and_do_not_count():
    got = adjust([0.01, math.nan, 0.04], "holm")
    assert math.isnan(got[1])
    assert (got[0], got[2]) == pytest.approx((0.02, 0.04))  # m = 2, not 3
    assert all(math.isnan(p) for p in adjust([math.nan, math.nan]))
    assert adjust([], "bh") == ()


def test_none_returns_the_p_values_and_corrections_never_lower_them():
    ps = [0.2, 0.001, 0.04, 0.5]
    assert adjust(ps, "none") == tuple(ps)
    for method in ("holm", "bh"):
        assert all(a >= p for a, p in zip(adjust(ps, method), ps, strict=True))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ps", "method", "match"),
    [([0.1], "bonferroni", "Unknown correction"), ([1.2], "holm", "between 0 and 1")],
)
def test_adjust_misuse_raises(ps, method, match):
    with pytest.raises(ValueError, match=match):
        adjust(ps, method)


def test_docstring_examples_run():
    import doctest

    import segmint.measure.stats as module

    result = doctest.testmod(module)
    assert result.attempted >= 6 and result.failed == 0
