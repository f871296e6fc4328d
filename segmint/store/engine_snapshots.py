"""Per-run feature snapshots of a workspace whose tables live in an engine (Spark).

Drift and migration compare what two segment runs segmented on, but ``customer_features`` is
replaced by every features run. The embedded workspace keeps a replaced table by renaming it
(:mod:`segmint.store.snapshots`); an engine's tables are written whole and all-or-nothing
(Parquet folders, catalog tables), with no rename to hook into, so a segment run copies the
feature table it segmented on into ``feature_snapshot_<seq>`` (``<seq>`` of the features run
that built it, as the embedded name) **in the same write as its assignments**: the run and
its snapshot land together or not at all. Runs on the same features share one copy. The copy
is one more write of the feature table (columns and customers, no orders); the driver keeps
the same small ``feature_snapshot_runs`` row as the embedded workspace, so both read a run's
snapshot through one record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from segmint.store.snapshots import (
    RUNS,
    SOURCE,
    _current_features_run,
    _gone,
    kept_name,
    snapshot_record,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from segmint.store._store import Store
    from segmint.store.engine import Engine

__all__ = ["keep_engine_snapshot", "read_engine_snapshot"]


def keep_engine_snapshot(
    store: Store, engine: Engine, run_id: str, customers: int
) -> dict[str, ir.Table]:
    """What run ``run_id`` must write with its assignments to keep its features: ``{name:
    customer_features}``, or nothing when that features run's copy exists already (or there
    are no features). Records the run's ``feature_snapshot_runs`` row: call inside the run's
    transaction on the driver ``store``, and write the tables returned in the same
    :meth:`Engine.write` as the assignments. ``customers``: the rows of the feature table
    (the run counted them already)."""
    features_run = _current_features_run(store)
    if features_run is None or SOURCE not in engine.tables():
        return {}
    table = engine.table(SOURCE)
    columns = {c: str(t) for c, t in table.schema().items() if c != "customer_id"}
    store.ensure(RUNS)
    store.db.execute(
        f"INSERT INTO {RUNS} VALUES (?, ?, ?, ?)",
        [run_id, features_run, json.dumps(columns), int(customers)],
    )
    name = kept_name(features_run)
    return {} if name in engine.tables() else {name: table}


def read_engine_snapshot(store: Store, engine: Engine, run_id: str) -> ir.Table:
    """The features run ``run_id`` segmented on, as a table of ``engine``: customer_id and the
    run's feature columns (SegmintError when the run kept none or its copy is gone)."""
    features_run, columns = snapshot_record(store, run_id)
    name = kept_name(features_run)
    if name not in engine.tables():
        raise _gone(run_id, features_run, name)
    return engine.table(name).select("customer_id", *columns)
