"""Where Splink runs: a private in-memory DuckDB, or the user's Spark session.

Splink creates dozens of ``__splink__*`` work tables, so it never runs on the workspace's
own connection. On one machine it gets a private in-memory DuckDB; on Spark it works in the
session it is given, where its tables are temporary views (persisted DataFrames, or Parquet
under the session's checkpoint directory when one is set), and this backend's own tables
carry a per-linker prefix so that two linkers in one session never meet. Closing drops
them all. The linkage code asks only for what differs between the two (this module's small
interface, after Splink's ``DatabaseAPI``): load a table, create one from SQL, read rows,
close. Its SQL is written to mean the same on both (``CAST(x AS STRING)``, no parameters).

Splink's string comparisons on Spark (Jaro-Winkler, Damerau-Levenshtein) are Scala UDFs in
a jar Splink ships. A session started without it on its class path gets it through
``ADD JAR``, which works on a running session, local or on a cluster (Spark sends an added
jar to the executors); a session that refuses it (e.g. a locked-down cluster) gets a
WorkspaceError naming the jar and the ``spark.jars`` setting to start the session with.
"""

from __future__ import annotations

import uuid
import warnings
from abc import ABC, abstractmethod
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["DuckDBBackend", "SparkBackend", "SplinkBackend", "backend", "similarity_jar"]


class SplinkBackend(ABC):
    """What the linkage needs from an engine besides Splink's own ``DatabaseAPI``."""

    #: the engine's name, as Splink's settings spell the SQL dialect
    dialect: str
    #: Splink's ``DatabaseAPI`` on this engine
    api: Any

    def name(self, logical: str) -> str:
        """The engine's name for one of this linker's tables (``prepared``, ``new_records``)."""
        return logical

    @abstractmethod
    def load(self, logical: str, table: pa.Table) -> None:
        """``table`` (Arrow, from the driver) as the table ``logical``."""

    @abstractmethod
    def create(self, logical: str, sql: str) -> None:
        """The result of ``sql`` as the table ``logical`` (replacing one of that name)."""

    @abstractmethod
    def rows(self, sql: str) -> pa.Table:
        """A query's rows, read whole onto the driver (counts and scored pairs only)."""

    def scalar(self, sql: str) -> Any:
        """The first value of a one-row query."""
        out = self.rows(sql)
        return out.column(0)[0].as_py() if out.num_rows else None

    @abstractmethod
    def close(self) -> None:
        """Drop every table this linker made."""


class DuckDBBackend(SplinkBackend):
    """A private in-memory DuckDB (its tables vanish with the connection)."""

    dialect = "duckdb"

    def __init__(self) -> None:
        from splink import DuckDBAPI

        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.api = DuckDBAPI(connection=self.con)

    def load(self, logical: str, table: pa.Table) -> None:
        self.con.register("_segmint_upload", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {logical} AS SELECT * FROM _segmint_upload")
        finally:
            self.con.unregister("_segmint_upload")

    def create(self, logical: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {logical} AS {sql}")

    def rows(self, sql: str) -> pa.Table:
        # read whole through execute: DuckDB 2 refuses new work while a result is open
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
            table: pa.Table = self.con.execute(sql).to_arrow_table()
        return table

    def close(self) -> None:
        self.con.close()


class SparkBackend(SplinkBackend):
    """The user's SparkSession; this linker's tables are temp views with its own prefix."""

    dialect = "spark"

    def __init__(self, spark: Any) -> None:
        from splink import SparkAPI

        self.spark = spark
        self.prefix = f"segmint_identity_{uuid.uuid4().hex[:10]}_"
        self.views: set[str] = set()
        self.before = _splink_views(spark)
        _ensure_similarity_udfs(spark)
        # Parquet under the checkpoint directory when the session has one (what Splink
        # recommends at scale); else persisted DataFrames, released on close
        has_dir = not spark.sparkContext._jsc.sc().getCheckpointDir().isEmpty()
        self.api = SparkAPI(
            spark_session=spark,
            break_lineage_method="parquet" if has_dir else "persist",
            register_udfs_automatically=False,
        )

    def name(self, logical: str) -> str:
        return self.prefix + logical

    def load(self, logical: str, table: pa.Table) -> None:
        self._view(logical, self.spark.createDataFrame(table))

    def load_frame(self, logical: str, frame: Any) -> None:
        """A Spark DataFrame (it stays in the cluster) as the table ``logical``."""
        self._view(logical, frame)

    def create(self, logical: str, sql: str) -> None:
        # persisted: Splink and the counts read the prepared records many times, and the
        # query under them may be costly (a scan, the normalising SQL); released on close
        self._view(logical, self.spark.sql(sql).persist())

    def _view(self, logical: str, frame: Any) -> None:
        frame.createOrReplaceTempView(self.name(logical))
        self.views.add(self.name(logical))

    def rows(self, sql: str) -> pa.Table:
        table: pa.Table = self.spark.sql(sql).toArrow()
        return table

    def close(self) -> None:
        # dropping a temp view also releases its cached data; Splink leaves some of its
        # views behind (e.g. the u counts), so every ``__splink__`` view made since this
        # backend started goes too (two linkers running at once in one session would need
        # a session each)
        self.api.delete_tables_created_by_splink_from_db()
        for view in sorted(self.views | (_splink_views(self.spark) - self.before)):
            self.spark.catalog.dropTempView(view)
        self.views.clear()


def _splink_views(spark: Any) -> set[str]:
    return {t.name for t in spark.catalog.listTables() if t.isTemporary and
            t.name.startswith("__splink__")}  # fmt: skip


def backend(spark: Any = None) -> SplinkBackend:
    """Splink's engine: the given SparkSession, else a private in-memory DuckDB."""
    return SparkBackend(spark) if spark is not None else DuckDBBackend()


def similarity_jar() -> str:
    """The path of the jar with Splink's Spark similarity functions (for ``spark.jars``)."""
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def _ensure_similarity_udfs(spark: Any) -> None:
    """Register Splink's Scala similarity functions, adding Splink's jar first if needed."""
    from splink.internals.spark.jar_location import get_scala_udfs

    def register() -> None:
        for udf in get_scala_udfs():
            spark.udf.registerJavaFunction(*udf)

    try:
        register()
        return
    except Exception:  # the class is not on the session's class path yet
        pass
    jar = similarity_jar()
    try:
        spark.sql(f"ADD JAR '{jar}'")
        register()
    except Exception as exc:
        from segmint.exceptions import WorkspaceError

        raise WorkspaceError(
            "Identity resolution on Spark needs Splink's similarity functions (Jaro-Winkler, "
            f"Damerau-Levenshtein), and this Spark session could not load them: {exc}"[:600],
            where=jar,
            fix=f"start the session with spark.jars={jar} (or install that jar on the "
            "cluster), or link on one machine (leave out the Spark session).",
        ) from None
