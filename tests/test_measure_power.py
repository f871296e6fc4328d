"""segmint.measure.power against independent published numbers.

- the classic normal-approximation (Wald) formula for two proportions, without continuity
  correction: n = (z₁₋α/₂ + z₁₋β)² · (p₁(1−p₁) + p₂(1−p₂)) / (p₁ − p₂)² per arm;
- Cohen (1988), Statistical Power Analysis for the Behavioral Sciences: Table 2.4.1 (t-test,
  two-sided α = .05, power .80: d = .20 → 393, d = .50 → 64, d = .80 → 26 per group) and
  Table 6.4.1 (proportions via h: h = .20 → 392 per group).
"""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from segmint.measure.power import enough, sample_size


def classic(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2


@pytest.mark.parametrize(
    ("baseline", "mde", "relative", "alpha", "power"),
    [
        (0.05, 0.1, True, 0.05, 0.8),
        (0.02, 0.25, True, 0.05, 0.9),
        (0.30, 0.02, False, 0.01, 0.8),
        (0.50, -0.1, True, 0.1, 0.8),
    ],
)
def test_proportions_agree_with_the_classic_formula_within_2_percent(
    baseline, mde, relative, alpha, power
):
    p = sample_size(baseline, mde, relative=relative, alpha=alpha, power=power)
    target = baseline * (1 + mde) if relative else baseline + mde
    assert p.target == pytest.approx(target)
    assert p.n_per_arm == pytest.approx(classic(baseline, target, alpha, power), rel=0.02)
    assert p.n_total == 2 * p.n_per_arm and p.kind == "proportion"


def test_the_issue_example_ten_percent_lift_on_five_percent():
    p = sample_size(0.05, 0.1)
    assert p.target == pytest.approx(0.055)
    assert 30_000 < p.n_per_arm < 32_000  # classic formula: 31,231
    assert "NormalIndPower" in p.method and "Cohen's h" in p.method


@pytest.mark.parametrize(("d", "cohen"), [(0.2, 393), (0.5, 64), (0.8, 26)])
def test_means_agree_with_cohens_table(d, cohen):
    # baseline 100, sd 20: an absolute mde of 20·d is Cohen's d
    p = sample_size(100.0, 20 * d, kind="mean", sd=20.0, relative=False)
    assert p.effect_size == pytest.approx(d)
    assert abs(p.n_per_arm - cohen) <= 1  # Cohen rounds to the nearest, segmint up
    assert "TTestIndPower" in p.method


def test_cohens_h_table():
    # h = 2·asin(√p₂) − 2·asin(√p₁) = 0.20 from p₁ = 0.5 → Cohen Table 6.4.1: 392 per group
    p2 = math.sin(math.asin(math.sqrt(0.5)) + 0.1) ** 2
    p = sample_size(0.5, p2 - 0.5, relative=False)
    assert p.effect_size == pytest.approx(0.2)
    assert abs(p.n_per_arm - 392) <= 1


def test_relative_mean_mde_is_a_share_of_the_baseline():
    rel = sample_size(50.0, 0.1, kind="mean", sd=25.0)
    ab = sample_size(50.0, 5.0, kind="mean", sd=25.0, relative=False)
    assert rel.n_per_arm == ab.n_per_arm and rel.target == pytest.approx(55.0)


def test_more_power_smaller_effects_and_more_arms_need_more_customers():
    base = sample_size(0.1, 0.1)
    assert sample_size(0.1, 0.1, power=0.9).n_per_arm > base.n_per_arm
    assert sample_size(0.1, 0.05).n_per_arm > base.n_per_arm
    assert sample_size(0.1, 0.1, alpha=0.01).n_per_arm > base.n_per_arm
    three = sample_size(0.1, 0.1, arms=3)
    assert three.n_per_arm == base.n_per_arm and three.n_total == 3 * base.n_per_arm


def test_enough_says_yes_or_no_in_words():
    p = sample_size(0.05, 0.1)
    ok, sentence = enough(p, p.n_total)
    assert ok and sentence.startswith("Yes") and f"{p.n_per_arm:,}" in sentence
    ok, sentence = enough(p, p.n_total - 1)
    assert not ok and sentence.startswith("No") and "1 short" in sentence


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baseline": 0.05, "mde": 0.1, "kind": "mean"}, "sd"),
        ({"baseline": 0.05, "mde": 0.1, "sd": 1.0}, "sd is for kind='mean'"),
        ({"baseline": 1.5, "mde": 0.1}, "between 0 and 1"),
        ({"baseline": 0.6, "mde": 1.0}, "outside 0–1"),
        ({"baseline": 0.05, "mde": 0.0}, "non-zero"),
        ({"baseline": 0.05, "mde": 0.1, "alpha": 0.0}, "alpha"),
        ({"baseline": 0.05, "mde": 0.1, "power": 1.0}, "power"),
        ({"baseline": 0.05, "mde": 0.1, "arms": 1}, "arms"),
        ({"baseline": 0.05, "mde": 0.1, "kind": "ratio"}, "kind"),
        ({"baseline": 0.0, "mde": 0.1, "kind": "mean", "sd": 2.0}, "non-zero baseline"),
    ],
)
def test_misuse_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_size(**kwargs)


def test_enough_refuses_a_negative_segment():
    with pytest.raises(ValueError, match="segment_size"):
        enough(sample_size(0.05, 0.1), -1)


def test_docstring_examples_run():
    import doctest

    import segmint.measure.power as module

    result = doctest.testmod(module)
    assert result.attempted >= 4 and result.failed == 0
