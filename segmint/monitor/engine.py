"""Monitoring a workspace whose data lives in an engine (Spark): the same comparison, in place.

A Spark workspace keeps its runs, segmentations and results on the driver
(``DIR/segmint.duckdb``) and its customer rows in the engine: the stacked
``segment_assignments`` and one ``feature_snapshot_<seq>`` copy per features run a segment
run used (:mod:`segmint.store.engine_snapshots`). :func:`compare_engine_runs` is
:func:`segmint.monitor.compare.compare_runs` with those two tables read from the engine, so
the result, the alerts and the report are the embedded monitor's. What leaves the cluster:
the migration matrix and segment sizes (``GROUP BY`` in the engine), each segment's feature
means and each feature's standard deviation (centroid shift), and the drift tests'
aggregates (:mod:`segmint.monitor._aggregates`); never a customer row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from segmint.exceptions import MonitorError
from segmint.monitor.compare import Monitoring, compare_runs, segment_runs
from segmint.monitor.drift import snapshot_drift
from segmint.spec.model import MonitoringSpec
from segmint.store.engine_snapshots import read_engine_snapshot

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from segmint.store import Store
    from segmint.store.engine import Engine

__all__ = ["EngineTables", "compare_engine_runs"]


class EngineTables:
    """The runs' customer-level tables in ``engine``, their records in the driver ``store``."""

    def __init__(self, store: Store, engine: Engine):
        self.store = store
        self.engine = engine

    def assignments(self) -> ir.Table:
        return self.engine.table("segment_assignments")

    def snapshot(self, run_id: str) -> ir.Table:
        return read_engine_snapshot(self.store, self.engine, run_id)


def compare_engine_runs(
    ews: Any,
    baseline: str | None = None,
    current: str | None = None,
    *,
    thresholds: MonitoringSpec | Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
) -> Monitoring:
    """Compare two segment runs of the engine workspace ``ews``
    (:class:`segmint._engine_workspace.EngineWorkspace`), as ``compare_runs`` does for an
    embedded one (defaults: the latest segment run against the one before)."""
    if not segment_runs(ews.store) or "segment_assignments" not in ews.engine.tables():
        raise MonitorError(
            f"The {ews.engine.name} workspace '{ews.path}' has no segment runs yet, so there "
            "is nothing to compare.",
            fix="run `segmint run --engine spark` twice (e.g. on last month's and this "
            "month's data), then `segmint monitor --engine spark`.",
        )
    tables = EngineTables(ews.store, ews.engine)
    return compare_runs(
        ews.store,
        baseline,
        current,
        thresholds=thresholds,
        features=features,
        feature_drift=partial(snapshot_drift, tables=tables),
        tables=tables,
    )
