"""Spark tables in a catalog the user names (Hive metastore, Unity Catalog, Glue), not folders.

A lakehouse keeps its tables in a catalog: other jobs, notebooks and BI tools find them there
by name. With ``catalog="shop"`` (a database of the session's catalog) or ``"main.shop"``
(catalog.database), :class:`SparkCatalogEngine` writes every data table as a catalog table
(``saveAsTable``, in the session's default table format: Parquet unless
``spark.sql.sources.default`` says otherwise, e.g. ``delta`` where delta-spark is set up), and a
new session finds them again through that catalog. The stages do not change: the tables are
registered as the session's views under their plain names, as the folder engine does.

Writes stay all-or-nothing: every table is first written as a staged table of the same
database, and only when all are written are they swapped in by ``ALTER TABLE … RENAME``; a
failed write drops the staged tables and leaves the old ones. A session segmint starts itself
on a local master gets a local Hive metastore (Derby) inside the workspace folder, so the
catalog outlives the session there too (:func:`catalog_conf`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segmint.exceptions import SpecError, WorkspaceError
from segmint.store.engine import SparkEngine, Writable, _first_line

__all__ = [
    "SparkCatalogEngine",
    "catalog_conf",
    "check_catalog_name",
    "record_catalog",
    "recorded_catalog",
]

#: the file in the workspace folder that says where its tables live (written on creation)
LOCATION_FILE = "spark-tables.json"
#: prefixes of the engine's own transient tables (never listed as workspace tables)
_STAGED, _OLD = "segmint_staged_", "segmint_old_"
_PART = r"[A-Za-z_][A-Za-z0-9_]*"


def check_catalog_name(name: str) -> list[str]:
    """The parts of ``DATABASE`` or ``CATALOG.DATABASE``; SpecError for anything else."""
    if not re.fullmatch(rf"{_PART}(\.{_PART})?", name or ""):
        raise SpecError(
            f"--spark-catalog must be DATABASE or CATALOG.DATABASE (letters, digits, _). "
            f"Got {name!r}.",
            fix="e.g. --spark-catalog segmint or --spark-catalog main.segmint.",
        )
    return name.split(".")


def catalog_conf(path: str | os.PathLike[str], master: str | None) -> dict[str, str]:
    """Settings for a session segmint starts to hold a catalog: Hive support; on a local master
    also a metastore (Derby) and the default warehouse inside the workspace folder ``path``.
    A cluster's own metastore (hive-site.xml, Glue, Unity) is left as its configuration says."""
    conf = {"spark.sql.catalogImplementation": "hive"}
    if (master or "local[*]").startswith("local"):
        root = Path(path).resolve()
        conf["spark.sql.warehouse.dir"] = str(root / "warehouse")
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true"
        )
    return conf


def recorded_catalog(path: str | os.PathLike[str], catalog: str | None) -> str | None:
    """The catalog the workspace at ``path`` keeps its tables in: the one recorded when it was
    created (:func:`record_catalog`), ``catalog`` for a new workspace; an existing one without
    a record holds Parquet folders. WorkspaceError when ``catalog`` names another place."""
    if catalog is not None:
        check_catalog_name(catalog)
    root = Path(path)
    record = root / LOCATION_FILE
    if record.exists():
        kept = json.loads(record.read_text(encoding="utf-8")).get("catalog")
    elif (root / "segmint.duckdb").exists():
        kept = None
    else:
        return catalog
    if catalog is not None and catalog != kept:
        where = f"in the catalog '{kept}'" if kept else "as Parquet folders (no catalog)"
        raise WorkspaceError(
            f"The Spark workspace '{root}' keeps its tables {where}, not in '{catalog}'.",
            fix=(f"pass --spark-catalog {kept}" if kept else "leave out --spark-catalog")
            + ", or give a new --workspace for tables in another catalog.",
        )
    return kept


def record_catalog(path: str | os.PathLike[str], catalog: str) -> None:
    """Note in the workspace folder that its tables are in ``catalog`` (once, on creation)."""
    record = Path(path) / LOCATION_FILE
    if not record.exists():
        record.write_text(json.dumps({"catalog": catalog}) + "\n", encoding="utf-8")


