"""Which channel each segment responds to best, with the uncertainty said in words.

The point estimate alone would crown a channel that converted 2 of 40 over one that converted
90 of 3,000. So the best channel's conversion rate comes with its Wilson interval, and the
runner-up is compared with it by the two-sided two-proportion z-test with pooled variance
(statsmodels' ``test_proportions_2indep(method="score", correction=False)``, which is that test
when the difference under the null is 0). "Clearly ahead" means p < 1 − confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from statsmodels.stats.proportion import proportion_confint, test_proportions_2indep

from segmint.measure._figures import Rate

if TYPE_CHECKING:
    from segmint.measure.campaigns import CampaignRow

__all__ = ["ChannelChoice", "best_channels", "percent", "wilson"]


@dataclass(frozen=True)
class ChannelChoice:
    """The channel with the highest conversion rate in one segment, against the runner-up."""

    segment: str
    #: None when no channel has a conversion recorded for the segment
    channel: str | None
    conversion_rate: Rate | None
    runner_up: str | None
    runner_up_rate: Rate | None
    #: best − runner-up conversion rate
    difference: float | None
    p_value: float | None
    #: p < 1 − confidence; None when there is nothing to compare
    clearly_ahead: bool | None
    #: channels that reached someone in the segment
    channels: int
    sentence: str


def wilson(successes: int, trials: int, alpha: float, what: str) -> Rate:
    """The rate with its Wilson score interval; ``None`` with a reason when ``trials`` is 0."""
    if trials == 0:
        return Rate(successes, 0, None, None, None, f"no {what} were recorded for these contacts")
    low, high = proportion_confint(successes, trials, alpha=alpha, method="wilson")
    return Rate(successes, trials, successes / trials, float(low), float(high))


def best_channels(rows: Sequence[CampaignRow], alpha: float) -> tuple[ChannelChoice, ...]:
    """One choice per segment, from rows grouped by segment × channel."""
    by_segment: dict[str, list[CampaignRow]] = {}
    for r in rows:
        by_segment.setdefault(str(r.segment), []).append(r)
    return tuple(_choice(seg, rs, alpha) for seg, rs in sorted(by_segment.items()))


def _choice(segment: str, used: list[CampaignRow], alpha: float) -> ChannelChoice:
    rows = [r for r in used if r.counts.reached > 0]
    ranked = sorted(
        (r for r in rows if r.conversion_rate.value is not None),
        key=lambda r: (-(r.conversion_rate.value or 0.0), str(r.channel)),
    )
    level = f"{1 - alpha:.0%}".replace("%", " %")
    if not ranked:
        why = "no channel has conversions recorded" if rows else "no contact was sent anything"
        return ChannelChoice(
            segment, None, None, None, None, None, None, None, len(rows), f"In {segment}, {why}.",
        )  # fmt: skip
    best = ranked[0]
    rate = best.conversion_rate
    stated = f"conversion {percent(rate.value)}, {level} CI {_interval(rate)}"
    if len(rows) == 1:
        return ChannelChoice(
            segment, best.channel, rate, None, None, None, None, None, 1,
            f"In {segment}, only {best.channel} was used ({stated}): no channel to compare.",
        )  # fmt: skip
    if len(ranked) == 1:
        return ChannelChoice(
            segment, best.channel, rate, None, None, None, None, None, len(rows),
            f"In {segment}, {best.channel} is the only channel with conversions recorded "
            f"({stated}).",
        )  # fmt: skip
    other = ranked[1]
    p = _p_value(rate, other.conversion_rate)
    ahead = None if p is None else p < alpha
    runner = f"{other.channel} ({percent(other.conversion_rate.value)})"
    if p is None:
        verdict = f"{runner} converted nobody either, so they cannot be told apart"
    elif ahead:
        verdict = f"{runner} is clearly worse ({_p(p)})"
    else:
        verdict = f"{runner} is not clearly worse ({_p(p)})"
    return ChannelChoice(
        segment,
        best.channel,
        rate,
        other.channel,
        other.conversion_rate,
        (rate.value or 0.0) - (other.conversion_rate.value or 0.0),
        p,
        ahead,
        len(rows),
        f"In {segment}, {best.channel} converts best ({stated}); {verdict}.",
    )


def _p_value(a: Rate, b: Rate) -> float | None:
    """Two-sided p of the pooled two-proportion z-test; None when both rates are 0 or 1."""
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    if pooled in (0.0, 1.0):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        res = test_proportions_2indep(
            a.successes, a.trials, b.successes, b.trials, method="score", correction=False
        )
    return float(res.pvalue)


def percent(value: float | None) -> str:
    """0.0312 → '3.1 %'; rates under 1 % keep two decimals ('0.57 %')."""
    if value is None:
        return "–"
    digits = 2 if abs(value) < 0.01 else 1
    return f"{value * 100:.{digits}f} %"


def _interval(rate: Rate) -> str:
    low, high = percent(rate.low).removesuffix(" %"), percent(rate.high)
    return f"{low}–{high}"


def _p(p: float) -> str:
    """'p < 0.001', 'p = 0.034', 'p = 0.21'."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"
