"""Per-run feature snapshots: the features each segment run segmented on, kept in the workspace.

``customer_features`` is replaced by every features run; drift and migration between runs
need what each run saw. A snapshot is one ``INSERT … SELECT`` from ``customer_features`` into
``feature_snapshots`` inside the run's own transaction, so it never passes through Python and
lands with the run or not at all. One wide table holds every run (DuckDB compresses it per
column: repeated run ids and the NULLs of features a run did not have cost almost nothing);
``feature_snapshot_runs`` records each run's columns and their types, so reading a snapshot
returns exactly the columns that run had.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import ibis

from segmint.exceptions import SegmintError

if TYPE_CHECKING:
    from segmint.store._store import Store

__all__ = ["read_snapshot", "snapshot_runs", "write_snapshot"]

SOURCE = "customer_features"


def write_snapshot(store: Store, run_id: str) -> int:
    """Copy ``customer_features`` into ``feature_snapshots`` under ``run_id``; rows copied.

    Call inside the run's write transaction. A workspace without features copies nothing.
    """
    from segmint.store._store import quote

    if not store.has_table(SOURCE):
        return 0
    columns = {k: v for k, v in store.columns(SOURCE).items() if k != "customer_id"}
    store.ensure("feature_snapshots")
    store.ensure("feature_snapshot_runs")
    have = store.columns("feature_snapshots")
    store.add_columns("feature_snapshots", {c: t for c, t in columns.items() if c not in have})
    for name, dtype in columns.items():  # a column whose type changed between runs: as text
        if name in have and have[name] not in (dtype, "VARCHAR"):
            store.db.execute(f"ALTER TABLE feature_snapshots ALTER {quote(name)} TYPE VARCHAR")
    names = ", ".join(quote(c) for c in ("customer_id", *columns))
    store.db.execute(
        f"INSERT INTO feature_snapshots (run_id, {names}) SELECT ?, {names} FROM {SOURCE}",
        [run_id],
    )
    n = store.count(SOURCE)
    row = store.db.execute(
        "SELECT run_id FROM runs WHERE kind = 'features' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    store.db.execute(
        "INSERT INTO feature_snapshot_runs VALUES (?, ?, ?, ?)",
        [run_id, row[0] if row else None, json.dumps(columns), n],
    )
    return n


def snapshot_runs(store: Store) -> list[str]:
    """The runs that have a feature snapshot, oldest first."""
    if not store.has_table("feature_snapshot_runs"):
        return []
    rows = store.db.execute("SELECT run_id FROM feature_snapshot_runs ORDER BY run_id").fetchall()
    return [r[0] for r in rows]


def read_snapshot(store: Store, run_id: str) -> ibis.Table:
    """The features run ``run_id`` segmented on: customer_id and that run's columns, typed."""
    from segmint.store._store import quote

    row = None
    if store.has_table("feature_snapshot_runs"):
        row = store.db.execute(
            "SELECT columns FROM feature_snapshot_runs WHERE run_id = ?", [run_id]
        ).fetchone()
    if row is None:
        have = snapshot_runs(store)
        raise SegmintError(
            f"The run '{run_id}' has no feature snapshot"
            + (f" (runs with one: {', '.join(have)})." if have else " (no run has one yet)."),
            fix="pass the id of a segment run (see `segmint status`); runs made before "
            "snapshots were kept have none.",
        )
    columns: dict[str, str] = json.loads(row[0])
    stored = store.columns("feature_snapshots")
    select = ["customer_id"] + [
        quote(c) if stored.get(c) == t else f"CAST({quote(c)} AS {t}) AS {quote(c)}"
        for c, t in columns.items()
    ]
    literal = "'" + run_id.replace("'", "''") + "'"
    return store.ibis.sql(
        f"SELECT {', '.join(select)} FROM feature_snapshots WHERE run_id = {literal}"
    )