class SparkCatalogEngine(SparkEngine):
    """Tables of the database ``catalog`` (``db`` or ``catalog.db``), views in ``session``.

    ``location``: where a database segmint creates keeps its files (default: the catalog's
    warehouse). ``create`` False: WorkspaceError when the database does not exist.
    """

    def __init__(
        self, session: Any, catalog: str, *, location: str | None = None, create: bool = True
    ):
        import ibis

        self.session = session
        self.catalog = catalog
        self._parts = check_catalog_name(catalog)
        self.ibis = ibis.pyspark.connect(session)
        self._known: set[str] = set()
        self._ensure_database(location, create)
        for name in self._catalog_tables():
            self._register(name)

    @property
    def format(self) -> str:
        """The table format new tables get (the session's ``spark.sql.sources.default``)."""
        return str(self.session.conf.get("spark.sql.sources.default", "parquet"))

    def _q(self, name: str | None = None) -> str:
        parts = [*self._parts, name] if name else self._parts
        return ".".join(f"`{p}`" for p in parts)

    def _ensure_database(self, location: str | None, create: bool) -> None:
        if self.session.catalog.databaseExists(self.catalog):
            return
        if not create:
            raise WorkspaceError(
                f"The session's catalog has no database '{self.catalog}'.",
                fix="check --spark-catalog and the metastore the session uses (--spark-conf), "
                "or run segmint run --engine spark --spark-catalog NAME FILE first.",
            )
        quoted = (location or "").replace("\\", "\\\\").replace("'", "\\'")
        where = f" LOCATION '{quoted}'" if location else ""
        try:
            self.session.sql(f"CREATE DATABASE IF NOT EXISTS {self._q()}{where}")
        except Exception as exc:  # Spark's own error classes: no permission, unknown catalog
            raise WorkspaceError(
                f"Spark could not create the database '{self.catalog}': {_first_line(exc)}",
                fix="create it yourself (CREATE DATABASE …) or name one you may write to.",
            ) from None

    def _names(self) -> list[str]:
        """Every table of the database, the engine's transient ones included."""
        return [t.name for t in self.session.catalog.listTables(self.catalog) if not t.isTemporary]

    def _catalog_tables(self) -> list[str]:
        return sorted(n for n in self._names() if not n.startswith(("_", _STAGED, _OLD)))

    def _register(self, name: str) -> None:
        self.session.table(self._q(name)).createOrReplaceTempView(name)
        self._known.add(name)

    def write(self, tables: Mapping[str, Writable]) -> None:
        token = uuid.uuid4().hex[:12]
        staged = {name: f"{_STAGED}{token}_{name}" for name in tables}
        try:
            for name, data in tables.items():
                self._frame(data).write.format(self.format).saveAsTable(self._q(staged[name]))
        except BaseException:
            self._drop_quietly(staged.values())
            raise
        self._swap(tables, staged, token)
        for name in tables:
            self._register(name)

    def _swap(self, tables: Mapping[str, Writable], staged: dict[str, str], token: str) -> None:
        """Every staged table in: old → ``segmint_old_…``, staged → live; old ones dropped after.
        A rename the catalog refuses puts back what was swapped so far."""
        old: dict[str, str] = {}
        done: list[str] = []
        live = set(self._catalog_tables())
        try:
            for name in tables:
                if name in live:
                    old[name] = f"{_OLD}{token}_{name}"
                    self._rename(name, old[name])
                self._rename(staged[name], name)
                done.append(name)
        except Exception as exc:
            present = set(self._names())
            for name in tables:
                if name in done:
                    self._drop_quietly([name])
                    present.discard(name)
                if name in old and old[name] in present and name not in present:
                    self._rename(old[name], name)
            self._drop_quietly([staged[n] for n in tables if n not in done])
            for name in set(tables) & set(self._catalog_tables()):
                self._register(name)  # the view reads the old table's files again
            raise WorkspaceError(
                f"The catalog '{self.catalog}' refused to rename a table: {_first_line(exc)}",
                fix="segmint swaps tables in by ALTER TABLE … RENAME; use a catalog that can "
                "rename managed tables (Hive metastore, Unity Catalog), or leave out "
                "--spark-catalog for Parquet folders.",
            ) from None
        self._drop_quietly(old.values())

    def _rename(self, a: str, b: str) -> None:
        self.session.sql(f"ALTER TABLE {self._q(a)} RENAME TO {self._q(b)}")

    def _drop_quietly(self, names: Any) -> None:
        for name in names:  # cleanup after an error: it must not hide that error
            with contextlib.suppress(Exception):
                self.session.sql(f"DROP TABLE IF EXISTS {self._q(name)}")

    def drop(self, *names: str) -> None:
        for name in names:
            self.session.sql(f"DROP TABLE IF EXISTS {self._q(name)}")
            self.session.catalog.dropTempView(name)
            self._known.discard(name)
