"""The engine interface: what cannot be an Ibis expression, once per engine (DuckDB, Spark).

Stage code builds Ibis expressions over tables and never asks which engine runs them. What
Ibis does not cover sits behind :class:`Engine`, a small interface modelled on Splink's
``DatabaseAPI``: read a file the engine can reach, write tables all-or-nothing, draw the
sample estimators are fitted on, run a vectorised Python function over every row (value
model predictions need special functions SQL lacks), and show the SQL a query becomes.

- :class:`DuckDBEngine`: the embedded workspace file (tables live in it; writes are one
  transaction).
- :class:`SparkEngine`: tables are Parquet folders under a warehouse path Spark can reach
  (``DIR/tables/<name>/`` by default), registered as views of the session when the workspace
  is opened, so a new session finds them again without a metastore. Parquet has no
  transactions: a write puts every new table in a staging folder first and only when all of
  them are written swaps them in by renaming folders (a rename per table; the old folders are
  removed after the swap), so a failed write leaves the previous tables as they were.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from segmint.exceptions import InputError, WorkspaceError

__all__ = ["DuckDBEngine", "Engine", "SparkEngine", "Writable"]

#: what :meth:`Engine.write` accepts per table: an expression of this engine, or local data
Writable: TypeAlias = ir.Table | pa.Table | pd.DataFrame
#: file formats :meth:`Engine.read` knows
FORMATS = ("csv", "parquet", "delta")


class Engine(ABC):
    """Where a workspace's data tables live and run."""

    #: ``duckdb`` or ``spark``
    name: ClassVar[str]
    #: the Ibis connection stage expressions run on
    ibis: Any

    @abstractmethod
    def tables(self) -> list[str]:
        """The data tables the workspace holds, sorted."""

    def table(self, name: str) -> ir.Table:
        if name not in self.tables():
            raise WorkspaceError(
                f"The {self.name} workspace has no table '{name}'.",
                fix=f"tables there: {', '.join(self.tables()) or 'none yet'}; import data "
                "first (segmint run --engine spark FILE).",
            )
        return self.ibis.table(name)

    @abstractmethod
    def read(self, path: str, format: str) -> ir.Table:
        """The rows of the file (or folder of files) at ``path``: Parquet and Delta with their
        types, CSV with a header and every column as text (typing is segmint's, at import)."""

    @abstractmethod
    def write(self, tables: Mapping[str, Writable]) -> None:
        """Replace (or create) every table in ``tables``; all of them or none."""

    @abstractmethod
    def drop(self, *names: str) -> None:
        """Remove tables (absent ones are ignored)."""

    @abstractmethod
    def row_ids(self, t: ir.Table) -> ir.Table:
        """``t`` with ``_row``: 1, 2, … in the order the rows were read (the file's order)."""

    @abstractmethod
    def select_sql(self, t: ir.Table, columns: list[str]) -> ir.Table:
        """``SELECT <columns> FROM t``, the columns written in this engine's SQL (derivations
        that are SQL text, e.g. the import's): a view of the engine, as an Ibis table."""

    def sample(
        self, expr: ir.Table, n: int, seed: int, key: str = "customer_id"
    ) -> tuple[pa.Table, int]:
        """(up to ``n`` rows of ``expr`` ordered by ``key``, how many rows ``expr`` has): every
        row when there are at most ``n`` (then the sample is exactly the table, on any engine),
        else a seeded random sample drawn inside the engine (reproducible on the same engine
        and data)."""
        total = int(expr.count().to_pyarrow().as_py())
        picked = expr if total <= n else self._sample(expr, n, total, seed, key)
        return self._sorted(picked, key), total

    def _sorted(self, picked: ir.Table, key: str) -> pa.Table:
        """``picked``'s rows ordered by ``key``, sorted by the engine."""
        return picked.order_by(key).to_pyarrow()

    @abstractmethod
    def _sample(self, expr: ir.Table, n: int, total: int, seed: int, key: str) -> ir.Table:
        """A seeded sample of ``n`` of ``expr``'s ``total`` rows (``key`` is unique)."""

    @abstractmethod
    def map_batches(
        self, expr: ir.Table, fn: Callable[[pd.DataFrame], pd.DataFrame], schema: sch.Schema
    ) -> ir.Table:
        """``fn`` applied to every batch of ``expr``'s rows inside the engine (Spark: on the
        executors, ``mapInPandas``); ``fn`` returns a frame with ``schema``'s columns."""

    def sql(self, expr: ir.Expr) -> str:
        """The SQL ``expr`` runs as on this engine (what the snapshot tests compare)."""
        return str(ibis.to_sql(expr, dialect=self.ibis.name))

    def close(self) -> None:  # noqa: B027 - optional
        """Release what the engine holds (a Spark session the user passed stays running)."""


