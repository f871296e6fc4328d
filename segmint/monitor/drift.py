"""Feature drift: has a feature's distribution changed between a baseline and a current sample?

Segments are only as stable as the features they are cut from, so monitoring starts by asking,
feature by feature, whether today's customers look like the baseline's. Each feature gets the
test Evidently's ``DataDriftPreset`` would pick by default (so results can be checked against
a tool users know), plus the population stability index with its bins. A feature that cannot
be tested (no values, a date, absent from one side) comes back as a coded result with a reason,
never as an exception, so one odd column does not hide the others.

Everything is computed from aggregates the engine returns (``_aggregates.py``), so two runs'
feature tables are compared where they live, DuckDB or Spark, without pulling customers to the
driver (:func:`table_drift`); pandas samples go through the same path on an in-memory DuckDB.
Statistics, thresholds, bins and sources: docs/monitoring.md.

>>> import pandas as pd
>>> same = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 10)
>>> result = feature_drift("spend", same, same)
>>> result.method, result.drifted, result.psi
('ks', False, 0.0)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from segmint.exceptions import SegmintError
from segmint.monitor._result import FeatureDrift, untested, worst_first
from segmint.monitor._tables import KINDS, features_drift, same_engine

if TYPE_CHECKING:
    from segmint.monitor._sources import RunTables
    from segmint.store import Store

__all__ = [
    "FeatureDrift",
    "drift_table",
    "feature_drift",
    "snapshot_drift",
    "table_drift",
    "untested",
]


def table_drift(
    baseline: ir.Table,
    current: ir.Table,
    features: Sequence[str] | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
) -> list[FeatureDrift]:
    """Drift of each feature of two Ibis tables of one engine (DuckDB, Spark, …), worst first.

    ``features`` defaults to every column but ``customer_id``; ``kinds`` maps a feature to
    "numeric" or "categorical" to override the kind read from its type and values. Only
    aggregates leave the engine. Drifted features come first, then by how far across the
    threshold (:attr:`FeatureDrift.severity`); a feature present on one side only is reported
    untested.
    """
    for name, kind in (kinds or {}).items():
        _check_kind(name, kind)
    names = _names(baseline.columns, current.columns, features)
    same_engine(baseline, current)
    return worst_first(features_drift(baseline, current, names, kinds))


def feature_drift(
    feature: str, baseline: pd.Series, current: pd.Series, *, kind: str | None = None
) -> FeatureDrift:
    """Compare one feature's ``baseline`` and ``current`` values (missing values are dropped).

    ``kind`` ("numeric" or "categorical") overrides the kind read from the values.
    """
    if kind is not None:
        _check_kind(feature, kind)
    base, cur = (_memtable({feature: s}) for s in (baseline, current))
    return features_drift(base, cur, [feature], {feature: kind} if kind else None)[0]


def drift_table(
    baseline: pd.DataFrame, current: pd.DataFrame, *, features: Sequence[str] | None = None
) -> list[FeatureDrift]:
    """Drift of each feature of two pandas samples (default: every column but
    ``customer_id``), worst first, as :func:`table_drift` gives it."""
    names = _names(baseline.columns, current.columns, features)
    base, cur = (_memtable({c: f[c] for c in names if c in f.columns}) for f in (baseline, current))
    return worst_first(features_drift(base, cur, names))


def snapshot_drift(
    store: Store,
    baseline_run: str,
    current_run: str,
    *,
    features: Sequence[str] | None = None,
    tables: RunTables | None = None,
) -> list[FeatureDrift]:
    """Drift between the feature snapshots two segment runs segmented on, worst first.

    Every customer of each snapshot counts (drift compares populations, not the customers
    present in both). The snapshots are compared in the workspace's engine: ``tables`` says
    where they are (default: the store's file; a Spark workspace passes its engine's,
    :class:`segmint.monitor.engine.EngineTables`).
    """
    from segmint.monitor._sources import StoreTables

    src = tables if tables is not None else StoreTables(store)
    snaps = []
    for side, run in (("baseline", baseline_run), ("current", current_run)):
        try:
            snaps.append(src.snapshot(run))
        except SegmintError as error:
            raise SegmintError(error.problem, fix=error.fix, where=f"{side} run {run}") from None
    return table_drift(snaps[0], snaps[1], features)


def _check_kind(feature: str, kind: str) -> None:
    if kind not in KINDS:
        raise SegmintError(
            f"The kind of feature '{feature}' must be 'numeric' or 'categorical'. Got {kind!r}.",
            fix="leave kind out to have it read from the values.",
        )


def _names(
    baseline: Iterable[object], current: Iterable[object], features: Sequence[str] | None
) -> list[str]:
    """The features to compare: those asked for (each on at least one side), or every column
    of either side but ``customer_id``."""
    base, cur = [str(c) for c in baseline], [str(c) for c in current]
    if features is None:
        return [c for c in dict.fromkeys([*base, *cur]) if c != "customer_id"]
    unknown = [f for f in features if f not in base and f not in cur]
    if unknown:
        raise SegmintError(
            f"No feature named {', '.join(map(repr, unknown))} in either sample.",
            fix=f"choose among: {', '.join(base)}.",
        )
    return [str(f) for f in features]


def _memtable(columns: Mapping[str, pd.Series]) -> ir.Table:
    """pandas columns as an in-memory table of the default engine (DuckDB)."""
    arrays = {name: _arrow(pd.Series(values)) for name, values in columns.items()}
    return ibis.memtable(pa.table(arrays) if arrays else pa.table({"_": pa.array([])}))


def _arrow(values: pd.Series) -> pa.Array:
    """A column as Arrow: NaN becomes NULL; numbers held as objects (Decimal from an engine)
    become floats; objects of mixed types become text."""
    if values.dtype == object:
        values = _numbers_as_floats(values)
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.map(lambda v: v if _missing(v) else str(v)), from_pandas=True)


def _numbers_as_floats(values: pd.Series) -> pd.Series:
    """An object column holding only numbers (Decimal from the engine, say) as floats."""
    present = values.dropna()
    if len(present) and all(
        isinstance(v, numbers.Number) and not isinstance(v, bool | np.bool_) for v in present
    ):
        return pd.to_numeric(values, errors="coerce").astype(float)
    return values.infer_objects()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
