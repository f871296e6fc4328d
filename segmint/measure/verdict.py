"""Plain-language verdicts on a split test, and the number formats they use.

A rounded number that misleads is a bug: a p-value of 0.0496 printed as "0.05" reads as not
significant, a lift of 0.004 printed as "+0 %" reads as no effect. :func:`p_value` adds
digits until the printed value lands on the same side of alpha as the exact one;
:func:`percent` keeps at least two significant digits below 1 %.
"""

from __future__ import annotations

import math

from segmint.measure.stats import Bayesian, Frequentist, Statistic

__all__ = ["chance", "p_value", "percent", "value", "verdict"]

ALL_CUSTOMERS = "All customers"
CORRECTIONS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": ""}


def value(kind: str, stat: Statistic) -> str:
    """An arm's mean as text: a share for a 0/1 metric, a number with 4 significant digits."""
    if stat.n == 0:
        return "–"
    mean = stat.sum / stat.n
    return percent(mean, signed=False) if kind == "proportion" else f"{mean:,.4g}"


def percent(x: float, *, signed: bool = True) -> str:
    """``0.705`` → ``+70.5 %``; ``1.2543`` → ``+125 %``; ``0.0125`` → ``+1.25 %``;
    ``0.00042`` → ``+0.042 %``: at least three significant digits below 10 %."""
    if x is None or math.isnan(x):
        return "n/a"
    v = x * 100
    a = abs(v)
    if a >= 100:
        digits = 0
    elif a >= 10:
        digits = 1
    elif a >= 1:
        digits = 2
    elif a == 0:
        digits = 0
    else:
        digits = max(2, 2 - math.floor(math.log10(a)))
    sign = "+" if signed else ""
    return f"{v:{sign},.{digits}f} %"


def chance(x: float) -> str:
    """A probability as a percentage that never reads as certainty: ``> 99.9 %``, ``< 0.1 %``."""
    if x is None or math.isnan(x):
        return "n/a"
    if x > 0.999:
        return "> 99.9 %"
    if x < 0.001:
        return "< 0.1 %"
    return f"{x * 100:.1f} %"


def p_value(p: float, alpha: float = 0.05) -> str:
    """``p = 0.062``; never rounded across alpha (0.0496 → ``0.0496``, not ``0.050``)."""
    if p is None or math.isnan(p):
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    for sig in range(2, 8):
        shown = float(f"{p:.{sig}g}")
        if (shown < alpha) == (p < alpha):
            return f"p = {shown:.{sig}g}"
    return f"p = {p:.6g}"


def _scope(scope: str) -> str:
    return "overall" if scope == ALL_CUSTOMERS else f"in {scope}"


def verdict(
    *,
    variant: str,
    metric: str,
    scope: str,
    relative: Frequentist | None,
    bayesian: Bayesian | None,
    p_adjusted: float | None,
    correction: str,
    alpha: float,
    significant: bool,
    values: str = "",
) -> str:
    """One sentence a marketer can act on, with the numbers that back it.

    ``values`` is the control's and the variant's value as text (``0.57 % → 1.25 %``). In a
    segment whose p-value was adjusted the interval is the unadjusted one, and says so.
    """
    level = f"{round((1 - alpha) * 100, 1):g} %"
    shown = f"{values}; " if values else ""
    where = _scope(scope)
    after = f" after {CORRECTIONS[correction]}" if CORRECTIONS.get(correction) else ""
    if relative is not None:
        if relative.status != "ok":
            return f"{variant} on {metric} {where}: {relative.message}"
        raw = "unadjusted " if after else ""
        ci = f"{raw}{level} CI {percent(relative.ci_low)} to {percent(relative.ci_high)}"
        p = p_value(p_adjusted if p_adjusted is not None else relative.p_value, alpha)
        tail = ""
        if bayesian is not None and bayesian.status == "ok":
            tail = f"; chance to beat control {chance(bayesian.chance_to_win)}"
        if significant:
            verb = "lifts" if relative.estimate > 0 else "lowers"
            return (
                f"{variant} {verb} {metric} {where}: {percent(relative.estimate)} "
                f"({shown}{ci}; {p}{after}{tail})."
            )
        return (
            f"{variant}: no significant effect on {metric} {where}{after} "
            f"({percent(relative.estimate)}, {shown}{ci}; {p}{tail})."
        )
    if bayesian is None:  # pragma: no cover - the engine is frequentist, bayesian or both
        return ""
    if bayesian.status != "ok":
        return f"{variant} on {metric} {where}: {bayesian.message}"
    ci = f"{level} credible interval {percent(bayesian.ci_low)} to {percent(bayesian.ci_high)}"
    ctw = chance(bayesian.chance_to_win)
    if significant:
        verb = "likely lifts" if bayesian.expected > 0 else "likely lowers"
        return (
            f"{variant} {verb} {metric} {where}: chance to beat control {ctw} "
            f"(expected {percent(bayesian.expected)}, {shown}{ci})."
        )
    return (
        f"{variant}: no clear winner on {metric} {where}: chance to beat control {ctw} "
        f"(expected {percent(bayesian.expected)}, {shown}{ci})."
    )
