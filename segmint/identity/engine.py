"""``segmint dedupe --engine spark``: persons found where the customer records live.

The embedded :func:`~segmint.identity.link.dedupe` reads ``customers`` from the workspace
file and keeps pairs, persons and reviewers' decisions there. A Spark workspace keeps its
customers in Spark, and they should not leave the cluster: :func:`dedupe_on_engine` links
them with :func:`~segmint.identity.frames.link_frame` on the workspace's session (Splink's
Spark backend: the same fields, comparisons, blocking and training as the embedded run) and
writes the identity map (``customer_id → person_id``) and the scored pairs as engine tables,
in one all-or-nothing write. What comes to the driver is what is small: the model (kept in
the driver's ``identity_models`` with the run record) and the pairs above the review floor.

The features of the next Spark run then count each person once
(:func:`~segmint.identity.persons.by_person`, the embedded rules on the engine's map).

What stays embedded-only (a Spark run says so): incremental matching of new records against
the stored model (a Spark dedupe trains anew on every record, which is also what the
embedded ``--full`` does), reviewers' accept/reject decisions, ``--explain`` and ``--review``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from segmint.exceptions import InputError, WorkspaceError
from segmint.identity.fields import DEFAULT_THRESHOLD, IdentityOptions
from segmint.identity.frames import link_frame
from segmint.identity.link import DedupeResult, Progress, _rules_of
from segmint.identity.model import comparison_table
from segmint.privacy import audit as audit_log
from segmint.privacy.linked import MAP
from segmint.store import RunRecord

__all__ = ["PAIRS", "dedupe_on_engine", "unmapped"]

#: the scored pairs of the last Spark dedupe (at or above the review floor)
PAIRS = "identity_pairs"
#: the session view the persons are written from (dropped after the write)
_VIEW = "segmint_dedupe_persons"


def dedupe_on_engine(
    ws: Any,
    *,
    threshold: float | None = None,
    options: IdentityOptions | None = None,
    progress: Progress | None = None,
) -> DedupeResult:
    """Link the engine workspace ``ws``'s customer records into persons (a full run)."""
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    opts = options or IdentityOptions()
    thr = threshold if threshold is not None else (opts.threshold or DEFAULT_THRESHOLD)
    if not 0 < thr < 1:
        raise InputError(
            f"The threshold must be a probability between 0 and 1; got {thr}.",
            fix="e.g. --threshold 0.95 (higher links fewer, surer pairs)",
        )
    if "customers" not in ws.tables():
        raise WorkspaceError(
            f"The workspace '{ws.path}' has no customers table to link.",
            fix="import customers first (segmint run --engine spark customers.csv ...).",
        )
    engine = ws.engine
    spark = getattr(engine, "session", None)
    say(f"linking customer records ({engine.name})")
    links = link_frame(
        engine.table("customers"),
        spark=spark,
        options=opts,
        threshold=thr,
        progress=say,
        persons_in_engine=True,
    )
    persons = _as_table(engine, links.persons)
    run = RunRecord(kind="dedupe")
    ws.store.reserve_run(run)
    pairs = links.pairs.append_column(
        "run_id", pa.array([run.run_id] * links.pairs.num_rows, pa.string())
    )
    say("saving the persons")
    try:
        engine.write({MAP: persons, PAIRS: pairs})
    finally:
        if spark is not None and not isinstance(links.persons, pa.Table):
            spark.catalog.dropTempView(_VIEW)
    n_persons = int(
        engine.table(MAP).person_id.nunique().to_pyarrow().as_py()  # counted in the engine
    )
    fields = [{"column": f.source, "kind": f.kind, "field": f.name} for f in links.fields]
    result = DedupeResult(
        run_id=run.run_id,
        mode="full",
        records=links.records,
        persons=n_persons,
        threshold=thr,
        new_records=links.records,
        pairs_scored=links.pairs.num_rows,
        fields=fields,
        blocking=_rules_of(links.model_json),
        comparisons=comparison_table(links.model_json),
        notes=[*links.notes, *_engine_notes(engine.name)],
    )
    result.seconds = round(time.perf_counter() - started, 2)
    run.spec = {"mode": "full", "threshold": thr, "fields": fields,
                "blocking": result.blocking, "engine": engine.name}  # fmt: skip
    run.row_counts = {"records": links.records, "persons": n_persons,
                      "pairs_scored": links.pairs.num_rows}  # fmt: skip
    store = ws.store
    with store.transaction():
        store.ensure("identity_models")
        store.db.execute(
            "INSERT INTO identity_models VALUES (?, ?, ?, ?)",
            [run.run_id, links.model_json, thr, datetime.now(UTC).replace(tzinfo=None)],
        )
        store.record_run(run)
        audit_log.record(store, "dedupe", target=run.run_id, detail=run.row_counts)
    return result


def unmapped(ws: Any) -> int:
    """Customer records the engine's identity map does not hold (imported after the last
    dedupe: each counts as its own person until the next); 0 without a map."""
    present = set(ws.tables())
    if MAP not in present or "customers" not in present:
        return 0
    c, m = ws.engine.table("customers"), ws.engine.table(MAP)
    ids = c.select(cid=c.customer_id.cast("string"))
    left = ids.anti_join(m, ids.cid == m.customer_id)
    return int(left.count().to_pyarrow().as_py())


def _as_table(engine: Any, persons: Any) -> Any:
    """Link_frame's persons as what :meth:`Engine.write` takes: Arrow as is, a Spark
    DataFrame as a view of the engine's session (it never leaves the cluster)."""
    if isinstance(persons, pa.Table):
        return persons
    persons.createOrReplaceTempView(_VIEW)
    table = engine.ibis.table(_VIEW)
    return table.select(
        customer_id=table.customer_id.cast("string"), person_id=table.person_id.cast("string")
    )


def _engine_notes(name: str) -> list[str]:
    if name == "duckdb":
        return []
    return [
        f"On {name} every dedupe trains on all records (no incremental matching), and "
        "reviewers' decisions, --explain and --review need the embedded workspace."
    ]
