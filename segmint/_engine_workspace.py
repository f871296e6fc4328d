"""A workspace whose data lives in an engine other than the embedded file (Spark).

>>> ws = segmint.Workspace.spark(master="local[2]", path="shop-spark")  # doctest: +SKIP
>>> ws.ingest("s3://lake/orders/")                                      # doctest: +SKIP
>>> ws.run(segmint.Spec(), out_dir="report")                           # doctest: +SKIP

Layout of ``path``: the canonical tables, the features, the segment assignments and the
per-customer values are Parquet folders under ``path/tables`` (or the ``warehouse`` given: any
path the cluster reaches, e.g. ``s3://bucket/segmint``); what the run knows about itself (the
runs, the typed results, the fitted models, the audit log) is small and stays on the driver in
``path/segmint.duckdb``, the same system tables as an embedded workspace, so ``segmint status``
and the report read them the same way. Opening the same ``path`` again (a new session, another
day) finds every table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from segmint.clean.engine import clean_tables
from segmint.exceptions import WorkspaceError
from segmint.features import build_features, check_families, resolve_as_of
from segmint.identity.persons import by_person
from segmint.ingest.engine import import_plan
from segmint.privacy import audit as audit_log
from segmint.privacy.linked import MAP
from segmint.spec.gates import QualityGates
from segmint.store import CANONICAL, RunRecord, Store
from segmint.store.engine import DuckDBEngine, Engine, SparkEngine

if TYPE_CHECKING:
    from segmint.activate.export import ExportResult

__all__ = ["METADATA_FILE", "EngineWorkspace"]

#: the driver-side file of a Spark workspace (runs, results, models, audit)
METADATA_FILE = "segmint.duckdb"


class EngineWorkspace:
    """The pipeline's data stages on an :class:`~segmint.store.engine.Engine` (Spark)."""

    def __init__(self, path: str | os.PathLike[str], engine: Engine | None = None):
        """``engine`` None: the embedded engine, data and system tables in one file
        (``path/segmint.duckdb``), e.g. to compare the engine run with the embedded one."""
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.path / METADATA_FILE)
        self.engine = engine if engine is not None else DuckDBEngine(self.store)

    @classmethod
    def spark(
        cls,
        session_or_conf: Any = None,
        path: str | os.PathLike[str] = "segmint-spark",
        *,
        master: str | None = None,
        warehouse: str | None = None,
        catalog: str | None = None,
        must_exist: bool = False,
    ) -> EngineWorkspace:
        """Open (or create) a Spark workspace at ``path``.

        ``session_or_conf``: a running SparkSession (yours, on your cluster), or a dict of
        Spark settings for the session segmint starts on ``master`` (``local[2]``,
        ``spark://host:7077``, ``yarn``). ``warehouse``: where the tables live (default
        ``path/tables``), a path every executor can reach. ``catalog``: keep the tables in this
        database of the session's catalog instead (``"db"`` or ``"catalog.db"``; created at
        ``warehouse`` when missing, unless ``must_exist``), found again by name by a new session
        (:mod:`segmint.store.spark_catalog`); a workspace remembers where its tables are.
        """
        from segmint.store import spark_catalog as sc
        from segmint.store.spark import configure, spark_session

        catalog = sc.recorded_catalog(path, catalog)
        if session_or_conf is not None and not isinstance(session_or_conf, Mapping):
            session = configure(session_or_conf)
        else:
            extra = sc.catalog_conf(path, master) if catalog else {}
            session = spark_session(master, {**extra, **dict(session_or_conf or {})})
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        if catalog:
            engine = sc.SparkCatalogEngine(
                session, catalog, location=warehouse, create=not must_exist
            )
            sc.record_catalog(root, catalog)
            return cls(root, engine)
        where = warehouse or str((root / "tables").resolve())
        return cls(root, SparkEngine(session, where))

    # -- reading ---------------------------------------------------------------------------
    def tables(self) -> list[str]:
        return self.engine.tables()

    def table(self, name: str) -> ir.Table:
        return self.engine.table(name)

    def keyed(self, name: str) -> ir.Table:
        """Table ``name`` as the later stages read it: by person once ``dedupe`` has linked
        records (``customers`` as golden records, other tables keyed by the person id)."""
        table = self.engine.table(name)
        if MAP not in self.tables():
            return table
        return by_person({name: table}, self.engine.table(MAP))[name]

    def runs(self) -> list[dict[str, Any]]:
        return self.store.run_records()

    def status(self) -> dict[str, Any]:
        """Tables with row counts (counted in the engine), and the runs so far."""
        tables = {
            name: int(self.engine.table(name).count().to_pyarrow().as_py())
            for name in self.tables()
            if name in CANONICAL or name == "customer_features"
        }
        return {
            "workspace": str(self.path),
            "engine": self.engine.name,
            "tables": tables,
            "runs": self.runs(),
        }

    # -- the stages ------------------------------------------------------------------------
    def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        into: str | None = None,
        format: str = "auto",
        mapping: dict[str, str] | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Import a file (or a folder of files) Spark can read into its canonical table;
        rows already there stay unless ``replace``. Returns what was imported."""
        plan = import_plan(self.engine, str(path), into=into, format=format, mapping=mapping)
        run = RunRecord(
            kind="ingest",
            source=str(path),
            spec={"table": plan.table, "mapping": plan.mapping, "engine": self.engine.name},
        )
        self.store.reserve_run(run)
        new = plan.expr.mutate(_run_id=ibis.literal(run.run_id)).relocate("_run_id", before="_row")
        if plan.table in self.tables() and not replace:
            new = _union(self.engine.table(plan.table), new)
        self.engine.write({plan.table: new})
        rows = int(
            self.engine.table(plan.table)
            .filter(ibis._._run_id == run.run_id)
            .count()
            .to_pyarrow()
            .as_py()
        )
        run.row_counts = {"written": rows, "unreadable": plan.unreadable}
        with self.store.transaction():
            self.store.record_run(run)
            audit_log.record(
                self.store, "ingest", target=run.run_id, detail={"table": plan.table, "rows": rows}
            )
        return {
            "run_id": run.run_id,
            "table": plan.table,
            "rows": rows,
            "unreadable": plan.unreadable,
            "notes": plan.notes,
        }

    def clean(
        self,
        *,
        gates: QualityGates | None = None,
        drop_identical_lines: bool = False,
        default_region: str | None = None,
    ) -> dict[str, Any]:
        """Standardize and deduplicate every canonical table in the engine (all or nothing);
        QualityGateError, with nothing changed, when a check fails its gate."""
        from segmint.clean import apply_gates

        cleaned, counts, checks = clean_tables(
            self.engine,
            orders_without_id=self._orders_without_id(),
            drop_identical_lines=drop_identical_lines,
            default_region=default_region,
        )
        apply_gates(checks, gates or QualityGates(), [])
        run = RunRecord(
            kind="clean",
            spec={
                "drop_identical_lines": drop_identical_lines,
                "region": default_region,
                "engine": self.engine.name,
            },
        )
        self.store.reserve_run(run)
        self.engine.write(cleaned)
        run.row_counts = counts
        with self.store.transaction():
            self.store.record_run(run)
            for chk in checks:
                self.store.db.execute(
                    "INSERT INTO quality_counts VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        run.run_id,
                        chk["table"],
                        chk["column"],
                        chk["check"],
                        chk["n_bad"],
                        chk["n_checked"],
                    ],
                )
            audit_log.record(
                self.store,
                "clean",
                target=run.run_id,
                detail={"rows": {t: c.get("rows") for t, c in counts.items()}},
            )
        return {"run_id": run.run_id, "tables": counts, "checks": checks}

    def _orders_without_id(self) -> bool:
        return any(
            r["kind"] == "ingest"
            and r["spec"].get("table") == "orders"
            and "order_id" not in (r["spec"].get("mapping") or {})
            for r in self.runs()
        )

    def features(
        self,
        as_of: str | date | datetime | None = None,
        families: Sequence[str] | None = None,
        *,
        top_categories: int = 8,
    ) -> ir.Table:
        """Build ``customer_features`` in the engine (the same Ibis expression as the embedded
        workspace builds) and write it there."""
        present = set(self.tables())
        tables = {name: self.engine.table(name) for name in CANONICAL if name in present}
        if not tables:
            raise WorkspaceError(
                f"The Spark workspace '{self.path}' holds no data yet.",
                fix="import a file first (segmint run --engine spark FILE).",
            )
        if MAP in present:  # one row per person once records are linked (segmint dedupe)
            tables = by_person(tables, self.engine.table(MAP))
        when = resolve_as_of(tables.get("orders"), as_of)
        expr = build_features(tables, when, families=families, top_categories=top_categories)
        run = RunRecord(
            kind="features",
            spec={
                "as_of": when.isoformat(),
                "families": check_families(families),
                "top_categories": top_categories,
                "features": [c for c in expr.columns if c != "customer_id"],
                "engine": self.engine.name,
            },
        )
        self.store.reserve_run(run)
        self.engine.write({"customer_features": expr})
        table = self.engine.table("customer_features")
        run.row_counts = {"customers": int(table.count().to_pyarrow().as_py())}
        with self.store.transaction():
            self.store.record_run(run)
            audit_log.record(
                self.store,
                "features",
                target=run.run_id,
                detail={"as_of": when.isoformat(), **run.row_counts},
            )
        return table

    def dedupe(
        self,
        *,
        threshold: float | None = None,
        options: Any = None,
        progress: Any = None,
    ) -> Any:
        """Link the customer records into persons in the engine (Splink's Spark backend) and
        keep the identity map there (:func:`segmint.identity.engine.dedupe_on_engine`); the
        next features count each person once."""
        from segmint.identity.engine import dedupe_on_engine

        return dedupe_on_engine(self, threshold=threshold, options=options, progress=progress)

    def run(
        self,
        spec: Any,
        *,
        out_dir: str | os.PathLike[str],
        progress: Any = None,
        sample_size: int | None = None,
        seed: int = 0,
    ) -> Any:
        """The whole spec on the engine (:func:`segmint._run.engine_run.run_on_engine`): import,
        clean, features, every segmentation fitted on a sample of ``sample_size`` customers
        (default 1,000,000) and assigned in the engine, the report in ``out_dir``."""
        from segmint._run.engine_run import run_on_engine

        return run_on_engine(
            self, spec, out_dir=Path(out_dir), progress=progress, sample_size=sample_size, seed=seed
        )

    def export(
        self,
        segmentation: str,
        segment: str | Sequence[str],
        to: str,
        out: str | os.PathLike[str],
        *,
        run: str | None = None,
        hashed: bool | None = None,
        min_size: int | None = None,
        assume_consent: bool = False,
    ) -> ExportResult:
        """The audience file of segments of a run, as ``Workspace.export`` writes it (same
        options, destinations, consent rules and log): the segments' customer rows are
        computed in the engine and only they come to the driver
        (:func:`segmint.activate.engine.export_from_engine`)."""
        from segmint.activate.engine import export_from_engine

        return export_from_engine(
            self.store,
            self.engine,
            segmentation=segmentation,
            segments=[segment] if isinstance(segment, str) else list(segment),
            destination=to,
            out=out,
            run_id=run,
            hashed=hashed,
            min_size=min_size,
            assume_consent=assume_consent,
        )

    def exports(self) -> list[ExportResult]:
        """Every audience file written from this workspace, newest first (the driver's log)."""
        from segmint.activate.export import list_exports

        return list_exports(self.store)

    def monitor(
        self,
        baseline: str | None = None,
        current: str | None = None,
        *,
        thresholds: Any = None,
        features: Sequence[str] | None = None,
    ) -> Any:
        """Compare two segment runs (default: the latest against the one before) as
        ``Workspace.monitor`` does: feature drift between their snapshots, migration, sizes,
        centroid shift and alerts, computed in the engine (only aggregates leave it):
        :func:`segmint.monitor.engine.compare_engine_runs`; docs/monitoring.md."""
        from segmint.monitor.engine import compare_engine_runs

        return compare_engine_runs(
            self, baseline, current, thresholds=thresholds, features=features
        )

    def close(self) -> None:
        self.store.close()
        self.engine.close()

    def __enter__(self) -> EngineWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EngineWorkspace({str(self.path)!r}, engine={self.engine.name!r})"


def _union(old: ir.Table, new: ir.Table) -> ir.Table:
    """Rows of both, by column name; a column only one side has is NULL on the other."""
    cols = list(old.columns) + [c for c in new.columns if c not in old.columns]
    types = {**{c: new[c].type() for c in new.columns}, **{c: old[c].type() for c in old.columns}}

    def shaped(t: ir.Table) -> ir.Table:
        return t.select(
            *[(t[c] if c in t.columns else ibis.null()).cast(types[c]).name(c) for c in cols]
        )

    return shaped(old).union(shaped(new))
