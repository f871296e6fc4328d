"""Per-run feature snapshots: the features each segment run segmented on, kept in the workspace.

``customer_features`` is replaced by every features run, but drift and migration between runs
need what each run saw. Copying the table at every run would cost seconds and memory on a
million customers (``bench/bench_snapshot.py``), so nothing is copied: a segment run records
which features run built the table it segmented on (``feature_snapshot_runs``, one small row
in the run's own transaction), and when the next features run replaces ``customer_features``,
a table that a run still refers to is renamed to ``feature_snapshot_<seq>`` (a catalog change,
no data moves) instead of dropped. DuckDB keeps it compressed per column like any table.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import ibis

from segmint.exceptions import SegmintError

if TYPE_CHECKING:
    from segmint.store._store import Store

__all__ = [
    "ASIDE",
    "read_snapshot",
    "record_snapshot",
    "retire_features",
    "set_aside_features",
    "settle_aside",
    "snapshot_record",
    "snapshot_runs",
]

SOURCE = "customer_features"
RUNS = "feature_snapshot_runs"


def kept_name(features_run_id: str) -> str:
    """Where the features of ``0003-features`` are kept once replaced: feature_snapshot_0003."""
    return f"feature_snapshot_{features_run_id.split('-', 1)[0]}"


def record_snapshot(store: Store, run_id: str) -> int:
    """Record that run ``run_id`` segmented on the current ``customer_features``; its rows.

    Call inside the run's write transaction. A workspace without features records nothing.
    """
    features_run = _current_features_run(store)
    if features_run is None or not store.has_table(SOURCE):
        return 0
    columns = {k: v for k, v in store.columns(SOURCE).items() if k != "customer_id"}
    n = store.count(SOURCE)
    store.ensure(RUNS)
    store.db.execute(
        f"INSERT INTO {RUNS} VALUES (?, ?, ?, ?)", [run_id, features_run, json.dumps(columns), n]
    )
    return n


def retire_features(store: Store) -> None:
    """Before ``customer_features`` is replaced: keep it when a run segmented on it, else drop."""
    if store.has_table(SOURCE):
        _keep_or_drop(store, SOURCE, _current_features_run(store))


#: where an incremental features run keeps the table it builds on while it writes the new one
ASIDE = "_segmint_previous_features"


def set_aside_features(store: Store) -> str | None:
    """Rename ``customer_features`` to :data:`ASIDE` (inside the features run's transaction),
    so the next table can be built from it; :func:`settle_aside` then keeps or drops it."""
    if not store.has_table(SOURCE):
        return None
    store.db.execute(f"DROP TABLE IF EXISTS {ASIDE}")
    store.db.execute(f"ALTER TABLE {SOURCE} RENAME TO {ASIDE}")
    return ASIDE


def settle_aside(store: Store) -> None:
    """The set-aside table becomes the snapshot of the features run that built it when a run
    segmented on it (as :func:`retire_features` keeps it), else it is dropped. Call before
    the new features run is recorded (until then it is the last one)."""
    if store.has_table(ASIDE):
        _keep_or_drop(store, ASIDE, _current_features_run(store))


def _keep_or_drop(store: Store, table: str, features_run: str | None) -> None:
    """``table`` (built by ``features_run``) renamed to that run's snapshot name when a
    segment run segmented on it, else dropped."""
    from segmint.store._store import quote

    if features_run is not None and store.has_table(RUNS):
        used = store.db.execute(
            f"SELECT count(*) FROM {RUNS} WHERE features_run_id = ?", [features_run]
        ).fetchone()
        if used and used[0] and not store.has_table(kept_name(features_run)):
            store.db.execute(f"ALTER TABLE {table} RENAME TO {quote(kept_name(features_run))}")
            return
    store.db.execute(f"DROP TABLE {table}")


def snapshot_runs(store: Store) -> list[str]:
    """The runs that have a feature snapshot, oldest first."""
    if not store.has_table(RUNS):
        return []
    rows = store.db.execute(f"SELECT run_id FROM {RUNS} ORDER BY run_id").fetchall()
    return [r[0] for r in rows]


def read_snapshot(store: Store, run_id: str) -> ibis.Table:
    """The features run ``run_id`` segmented on: customer_id and that run's feature columns."""
    features_run, columns = snapshot_record(store, run_id)
    name = SOURCE if features_run == _current_features_run(store) else kept_name(features_run)
    if not store.has_table(name):
        raise _gone(run_id, features_run, name)
    return store.table(name).select("customer_id", *columns)


def snapshot_record(store: Store, run_id: str) -> tuple[str, list[str]]:
    """(the features run that built what run ``run_id`` segmented on, its feature columns);
    SegmintError when the run kept no snapshot."""
    row = None
    if store.has_table(RUNS):
        row = store.db.execute(
            f"SELECT features_run_id, columns FROM {RUNS} WHERE run_id = ?", [run_id]
        ).fetchone()
    if row is None:
        have = snapshot_runs(store)
        raise SegmintError(
            f"The run '{run_id}' has no feature snapshot"
            + (f" (runs with one: {', '.join(have)})." if have else " (no run has one yet)."),
            fix="pass the id of a segment run (see `segmint status`); runs made before "
            "snapshots were kept have none.",
        )
    return str(row[0]), list(json.loads(row[1]))


def _gone(run_id: str, features_run: str, name: str) -> SegmintError:
    return SegmintError(
        f"The features of run '{run_id}' (built by '{features_run}') are no longer in the "
        f"workspace: the table '{name}' is missing.",
        fix="segment again to keep a new snapshot.",
    )


def _current_features_run(store: Store) -> str | None:
    """The features run that built today's ``customer_features`` (the last one)."""
    row = store.db.execute(
        "SELECT run_id FROM runs WHERE kind = 'features' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None
