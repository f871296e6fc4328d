"""The drift result type, shared by the engine-side computation and the public functions."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from segmint.monitor._stattests import P_VALUE_METHODS


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift between a baseline and a current sample.

    ``statistic`` is the test's own statistic (KS D, chi-square, z, normed Wasserstein or
    Jensen–Shannon distance). For the tests with a p-value (``ks``, ``chisquare``, ``z``)
    ``threshold`` applies to ``p_value``; for the distances it applies to ``statistic``.
    ``method`` "none" marks a feature that could not be tested; ``reason`` says why (its
    ``kind`` is then also "datetime" for a date, "" for a feature absent from one side).
    ``n_baseline``/``n_current`` count the values compared, ``missing_*`` those dropped.
    """

    feature: str
    kind: str
    method: str
    statistic: float
    threshold: float
    p_value: float | None
    drifted: bool
    n_baseline: int
    n_current: int
    psi: float
    bins: list[dict[str, Any]]
    missing_baseline: int = 0
    missing_current: int = 0
    reason: str | None = None

    @property
    def severity(self) -> float:
        """How far across its threshold: > 1 when drifted (p-tests: threshold / p); -1: untested."""
        if self.method == "none":
            return -1.0
        if self.method in P_VALUE_METHODS:
            p = self.p_value if self.p_value is not None else 1.0
            return self.threshold / p if p > 0 else math.inf
        return self.statistic / self.threshold

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: NaN and infinities become None."""
        return _jsonable(asdict(self))


def untested(feature: str, reason: str, *, kind: str = "", **counts: int) -> FeatureDrift:
    """A coded result for a feature that could not be compared: not drifted, method "none"."""
    n = {"n_baseline": 0, "n_current": 0, **counts}
    nan = math.nan
    return FeatureDrift(
        feature, kind, "none", nan, nan, None, False, psi=nan, bins=[], reason=reason, **n
    )


def worst_first(results: list[FeatureDrift]) -> list[FeatureDrift]:
    """Drifted features first, then by how far across the threshold (untested last)."""
    return sorted(results, key=lambda r: (not r.drifted, -r.severity))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
