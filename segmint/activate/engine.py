"""Audience files from a workspace whose customer tables live in an engine (Spark).

Why a module of its own: the embedded export (:func:`segmint.activate.export.export_audience`)
normalizes the contacts, applies the consent rules and writes every destination's format with
DuckDB on the driver. On Spark the assignments and the ``customers`` table live in the cluster,
the run's results and the export log on the driver (``DIR/segmint.duckdb``). Rather than a
second implementation of the formats, :func:`export_from_engine`

1. resolves the run and the segments from the driver's results (the same checks and errors as
   the embedded export, before the cluster is asked anything);
2. computes in the engine the chosen segments' assignment rows and the ``customers`` columns
   the destination's contacts read, semi-joined to those customers: only rows that become the
   file (or are counted as left out of it) leave the cluster;
3. puts them, for the length of the export, where the embedded code reads them: a private
   in-memory database attached to the driver connection, seen through temporary views named
   ``segment_assignments`` and ``customers`` (temporary objects shadow the driver's own
   tables; the log tables stay in the driver file, so one transaction writes them);
4. calls :func:`export_audience` unchanged, so the file, its SHA-256, the ``exports`` and
   ``export_members`` rows and the audit entry are those of an embedded export.

The temporary views, the attached database and the customer rows in it are gone when the
export returns or fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import duckdb
import ibis.expr.types as ir
import pyarrow as pa

from segmint.activate.contacts import CONTACT_COLUMNS, OBJECTION
from segmint.activate.export import (
    ExportResult,
    export_audience,
    latest_run,
    resolve_segments,
    segmentation_result,
)
from segmint.activate.exporters import Exporter, lookup
from segmint.identity.persons import by_person
from segmint.privacy.linked import MAP
from segmint.store import Store

if TYPE_CHECKING:
    from segmint.store.engine import Engine

__all__ = ["export_from_engine"]

#: the private in-memory database the engine's rows are copied into on the driver
SOURCE = "_segmint_engine_export"
#: the customers columns a contact may read (a birth year comes from the birth date)
_READ = (*("birth_date" if c == "birth_year" else c for c in CONTACT_COLUMNS), OBJECTION)
_BOOLEAN = {c for c in _READ if c.startswith("consent_")}


def export_from_engine(
    store: Store,
    engine: Engine,
    *,
    segmentation: str,
    segments: Sequence[str],
    destination: str,
    out: str | os.PathLike[str],
    run_id: str | None = None,
    hashed: bool | None = None,
    min_size: int | None = None,
    assume_consent: bool = False,
    created_by: str | None = None,
    logged_path: str | None = None,
) -> ExportResult:
    """Write the audience file of ``segments`` of a run kept in ``engine`` and log it in
    ``store`` (the driver's metadata); the options are :func:`export_audience`'s."""
    exporter = lookup(destination)
    run = run_id or latest_run(store, segmentation)
    result = segmentation_result(store, run, segmentation)
    labels = [label for label, _ in resolve_segments(result, segments)]
    assigned, customers = audience_rows(engine, run, segmentation, labels, exporter)
    with _on_driver(store.db, assigned, customers):
        return export_audience(
            store,
            segmentation=segmentation,
            segments=segments,
            destination=destination,
            out=out,
            run_id=run,
            hashed=hashed,
            min_size=min_size,
            assume_consent=assume_consent,
            created_by=created_by,
            logged_path=logged_path,
        )


def audience_rows(
    engine: Engine, run_id: str, segmentation: str, labels: list[str], exporter: Exporter
) -> tuple[pa.Table, pa.Table | None]:
    """The run's assignment rows of the segments ``labels``, and the ``customers`` rows of
    those customers with the columns the exporter's contacts read (None: no customers table),
    computed in the engine and fetched to the driver."""
    a = engine.table("segment_assignments")
    a = a.filter(
        (a.run_id == run_id) & (a.segmentation == segmentation) & a.segment.isin(labels)
    ).select(
        run_id=a.run_id,
        segmentation=a.segmentation,
        customer_id=a.customer_id.cast("string"),
        segment=a.segment.cast("string"),
        segment_name=a.segment_name.cast("string"),
    )
    if "customers" not in engine.tables():
        return a.to_pyarrow(), None
    c = engine.table("customers")
    if MAP in engine.tables():  # linked records: one golden record per person (dedupe)
        c = by_person({"customers": c}, engine.table(MAP))["customers"]
    wanted = [n for n in _READ if n in c.columns and n in _reads(exporter)]
    c = c.select(
        customer_id=c.customer_id.cast("string"),
        **{n: _typed(c, n) for n in wanted},
    )
    ids = a.select(_id=a.customer_id)
    c = c.semi_join(ids, c.customer_id == ids._id)
    return a.to_pyarrow(), c.to_pyarrow()


def _reads(exporter: Exporter) -> set[str]:
    """The customers columns the contacts of ``exporter`` read: those its columns name, the
    consent and objection columns and the country (the region hint of national phone
    numbers), or every contact column when a message template may read any of them."""
    if exporter.template_columns is not None:
        return set(_READ)
    wanted = {"birth_date" if c == "birth_year" else c for c in exporter.reads()} | {OBJECTION}
    return wanted | ({"country"} if "phone" in wanted else set())


def _typed(t: ir.Table, name: str) -> ir.Value:
    """The column as the contacts read it: consent as a boolean, the birth date as a date."""
    if name in _BOOLEAN or name == OBJECTION:
        return t[name].cast("boolean")
    if name == "birth_date":
        return t[name].cast("date")
    return t[name]


@contextmanager
def _on_driver(
    con: duckdb.DuckDBPyConnection, assigned: pa.Table, customers: pa.Table | None
) -> Iterator[None]:
    """``segment_assignments`` and ``customers`` readable on ``con`` for the export: tables
    of a private in-memory database, seen through temporary views of those names. The export
    checks ``customers`` is a stored table (not a temporary one): the attached one is."""
    con.execute(f"ATTACH ':memory:' AS {SOURCE}")
    try:
        for name, rows in (("segment_assignments", assigned), ("customers", customers)):
            if rows is None:
                continue
            con.register("_segmint_engine_rows", rows)
            try:
                con.execute(f"CREATE TABLE {SOURCE}.main.{name} AS FROM _segmint_engine_rows")
            finally:
                con.unregister("_segmint_engine_rows")
            con.execute(f"CREATE TEMP VIEW {name} AS FROM {SOURCE}.main.{name}")
        yield
    finally:
        for name in ("segment_assignments", "customers"):
            con.execute(f"DROP VIEW IF EXISTS temp.main.{name}")
        con.execute(f"DETACH DATABASE IF EXISTS {SOURCE}")