class DuckDBEngine(Engine):
    """The embedded engine: tables in the workspace file (``store``), one transaction per write."""

    name = "duckdb"

    def __init__(self, store: Any):
        self.store = store
        self.ibis = store.ibis

    def tables(self) -> list[str]:
        return list(self.store.table_names())

    def read(self, path: str, format: str) -> ir.Table:
        _check_format(format, path)
        if format == "parquet":
            return self.ibis.read_parquet(path)
        if format == "delta":
            return self.ibis.read_delta(path)
        return self.ibis.read_csv(path, all_varchar=True, header=True)

    def write(self, tables: Mapping[str, Writable]) -> None:
        db = self.store.db
        with self.store.transaction():
            for name, data in tables.items():
                rel = _local(data) if not isinstance(data, ir.Table) else None
                if rel is not None:
                    db.register("_segmint_write", rel)
                    db.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _segmint_write')
                    db.unregister("_segmint_write")
                else:
                    db.execute(f'CREATE OR REPLACE TABLE "{name}" AS {self.ibis.compile(data)}')

    def drop(self, *names: str) -> None:
        for name in names:
            self.store.db.execute(f'DROP TABLE IF EXISTS "{name}"')

    def row_ids(self, t: ir.Table) -> ir.Table:
        return t.mutate(_row=ibis.row_number() + 1)

    def _view(self, sql: str) -> ir.Table:
        # a temporary view by SQL (Ibis 12's Table.sql fails on DuckDB 2: fetch_arrow_table)
        name = f"_segmint_view_{uuid.uuid4().hex[:8]}"
        self.store.db.execute(f'CREATE TEMP VIEW "{name}" AS {sql}')
        return self.ibis.table(name)

    def select_sql(self, t: ir.Table, columns: list[str]) -> ir.Table:
        return self._view(f"SELECT {', '.join(columns)} FROM ({self.ibis.compile(t)}) AS t")

    def _sample(self, expr: ir.Table, n: int, total: int, seed: int, key: str) -> ir.Table:
        # the seeded reservoir runs on one thread: over the keys alone, then their rows by a
        # semi-join. Drawing 1M of 10M customers × 45 columns took 5.7 s against 45.0 s for
        # the reservoir over whole rows, and drew the same customers (its memory: _sorted)
        sql, col = self.ibis.compile(expr), f'"{key}"'
        return self._view(
            f"SELECT * FROM ({sql}) AS t WHERE {col} IN (SELECT {col} FROM ({sql}) AS s "
            f"USING SAMPLE reservoir({n} ROWS) REPEATABLE ({seed}))"
        )

    def _sorted(self, picked: ir.Table, key: str) -> pa.Table:
        # fetched unsorted, DuckDB's cache handed back, then sorted by Arrow: DuckDB's sort
        # of the 1M whole rows made the draw the peak of a 200M-line run (2,186 MB); timed
        # alone the draw peaked at 1,781 MB this way against 1,972 MB (the same order;
        # BENCHMARKS.md)
        rows = picked.to_pyarrow()
        self.store.release_memory()
        return rows.sort_by(key)

    def map_batches(
        self, expr: ir.Table, fn: Callable[[pd.DataFrame], pd.DataFrame], schema: sch.Schema
    ) -> ir.Table:
        target = schema.to_pyarrow()
        self.ibis._run_pre_execute_hooks(expr)
        reader = self.store.db.sql(self.ibis.compile(expr)).to_arrow_reader(100_000)
        parts = [
            pa.Table.from_pandas(fn(b.to_pandas()), schema=target, preserve_index=False)
            for b in reader
        ]
        return ibis.memtable(pa.concat_tables(parts) if parts else target.empty_table())


