"""How many customers a split test needs: sample size per arm for a proportion or a mean.

Why statsmodels: its power classes solve the textbook equations exactly (no table look-ups) and
are maintained; this module only turns a marketer's question ("a 5 % conversion rate, I want to
see a 10 % lift") into an effect size and back into whole customers.

- proportions: Cohen's h = 2·asin(√p₂) − 2·asin(√p₁) (``statsmodels.stats.proportion.
  proportion_effectsize``) and the two-sample z-test (``statsmodels.stats.power.NormalIndPower``);
- means: Cohen's d = Δ/sd and the two-sample t-test (``statsmodels.stats.power.TTestIndPower``).

Both are two-sided with equal arms. With more than two arms each treatment is compared with the
control at the same ``alpha`` and every arm gets the same size, as GrowthBook's power calculator
(``packages/shared/src/power/power.ts``: ``n / nVariations`` per arm, no multiplicity
correction); pass a smaller ``alpha`` to plan for a correction. The tests check the numbers
against the classic normal-approximation formula and Cohen's (1988) published tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["Power", "enough", "sample_size"]

#: solve_power returns e.g. 392.00000000004 for an exact 392: that is 392 customers, not 393
_WHOLE = 1e-6


@dataclass(frozen=True)
class Power:
    """The sample size of a planned split test.

    ``target`` is the value the treatment must reach (``baseline·(1 + mde)`` for a relative mde,
    ``baseline + mde`` for an absolute one); ``effect_size`` Cohen's h (proportions) or d (means);
    ``method`` names the formula and the library that solved it.
    """

    kind: str
    baseline: float
    mde: float
    relative: bool
    alpha: float
    power: float
    n_per_arm: int
    n_total: int
    arms: int
    effect_size: float
    method: str
    target: float = math.nan
    sd: float | None = None


def _check_share(value: float, name: str, example: str) -> None:
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise ValueError(f"{name} must be between 0 and 1 ({example}). Got {value!r}.")


def _target(baseline: float, mde: float, relative: bool) -> float:
    return baseline * (1 + mde) if relative else baseline + mde


def sample_size(
    baseline: float,
    mde: float,
    *,
    kind: Literal["proportion", "mean"] = "proportion",
    sd: float | None = None,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
) -> Power:
    """Customers per arm to detect a change of ``mde`` from ``baseline`` with probability
    ``power`` in a two-sided test at level ``alpha``.

    ``mde`` is relative to the baseline unless ``relative=False``: ``baseline=0.05, mde=0.1``
    means 5 % → 5.5 %. For ``kind="mean"`` give the metric's standard deviation ``sd``.

    >>> p = sample_size(0.05, 0.1)
    >>> round(p.target, 6), p.n_per_arm, p.n_total
    (0.055, 31218, 62436)
    >>> sample_size(100.0, 0.05, kind="mean", sd=50.0).n_per_arm
    1571
    """
    from statsmodels.stats.power import NormalIndPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    _check_share(alpha, "alpha", "e.g. 0.05")
    _check_share(power, "power", "e.g. 0.8")
    if isinstance(arms, bool) or not isinstance(arms, int) or arms < 2:
        raise ValueError(f"arms must be a whole number ≥ 2 (control and a variant). Got {arms!r}.")
    if not (math.isfinite(baseline) and math.isfinite(mde)) or mde == 0:
        raise ValueError(
            f"mde must be a non-zero change (e.g. 0.1 for a 10 % lift). Got mde={mde!r}, "
            f"baseline={baseline!r}."
        )
    target = _target(baseline, mde, relative)
    if kind == "proportion":
        if sd is not None:
            raise ValueError("sd is for kind='mean'; a proportion's spread follows from its rate.")
        _check_share(baseline, "A proportion's baseline", "a rate such as 0.05 for 5 %")
        if not 0 < target < 1:
            raise ValueError(
                f"The baseline {baseline:g} changed by {mde:g}"
                f"{' (relative)' if relative else ''} gives {target:g}, outside 0–1: "
                "choose a smaller mde (or --absolute for a change in points)."
            )
        effect = float(proportion_effectsize(target, baseline))
        n = NormalIndPower().solve_power(effect_size=abs(effect), alpha=alpha, power=power)
        method = "two-sided z-test on Cohen's h (statsmodels NormalIndPower, proportion_effectsize)"
    elif kind == "mean":
        if sd is None or not (math.isfinite(sd) and sd > 0):
            raise ValueError(
                f"kind='mean' needs the metric's standard deviation sd > 0 (e.g. from a past "
                f"campaign's spend per customer). Got sd={sd!r}."
            )
        if relative and baseline == 0:
            raise ValueError("A relative mde needs a non-zero baseline: give an absolute mde.")
        effect = (target - baseline) / sd
        n = TTestIndPower().solve_power(effect_size=abs(effect), alpha=alpha, power=power)
        method = "two-sided two-sample t-test on Cohen's d = Δ/sd (statsmodels TTestIndPower)"
    else:
        raise ValueError(f"kind must be 'proportion' or 'mean'. Got {kind!r}.")
    per_arm = math.ceil(float(n) - _WHOLE)
    return Power(
        kind, baseline, mde, relative, alpha, power, per_arm, per_arm * arms, arms, effect,
        method, target, sd,
    )  # fmt: skip


def enough(power: Power, segment_size: int) -> tuple[bool, str]:
    """Whether a segment of ``segment_size`` customers fills every arm, and a sentence saying so.

    >>> enough(sample_size(0.05, 0.1), 100_000)[0]
    True
    """
    if isinstance(segment_size, bool) or not isinstance(segment_size, int) or segment_size < 0:
        raise ValueError(f"segment_size must be a whole number ≥ 0. Got {segment_size!r}.")
    need, arms, per_arm = power.n_total, power.arms, power.n_per_arm
    if segment_size >= need:
        return True, (
            f"Yes: the segment's {segment_size:,} customers fill {arms} arms of {per_arm:,} "
            f"({need:,} needed, {segment_size - need:,} to spare)."
        )
    return False, (
        f"No: {arms} arms of {per_arm:,} need {need:,} customers and the segment has "
        f"{segment_size:,} ({need - segment_size:,} short). A larger mde, fewer arms or a lower "
        "power needs fewer customers."
    )
