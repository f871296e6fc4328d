"""Feature drift: has a feature's distribution changed between a baseline and a current sample?

Segments are only as stable as the features they are cut from, so monitoring starts by asking,
feature by feature, whether today's customers look like the baseline's. Each feature gets the
test Evidently's ``DataDriftPreset`` would pick by default (so results can be checked against
a tool users know), plus the population stability index with its bins. A feature that cannot
be tested (no values, a date, absent from one side) comes back as a coded result with a reason,
never as an exception, so one odd column does not hide the others. Statistics, thresholds,
bins and sources: docs/monitoring.md.

>>> import pandas as pd
>>> same = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 10)
>>> result = feature_drift("spend", same, same)
>>> result.method, result.drifted, result.psi
('ks', False, 0.0)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmint.exceptions import SegmintError
from segmint.monitor._psi import psi
from segmint.monitor._stattests import P_VALUE_METHODS, choose_method, column_kind, run_test

if TYPE_CHECKING:
    from segmint.store import Store

__all__ = ["FeatureDrift", "drift_table", "feature_drift", "snapshot_drift"]

KINDS = ("numeric", "categorical")


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


def feature_drift(
    feature: str, baseline: pd.Series, current: pd.Series, *, kind: str | None = None
) -> FeatureDrift:
    """Compare one feature's ``baseline`` and ``current`` values (missing values are dropped).

    ``kind`` ("numeric" or "categorical") overrides the kind read from the values.
    """
    if kind is not None and kind not in KINDS:
        raise SegmintError(
            f"The kind of feature '{feature}' must be 'numeric' or 'categorical'. Got {kind!r}.",
            fix="leave kind out to have it read from the values.",
        )
    base, miss_b = _clean(baseline)
    cur, miss_c = _clean(current)
    counts = {
        "n_baseline": len(base),
        "n_current": len(cur),
        "missing_baseline": miss_b,
        "missing_current": miss_c,
    }
    if pd.api.types.is_datetime64_any_dtype(base) or pd.api.types.is_datetime64_any_dtype(cur):
        reason = "a date: not tested (as in Evidently); its drift shows in the day counts"
        return untested(feature, reason, kind="datetime", **counts)
    read = column_kind(base, cur)
    if base.empty or cur.empty:
        side = "either sample" if base.empty and cur.empty else _side(base.empty)
        return untested(feature, f"no values in {side}", kind=kind or read, **counts)
    if kind == "numeric" and read == "categorical" and not _numeric(base, cur):
        raise SegmintError(
            f"Feature '{feature}' was asked to be compared as numeric, but its values are not "
            f"numbers (e.g. {base.iloc[0]!r}).",
            fix="compare it as categorical (leave kind out).",
        )
    kind = kind or read
    method = choose_method(base, cur, kind)
    test = run_test(method, base, cur)
    value, bins = psi(base, cur, kind)
    return FeatureDrift(
        feature,
        kind,
        method,
        test.statistic,
        test.threshold,
        test.p_value,
        test.drifted,
        len(base),
        len(cur),
        value,
        bins,
        missing_baseline=miss_b,
        missing_current=miss_c,
    )


def drift_table(
    baseline: pd.DataFrame, current: pd.DataFrame, *, features: Sequence[str] | None = None
) -> list[FeatureDrift]:
    """Drift of each feature (default: every column but ``customer_id``), worst first.

    Drifted features come first, then by how far across the threshold (:attr:`severity`);
    a feature present on one side only is reported untested.
    """
    if features is None:
        both = dict.fromkeys([*baseline.columns, *current.columns])
        names = [c for c in both if c != "customer_id"]
    else:
        names = list(features)
        unknown = [f for f in names if f not in baseline.columns and f not in current.columns]
        if unknown:
            raise SegmintError(
                f"No feature named {', '.join(map(repr, unknown))} in either sample.",
                fix=f"choose among: {', '.join(map(str, baseline.columns))}.",
            )
    results = [_one(str(name), baseline, current) for name in names]
    return sorted(results, key=lambda r: (not r.drifted, -r.severity))


def snapshot_drift(
    store: Store, baseline_run: str, current_run: str, *, features: Sequence[str] | None = None
) -> list[FeatureDrift]:
    """Drift between the feature snapshots two segment runs segmented on, worst first.

    Every customer of each snapshot counts (drift compares populations, not the customers
    present in both).
    """
    from segmint.store.snapshots import read_snapshot

    frames = []
    for side, run in (("baseline", baseline_run), ("current", current_run)):
        try:
            # through Arrow: Ibis' own to_pandas took 37 s for two 1M × 44 snapshots
            frames.append(read_snapshot(store, run).to_pyarrow().to_pandas())
        except SegmintError as error:
            raise SegmintError(error.problem, fix=error.fix, where=f"{side} run {run}") from None
    return drift_table(frames[0], frames[1], features=features)


def untested(feature: str, reason: str, *, kind: str = "", **counts: int) -> FeatureDrift:
    """A coded result for a feature that could not be compared: not drifted, method "none"."""
    n = {"n_baseline": 0, "n_current": 0, **counts}
    nan = math.nan
    return FeatureDrift(
        feature, kind, "none", nan, nan, None, False, psi=nan, bins=[], reason=reason, **n
    )


def _one(name: str, baseline: pd.DataFrame, current: pd.DataFrame) -> FeatureDrift:
    for side, frame in (("baseline", baseline), ("current", current)):
        if name not in frame.columns:
            return untested(name, f"not in the {side} sample")
    return feature_drift(name, baseline[name], current[name])


def _side(baseline_empty: bool) -> str:
    return "the baseline sample" if baseline_empty else "the current sample"


def _clean(values: pd.Series) -> tuple[pd.Series, int]:
    """The values without missing ones (NaN, None, ±inf, as Evidently drops), and how many."""
    values = pd.Series(values)
    if values.dtype == object:
        values = _numbers_as_floats(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.replace([np.inf, -np.inf], np.nan)
    kept = values.dropna().reset_index(drop=True)
    return kept, len(values) - len(kept)


def _numbers_as_floats(values: pd.Series) -> pd.Series:
    """An object column holding only numbers (Decimal from the engine, say) as floats."""
    present = values.dropna()
    if len(present) and all(
        isinstance(v, numbers.Number) and not isinstance(v, bool | np.bool_) for v in present
    ):
        return pd.to_numeric(values, errors="coerce").astype(float)
    return values.infer_objects()


def _numeric(base: pd.Series, cur: pd.Series) -> bool:
    return all(
        pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) for s in (base, cur)
    )


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