class SparkEngine(Engine):
    """Tables as Parquet folders under ``root`` (a path Spark can reach), views in ``session``."""

    name = "spark"

    def __init__(self, session: Any, root: str | os.PathLike[str]):
        self.session = session
        self.root = str(root).rstrip("/")
        self.ibis = ibis.pyspark.connect(session)
        self._jvm_fs: Any = None
        self._known: set[str] = set()
        self._mkdirs(self.root)
        for name in self._folders():
            self._register(name)

    # -- the folders -----------------------------------------------------------------------
    def _fs(self) -> Any:
        if self._jvm_fs is None:
            jvm = self.session.sparkContext._jvm
            conf = self.session.sparkContext._jsc.hadoopConfiguration()
            self._jvm_fs = (jvm, jvm.org.apache.hadoop.fs.Path(self.root).getFileSystem(conf))
        return self._jvm_fs

    def _path(self, *parts: str) -> Any:
        jvm, _fs = self._fs()
        return jvm.org.apache.hadoop.fs.Path("/".join((self.root, *parts)))

    def _mkdirs(self, root: str) -> None:
        if "://" not in root:
            Path(root).mkdir(parents=True, exist_ok=True)

    def _folders(self) -> list[str]:
        _jvm, fs = self._fs()
        out = []
        for status in fs.listStatus(self._path()):
            name = status.getPath().getName()
            if status.isDirectory() and not name.startswith(("_", ".")):
                out.append(name)
        return sorted(out)

    def _register(self, name: str) -> None:
        self.session.read.parquet(f"{self.root}/{name}").createOrReplaceTempView(name)
        self._known.add(name)

    # -- the interface ---------------------------------------------------------------------
    def tables(self) -> list[str]:
        return sorted(self._known)

    def read(self, path: str, format: str) -> ir.Table:
        _check_format(format, path)
        reader = self.session.read
        try:
            if format == "csv":
                df = reader.option("header", True).option("inferSchema", False).csv(path)
            elif format == "delta":
                df = reader.format("delta").load(path)
            else:
                df = reader.parquet(path)
        except Exception as exc:  # Spark's AnalysisException: path missing, Delta not set up
            raise InputError(
                f"Spark could not read '{path}' as {format}: {_first_line(exc)}",
                fix="give a path every Spark executor can reach (a shared folder, HDFS, S3); "
                "Delta needs the delta-spark package configured on the session.",
            ) from None
        view = f"_segmint_src_{uuid.uuid4().hex[:8]}"
        df.createOrReplaceTempView(view)
        return self.ibis.table(view)

    def write(self, tables: Mapping[str, Writable]) -> None:
        token = uuid.uuid4().hex[:12]
        staging = f"_staging/{token}"
        _jvm, fs = self._fs()
        try:
            for name, data in tables.items():
                df = self._frame(data)
                df.write.mode("overwrite").parquet(f"{self.root}/{staging}/{name}")
        except BaseException:
            fs.delete(self._path(staging), True)
            raise
        # every table is written: swap the folders (old → trash, staged → live)
        trash = f"_trash/{token}"
        fs.mkdirs(self._path(trash))
        for name in tables:
            if fs.exists(self._path(name)):
                fs.rename(self._path(name), self._path(trash, name))
            fs.rename(self._path(staging, name), self._path(name))
        for name in tables:
            self._register(name)
        fs.delete(self._path(staging), True)
        fs.delete(self._path(trash), True)

    def _frame(self, data: Writable) -> Any:
        if isinstance(data, ir.Table):
            self.ibis._run_pre_execute_hooks(data)
            return self.session.sql(self.ibis.compile(data))
        return self.session.createDataFrame(_local(data))

    def drop(self, *names: str) -> None:
        _jvm, fs = self._fs()
        for name in names:
            if fs.exists(self._path(name)):
                fs.delete(self._path(name), True)
            self.session.catalog.dropTempView(name)
            self._known.discard(name)

    def select_sql(self, t: ir.Table, columns: list[str]) -> ir.Table:
        self.ibis._run_pre_execute_hooks(t)
        df = self.session.sql(f"SELECT {', '.join(columns)} FROM ({self.ibis.compile(t)}) AS t")
        view = f"_segmint_view_{uuid.uuid4().hex[:8]}"
        df.createOrReplaceTempView(view)
        return self.ibis.table(view)

    def row_ids(self, t: ir.Table) -> ir.Table:
        """A row number in read order: Spark's ``monotonically_increasing_id`` follows the
        file's order (partition by partition), numbered 1…N by one ordered window."""
        from pyspark.sql import functions as F
        from pyspark.sql.window import Window

        self.ibis._run_pre_execute_hooks(t)
        df = self.session.sql(self.ibis.compile(t))
        df = df.withColumn("_seq", F.monotonically_increasing_id())
        df = df.withColumn("_row", F.row_number().over(Window.orderBy("_seq"))).drop("_seq")
        view = f"_segmint_rows_{uuid.uuid4().hex[:8]}"
        df.createOrReplaceTempView(view)
        return self.ibis.table(view)

    def _sample(self, expr: ir.Table, n: int, total: int, seed: int, key: str) -> ir.Table:
        self.ibis._run_pre_execute_hooks(expr)
        df = self.session.sql(self.ibis.compile(expr))
        # a little over n/total, then exactly n: Bernoulli sampling, seeded per partition
        picked = df.sample(fraction=min(1.0, 1.1 * n / total + 1e-4), seed=seed).limit(n)
        view = f"_segmint_sample_{uuid.uuid4().hex[:8]}"
        picked.createOrReplaceTempView(view)
        return self.ibis.table(view)

    def map_batches(
        self, expr: ir.Table, fn: Callable[[pd.DataFrame], pd.DataFrame], schema: sch.Schema
    ) -> ir.Table:
        from pyspark.sql.pandas.types import from_arrow_schema

        self.ibis._run_pre_execute_hooks(expr)
        df = self.session.sql(self.ibis.compile(expr))
        spark_schema = from_arrow_schema(schema.to_pyarrow())
        names = list(schema.names)

        def batches(frames: Any) -> Any:
            for frame in frames:
                yield fn(frame)[names]

        out = df.mapInPandas(batches, spark_schema)
        view = f"_segmint_mapped_{uuid.uuid4().hex[:8]}"
        out.createOrReplaceTempView(view)
        return self.ibis.table(view)


def _check_format(format: str, path: str) -> None:
    if format not in FORMATS:
        raise InputError(
            f"The engine reads {', '.join(FORMATS)} files; '{path}' was given as {format!r}.",
            fix="convert the file to Parquet or CSV, or import it on the default engine.",
        )


def _local(data: Writable) -> pa.Table:
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    assert isinstance(data, pa.Table)
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
