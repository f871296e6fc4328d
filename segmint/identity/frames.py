"""Linking a table of customer records without a workspace: the entry a Spark run calls.

:func:`~segmint.identity.link.dedupe` works on a workspace: it reads ``customers``, stores
the pairs, persons and events. A run on Spark has its customers as a Spark table, and the
records should not leave the cluster. :func:`link_frame` takes them where they are (a Spark
DataFrame stays in the session: the linkage fields are normalised there by the same SQL,
translated, and Splink trains, scores and clusters there) and returns only what is small:
the scored pairs at or above the floor, the model, and (given a threshold) the persons.
With Arrow or pandas records and no session, the same runs on a private DuckDB, which is
what a full ``segmint dedupe`` computes for the same records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from segmint.exceptions import InputError
from segmint.identity.backends import SparkBackend, SplinkBackend, backend
from segmint.identity.fields import Field, IdentityOptions, choose_fields, prepare_sql
from segmint.identity.model import Linkage, Progress, quiet

__all__ = ["FrameLinks", "as_input", "link_frame"]


@dataclass
class FrameLinks:
    """What :func:`link_frame` found: the scored pairs, the model, and the persons."""

    #: every blocked pair at or above the floor: ``customer_id_l < customer_id_r`` (text),
    #: ``match_weight``, ``match_probability``
    pairs: pa.Table
    #: Splink's model (``save_model_to_json``), in the dialect of the engine that trained it
    model_json: str
    records: int
    fields: list[Field] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: ``customer_id → person_id`` for every record (given a threshold), a person named
    #: after its most complete record (ties: the smallest id), as a first dedupe run names it;
    #: a Spark DataFrame when ``link_frame(..., persons_in_engine=True)`` ran on Spark
    persons: Any = None


def link_frame(
    records: Any,
    *,
    spark: Any = None,
    options: IdentityOptions | None = None,
    floor: float | None = None,
    threshold: float | None = None,
    progress: Progress | None = None,
    persons_in_engine: bool = False,
) -> FrameLinks:
    """Link customer records (one row per ``customer_id``, with the customers columns that
    ``segmint dedupe`` compares) into scored pairs and, given ``threshold``, persons.

    ``records``: a pyarrow Table or pandas DataFrame, or (with ``spark``) a Spark DataFrame
    or an Ibis table on the PySpark backend, which stay in the cluster (an Ibis table on
    another backend is read as Arrow). ``spark``: a SparkSession to run Splink on (its Spark
    backend); without one, a private in-memory DuckDB. ``floor``: the lowest match
    probability kept (default: the options' review floor, 0.05). ``options``: what a spec's
    ``identity:`` sets (fields, comparisons, blocking rules). ``persons_in_engine`` (with
    ``spark``): the persons stay in the cluster, a checkpointed Spark DataFrame that outlives
    the linker's views, instead of coming back as Arrow (one row per record). An example
    runs in docs/identity.md ("On Spark").
    """
    opts = options or IdentityOptions()
    db = backend(spark)
    try:
        columns = _load_records(db, records)
        fields = choose_fields(columns, opts.fields)
        db.create("prepared", prepare_sql(fields, db.name("records"), db.dialect))
        n = int(db.scalar(f"SELECT count(*) FROM {db.name('prepared')}") or 0)
        link = Linkage.train(db, fields, opts, progress)
        pairs = link.predict(opts.review_floor if floor is None else floor)
        out = FrameLinks(pairs, link.model_json(), n, link.used, link.rules, link.notes)
        if threshold is not None:
            out.persons = _persons(db, fields, pairs, threshold, persons_in_engine)
        return out
    finally:
        db.close()


def _load_records(db: SplinkBackend, records: Any) -> dict[str, str]:
    """``records`` as the backend's table ``records``; its columns (name → SQL type)."""
    records = as_input(records)
    if _is_spark_frame(records):
        if not isinstance(db, SparkBackend):
            raise InputError(
                "link_frame was given a Spark DataFrame but no Spark session.",
                fix="pass spark=<the SparkSession> (or the records as Arrow or pandas).",
            )
        db.load_frame("records", records)
        columns = {name: _spark_type(kind) for name, kind in records.dtypes}
    else:
        table = (
            records
            if isinstance(records, pa.Table)
            else pa.Table.from_pandas(records, preserve_index=False)
        )
        db.load("records", table)
        columns = _arrow_types(table.schema)
    if "customer_id" not in columns:
        raise InputError(
            "The records to link have no 'customer_id' column.",
            where=", ".join(columns)[:200],
            fix="name the column that identifies a record 'customer_id'.",
        )
    return columns


def as_input(records: Any) -> Any:
    """An Ibis table as what link_frame reads: on PySpark its Spark DataFrame (the query,
    not its rows), elsewhere its rows as Arrow; anything else unchanged."""
    import ibis
    import ibis.expr.types as ir

    if not isinstance(records, ir.Table):
        return records
    con = ibis.get_backend(records)
    if con.name == "pyspark":
        return con._session.sql(str(con.compile(records)))
    return records.to_pyarrow()


def _is_spark_frame(obj: Any) -> bool:
    return type(obj).__module__.startswith("pyspark.sql") and hasattr(obj, "dtypes")


def _spark_type(kind: str) -> str:
    """A Spark type name (``df.dtypes``) as DuckDB spells it (what choose_fields reads)."""
    names = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE",
             "float": "FLOAT", "date": "DATE", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}  # fmt: skip
    return names.get(kind, kind.upper())


def _arrow_types(schema: pa.Schema) -> dict[str, str]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        rel = con.from_arrow(schema.empty_table())
        return {name: str(kind) for name, kind in zip(rel.columns, rel.dtypes, strict=True)}
    finally:
        con.close()


def _persons(
    db: SplinkBackend, fields: list[Field], pairs: pa.Table, threshold: float, keep: bool = False
) -> Any:
    """Splink's connected components of the pairs at or above ``threshold``, in the engine;
    each person named after its most complete record (then the smallest id)."""
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    edges = pairs.select(["customer_id_l", "customer_id_r", "match_probability"])
    db.load("edges", edges.rename_columns(["unique_id_l", "unique_id_r", "match_probability"]))
    filled = " + ".join(f"CASE WHEN {f.name} IS NULL THEN 0 ELSE 1 END" for f in fields) or "0"
    db.create("nodes", f"SELECT unique_id, {filled} AS filled FROM {db.name('prepared')}")
    with quiet():
        clusters = cluster_pairwise_predictions_at_threshold(
            db.name("nodes"), db.name("edges"), db.api, node_id_column_name="unique_id",
            threshold_match_probability=threshold,
        )  # fmt: skip
    sql = (
        "SELECT CAST(c.unique_id AS STRING) AS customer_id, CAST(first_value(c.unique_id) OVER "
        "(PARTITION BY c.cluster_id ORDER BY n.filled DESC, c.unique_id) AS STRING) AS person_id "
        f"FROM {clusters.physical_name} c JOIN {db.name('nodes')} n ON n.unique_id = c.unique_id"
    )
    if keep and isinstance(db, SparkBackend):
        # materialised now: the views under it are dropped when the linker closes
        return db.spark.sql(sql).localCheckpoint(eager=True)
    return db.rows(sql).cast(pa.schema([("customer_id", pa.string()), ("person_id", pa.string())]))
