"""Store a run's segmentations in one transaction with its run record.

Per segmentation: the assignments (customer → segment, name), the typed result as JSON
(``segmentations.result``), the fitted model as JSON data (``segment_models.model``; see
``segmint.segment.models``) and, for a value segmentation, the per-customer values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from segmint._run._frame import OBJECTED
from segmint._run._segment import Segmented
from segmint._workspace import Workspace
from segmint.privacy import audit
from segmint.privacy.pseudonyms import keep_pseudonymized
from segmint.store import RunRecord, Store

__all__ = ["persist"]


def persist(
    ws: Workspace | Any,
    results: list[Segmented],
    as_of: str,
    *,
    objected: int = 0,
    engine: dict[str, Any] | None = None,
    write_engine: Callable[[str], None] | None = None,
) -> str:
    """Write every segmentation of the run; return the run id. ``objected``: the customers
    left out because they objected to profiling (counted in the run's ``row_counts``).

    ``engine`` (a run on Spark: its sample size, population and seed, kept in the run's spec):
    the assignments and values live in the engine, written by ``write_engine(run_id)`` inside
    this transaction, so a failed engine write leaves no run record behind.
    """
    store = ws.store
    db = store.db
    run = RunRecord(
        kind="segment",
        spec={"as_of": as_of, "segmentations": [r.spec.model_dump() for r in results]}
        | ({"engine": engine} if engine else {}),
    )
    with store.transaction():
        store.reserve_run(run)
        store.ensure("segment_assignments")  # declared in segmint/store/tables.py
        store.ensure("segmentations")
        _models_table(store)
        if engine is None:
            store.snapshot_features(run.run_id)  # what this run segmented on, for drift later
        elif write_engine is not None:
            write_engine(run.run_id)
        counts = {}
        for r in results:
            seg = r.segmentation
            if engine is None:
                db.register("_segmint_assign", _assignments(seg.labels, r.result.names()))
                db.execute(
                    "INSERT INTO segment_assignments SELECT ?, ?, customer_id, segment, "
                    "segment_name FROM _segmint_assign",
                    [run.run_id, seg.name],
                )
                db.unregister("_segmint_assign")
            db.execute(
                "INSERT INTO segmentations VALUES (?, ?, ?, ?, ?)",
                [
                    run.run_id,
                    seg.name,
                    seg.method,
                    json.dumps(r.spec.model_dump()),
                    r.result.dumps(),
                ],
            )
            counts[seg.name] = r.result.n_customers if engine else len(seg.labels)
            db.execute(
                "INSERT INTO segment_models VALUES (?, ?, ?, ?)",
                [run.run_id, seg.name, json.dumps(r.result.features), json.dumps(r.model)],
            )
            if r.values is not None and engine is None:
                _values(store, run.run_id, seg.name, r.values)
            if r.summary is not None and engine is None:
                _summary(store, run.run_id, seg.name, r.summary)
        # ids come from the feature table, already pseudonyms when the workspace keeps them;
        # this catches any written from elsewhere
        keep_pseudonymized(store, ("segment_assignments", "customer_values", "value_summaries"))
        run.row_counts = {**counts, OBJECTED: objected} if objected else counts
        store.record_run(run)
        audit.record(
            store,
            "run",
            target=run.run_id,
            detail={"as_of": as_of, "segmentations": {r.spec.name: r.spec.method for r in results}},
        )
    return run.run_id


def _models_table(store: Store) -> None:
    """``segment_models`` with its ``model`` as JSON; a workspace from before models were data
    has a BLOB column of pickles there, which segmint never reads: it becomes an empty JSON
    column (those runs then say they cannot score)."""
    store.ensure("segment_models")
    db = store.db
    kinds = db.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'segment_models' "
        "AND column_name = 'model' AND table_schema = current_schema()"
    ).fetchall()
    if kinds and kinds[0][0] != "JSON":
        db.execute("ALTER TABLE segment_models DROP COLUMN model")
        db.execute("ALTER TABLE segment_models ADD COLUMN model JSON")


def _values(store: Store, run_id: str, name: str, values: pd.DataFrame) -> None:
    db = store.db
    db.register("_segmint_values", _with_ids(values))
    db.execute(  # the columns the table takes: run, segmentation, then the frame's
        "CREATE OR REPLACE TEMP VIEW _segmint_values_rows AS SELECT '' AS run_id, "
        "'' AS segmentation, * FROM _segmint_values LIMIT 0"
    )
    store.ensure("customer_values", like="_segmint_values_rows")
    db.execute("DROP VIEW _segmint_values_rows")
    db.execute(
        "INSERT INTO customer_values BY NAME SELECT ? AS run_id, ? AS segmentation, * "
        "FROM _segmint_values",
        [run_id, name],
    )
    db.unregister("_segmint_values")


def _summary(store: Store, run_id: str, name: str, summary: pd.DataFrame) -> None:
    """The purchase summary the value models scored (``segmint update`` moves it forward)."""
    from segmint.features.repeat import SUMMARY_COLUMNS

    store.ensure("value_summaries")
    db = store.db
    db.register("_segmint_summary", _with_ids(summary[list(SUMMARY_COLUMNS)]))
    db.execute(
        "INSERT INTO value_summaries BY NAME SELECT ? AS run_id, ? AS segmentation, "
        "? AS unit, * FROM _segmint_summary",
        [run_id, name, str(summary.attrs.get("unit", "weeks"))],
    )
    db.unregister("_segmint_summary")


def _with_ids(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow with its index as a ``customer_id`` text column (the run id and the
    segmentation are added as constants in SQL: as pandas columns, a million repeated strings
    cost more to convert than the numbers)."""
    ids = pa.array(frame.index.astype(str), pa.string())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.add_column(0, "customer_id", ids)


def _assignments(labels: pd.Series, names: dict[str, str]) -> pa.Table:
    """customer_id, segment, segment_name as Arrow, the labels dictionary-encoded (fast to insert).

    A label without a profile keeps the label as its name.
    """
    codes, uniques = pd.factorize(labels.astype(str), sort=False)
    text = [str(u) for u in uniques]
    segment = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(text))
    named = pa.array([names.get(t, t) for t in text])
    return pa.table(
        {
            "customer_id": pa.array(labels.index.astype(str)),
            "segment": segment,
            "segment_name": pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), named),
        }
    )
