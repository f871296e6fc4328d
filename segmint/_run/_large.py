"""The embedded run above a million customers: fitted on a sample, assigned inside DuckDB.

Up to ``sample_size`` customers (:data:`~segmint._run.engine_run.DEFAULT_SAMPLE`, 1M) the
embedded run reads the whole feature table into pandas and fits and profiles every customer.
Above it the frame alone passes what a run may hold in memory (10M customers × 35 features are
2.8 GB as doubles, before pandas' copies), so the run does what the run on Spark does
(:func:`~segmint._run.engine_run.segment_in_engine`, on the workspace's own DuckDB): each
segmentation is fitted and profiled on a seeded sample of ``sample_size`` customers, every
customer is assigned in SQL through the fitted model's formula (nearest centroid, RFM edges,
first matching rule, value tiers; the value models' predictions batch by batch), and the
sampled customers' labels are checked against the fitted model's. The report says so.

The assignments, the per-customer values and the feature snapshot land in the workspace's
usual tables, so export, monitoring, the API and the web app read a sampled run like any other.
Not kept: the value models' purchase summary (``value_summaries``), which ``segmint update``
starts from (an update after such a run recomputes it). A spec with a method that has no SQL
formula (HDBSCAN) keeps the in-memory run at any size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis.expr.types as ir

from segmint._run._segment import Segmented
from segmint.identity.persons import person_tables
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.engine import DuckDBEngine

__all__ = ["population", "sampled_run"]


class _Embedded:
    """The embedded workspace as :func:`segment_in_engine` reads an engine workspace."""

    def __init__(self, ws: Any):
        self.store = ws.store
        self.path = ws.path
        self.engine = DuckDBEngine(ws.store)

    def tables(self) -> list[str]:
        return self.engine.tables()

    def table(self, name: str) -> ir.Table:
        return self.engine.table(name)

    def keyed(self, name: str) -> ir.Table:
        """By person once records are linked, as the embedded features read them."""
        return person_tables(self.store, {name: self.engine.table(name)})[name]


def population(ws: Any) -> int:
    """Customers in the feature table."""
    return int(ws.store.count("customer_features"))


def sampled_run(
    ws: Any,
    spec: Spec,
    segs: list[SegmentationSpec],
    builders: list[Any],
    as_of: str,
    *,
    n: int,
    seed: int,
    say: Callable[[str], None],
) -> tuple[list[Segmented], Callable[[str], None], dict[str, Any], int, list[str]]:
    """Segment on a sample, assign everyone in DuckDB. Returns the segmentations, the writer
    of their engine rows (called by ``persist`` inside its transaction with the run id), the
    run's ``engine`` record (sample, population, seed), the customers left out because they
    objected to profiling, and the notes."""
    from segmint._run.engine_run import _objections, _stacked_rows, _without, segment_in_engine

    emb = _Embedded(ws)
    objections = _objections(emb)
    table, objected = _without(emb.table("customer_features"), objections)
    done, assigned, values, population_, notes = segment_in_engine(
        emb, spec, segs, builders, table, objections, as_of, n=n, seed=seed, say=say
    )

    def write(run_id: str) -> None:
        store = ws.store
        store.snapshot_features(run_id)  # what this run segmented on, for drift later
        db = store.db
        for rows in _stacked_rows(assigned, run_id).values():
            db.execute(
                "INSERT INTO segment_assignments BY NAME SELECT run_id, segmentation, "
                f"customer_id, segment, segment_name FROM ({_sql(emb, rows)})"
            )
        for rows in _stacked_rows(values, run_id).values():
            db.execute(f"CREATE OR REPLACE TEMP VIEW _segmint_values_rows AS {_sql(emb, rows)}")
            store.ensure("customer_values", like="_segmint_values_rows")
            db.execute("INSERT INTO customer_values BY NAME SELECT * FROM _segmint_values_rows")
            db.execute("DROP VIEW _segmint_values_rows")

    sampled = {"sample": min(n, population_), "population": population_, "seed": seed}
    return done, write, sampled, objected, notes


def _sql(emb: _Embedded, rows: ir.Table) -> str:
    """``rows`` as SQL on the workspace's connection (its in-memory tables registered)."""
    emb.engine.ibis._run_pre_execute_hooks(rows)
    return str(emb.engine.ibis.compile(rows))
