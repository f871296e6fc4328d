"""A number printed beside the threshold it was compared with, without crossing it.

Rounding to three significant digits would print a p-value of 0.04996 as 0.05, the alpha it
is compared with, and a distance of 0.09996 as the 0.1 it stays under: a reader then cannot
tell which side of the threshold the value is on. Alerts (:mod:`segmint.monitor.compare`) and
the run report's drift table (:mod:`segmint.report._monitoring`) print through here.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["beside", "percent_beside"]


def beside(value: Any, threshold: float | None = None) -> str:
    """``value`` with three significant digits, or as many more as it takes to stay on its
    own side of ``threshold`` (0.04996 against 0.05 is '0.04996', never '0.05'); values in
    [0, 0.001) as '< 0.001' when the threshold is above 0.001; '–' for a missing value.

    >>> beside(0.04996, 0.05), beside(0.0512, 0.05), beside(1.23e-5, 0.05), beside(0.2)
    ('0.04996', '0.0512', '< 0.001', '0.2')
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    v = float(value)
    if not math.isfinite(v):
        return "–"
    if threshold is None or not math.isfinite(threshold):
        return f"{v:.3g}"
    if 0 <= v < 0.001 < threshold:
        return "< 0.001"
    for digits in range(3, 18):
        text = f"{v:.{digits}g}"
        shown = float(text)
        if (shown > threshold) == (v > threshold) and (shown < threshold) == (v < threshold):
            return text
    return repr(v)


def percent_beside(share: float, threshold: float, decimals: int = 0) -> str:
    """``share`` as a percentage with ``decimals`` decimals, or more where fewer would put it
    on or across ``threshold`` (a share too; 0.2004 against 0.2 is '20.04%', never '20%').

    >>> percent_beside(0.372, 0.2), percent_beside(0.2004, 0.2), percent_beside(0.1049, 0.1, 1), percent_beside(0.10004, 0.1, 1)
    ('37%', '20.04%', '10.5%', '10.004%')
    """
    v, t = share * 100, threshold * 100
    for d in range(decimals, 12):
        shown = round(v, d)
        if (shown > t) == (v > t) and (shown < t) == (v < t):
            return f"{v:.{d}f}%"
    return f"{v!r}%"
