"""Spark workspaces whose tables live in a catalog the user names (``--spark-catalog``).

The same spec run embedded and on Spark with catalog tables gives the same features and the same
segments; the tables are catalog tables of the named database (Parquet, at the location given),
a failed write leaves them as they were, and a new session finds them again through a
persistent catalog (a local Hive metastore in Derby, in a process of its own: the shared
session's catalog is in memory, and one JVM holds one kind of catalog).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint.cli import app
from segmint.datasets import make_retail
from segmint.exceptions import SpecError, WorkspaceError
from segmint.spec.model import Spec
from segmint.store.spark_catalog import SparkCatalogEngine
from tests.test_spark import _assert_same_features, _assignments

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
DB = "segmint_catalog_test"
#: what the storage must carry through (the methods themselves: tests/test_spark.py)
SEGMENTATIONS = [
    {"name": "rules", "method": "rules", "rules": {"Big spenders": "monetary_total > 300"}},
    {"name": "rfm", "method": "rfm"},
    {"name": "clusters", "method": "kmeans", "k": 3},
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Any:
    """(embedded ws, its output, catalog ws, its output, the database's folder)."""
    tmp = tmp_path_factory.mktemp("catalog")
    files = make_retail(300, seed=11).to_files(tmp / "data", "parquet")
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders")]
    spec = Spec.model_validate({"sources": sources, "segmentations": SEGMENTATIONS})
    duck = segmint.Workspace(tmp / "duck.duckdb")
    out_duck = run_pipeline(duck, spec, out_dir=tmp / "report-duckdb")
    lake = tmp / "lake"
    ews = segmint.Workspace.spark(spark, tmp / "spark", warehouse=str(lake), catalog=DB)
    out_spark = ews.run(spec, out_dir=tmp / "report-spark")
    return duck, out_duck, ews, out_spark, lake


def test_catalog_run_equals_the_embedded_run(shop):
    duck, out_duck, ews, out_spark, _lake = shop
    _assert_same_features(duck, ews)
    a = _assignments(duck.table("segment_assignments"), out_duck.run_id)
    b = _assignments(ews.table("segment_assignments"), out_spark.run_id)
    assert set(a.index.get_level_values(0)) == {s["name"] for s in SEGMENTATIONS}
    assert a.index.equals(b.index)
    assert (a["segment"].astype(str) == b["segment"].astype(str)).all()
    assert (a["segment_name"].astype(str) == b["segment_name"].astype(str)).all()


def test_tables_are_catalog_tables(shop, spark):
    """Every data table is a Parquet table of the named database, its files at the location
    given; no Parquet folders in the workspace and no staged tables left behind."""
    _duck, _out, ews, _out_spark, lake = shop
    listed = {t.name for t in spark.catalog.listTables(DB) if not t.isTemporary}
    assert listed == set(ews.tables())
    assert {"orders", "customers", "customer_features", "segment_assignments"} <= listed
    assert not (ews.path / "tables").exists()
    detail = spark.sql(f"DESCRIBE TABLE EXTENDED {DB}.segment_assignments").collect()
    info = {r["col_name"]: r["data_type"] for r in r_rows(detail)}
    assert info["Provider"] == "parquet"
    assert Path(info["Location"].removeprefix("file:")) == (lake / "segment_assignments")
    assert sorted(p.name for p in lake.iterdir()) == sorted(listed)


def r_rows(rows: list[Any]) -> list[Any]:
    return [r for r in rows if r["col_name"] and not r["col_name"].startswith("#")]


def test_failed_write_leaves_tables_as_they_were(shop, spark):
    """All or nothing: a write whose second table fails leaves the first table unchanged and
    drops the staged copies."""
    _duck, _out, ews, _out_spark, lake = shop
    eng = ews.engine
    before = int(ews.table("customers").count().to_pyarrow().as_py())
    bad = eng.ibis.sql("SELECT CAST('x' AS INT) AS y FROM customers")  # fails when written
    with pytest.raises(Exception):  # noqa: B017 - Spark's own error class
        eng.write({"customers": eng.table("customers").limit(3), "orders": bad})
    assert int(ews.table("customers").count().to_pyarrow().as_py()) == before
    left = {t.name for t in spark.catalog.listTables(DB) if not t.isTemporary}
    assert left == set(ews.tables())
    assert sorted(p.name for p in lake.iterdir()) == sorted(left)


def _values(ews: Any, name: str) -> list[int]:
    return sorted(ews.table(name).to_pyarrow().column("x").to_pylist())


def _listed(spark: Any, db: str) -> list[str]:
    return sorted(t.name for t in spark.catalog.listTables(db) if not t.isTemporary)


def test_a_write_replaces_tables_in_place(tmp_path, spark):
    """A second write of a table replaces its rows (the old table is gone from the catalog)."""
    db = "segmint_catalog_swap"
    ews = segmint.Workspace.spark(spark, tmp_path / "w", warehouse=str(tmp_path / "l"), catalog=db)
    ews.engine.write({"t": ews.engine.ibis.sql("SELECT 1 AS x")})
    ews.engine.write({"t": ews.engine.ibis.sql("SELECT 2 AS x UNION ALL SELECT 3 AS x")})
    assert _values(ews, "t") == [2, 3]
    assert _listed(spark, db) == ["t"]


class _RefusesOneRename(SparkCatalogEngine):
    """A catalog that refuses the ``fail_at``-th rename (as Glue refuses every one): the only
    stand-in here, since Spark's own catalogs rename managed tables."""

    fail_at = 4
    calls = 0

    def _rename(self, a: str, b: str) -> None:
        type(self).calls += 1
        if type(self).calls == self.fail_at:
            raise RuntimeError(f"rename {a} refused")
        super()._rename(a, b)


def test_a_refused_rename_puts_the_old_tables_back(tmp_path, spark):
    """Rename 4 (the second table's staged copy) refused: the first table, already swapped,
    gets its old rows back, the second its old table; no staged or old copies remain."""
    db = "segmint_catalog_refused"
    eng = _RefusesOneRename(spark, db, location=str(tmp_path / "l"))
    eng.write({"a": eng.ibis.sql("SELECT 1 AS x"), "b": eng.ibis.sql("SELECT 10 AS x")})
    _RefusesOneRename.calls = 0
    with pytest.raises(WorkspaceError, match="refused to rename"):
        eng.write({"a": eng.ibis.sql("SELECT 2 AS x"), "b": eng.ibis.sql("SELECT 20 AS x")})
    assert _RefusesOneRename.calls > 4  # the swap was undone by renaming back
    assert _listed(spark, db) == ["a", "b"]
    assert eng.table("a").to_pyarrow().column("x").to_pylist() == [1]
    assert eng.table("b").to_pyarrow().column("x").to_pylist() == [10]


def test_the_workspace_remembers_its_catalog(shop, spark):
    """Opened again without the catalog, the workspace finds its catalog tables and its runs;
    named with another catalog, or a folder workspace named with one, it refuses."""
    _duck, _out, ews, out_spark, _lake = shop
    again = segmint.Workspace.spark(spark, ews.path)
    assert again.engine.catalog == DB
    assert {"customer_features", "segment_assignments"} <= set(again.tables())
    assert any(r["run_id"] == out_spark.run_id for r in again.runs())
    with pytest.raises(WorkspaceError, match=f"in the catalog '{DB}'"):
        segmint.Workspace.spark(spark, ews.path, catalog="elsewhere")
    with pytest.raises(SpecError, match=r"DATABASE or CATALOG\.DATABASE"):
        segmint.Workspace.spark(spark, ews.path, catalog="a b")


def _text(output: str) -> str:
    """The CLI's message as one line (the panel's borders and line breaks removed)."""
    return " ".join(output.replace("│", " ").split())


def test_cli_status_with_spark_catalog(shop, tmp_path):
    """`segmint status --engine spark --spark-catalog DB` counts the catalog tables; a
    --spark-catalog without --engine spark, another catalog than the workspace's, or a
    missing workspace exit 2 with the fix."""
    _duck, _out, ews, _out_spark, _lake = shop
    runner = CliRunner()
    args = ["status", "--engine", "spark", "-w", str(ews.path), "--json"]
    done = runner.invoke(app, [*args, "--spark-catalog", DB])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["tables"]["customer_features"] == 300
    done = runner.invoke(app, ["status", "-w", str(tmp_path / "x.duckdb"), "--spark-catalog", DB])
    assert done.exit_code == 2 and "it needs --engine spark" in _text(done.output)
    done = runner.invoke(app, [*args, "--spark-catalog", "other_db"])
    assert done.exit_code == 2 and f"pass --spark-catalog {DB}" in _text(done.output)
    done = runner.invoke(
        app, ["status", "--engine", "spark", "-w", str(tmp_path / "none"), "--spark-catalog", DB]
    )
    assert done.exit_code == 2 and "no Spark workspace" in _text(done.output)


_PERSIST = """
import json, sys
from pathlib import Path
import pandas as pd
import segmint

path, data = Path(sys.argv[1]), sys.argv[2]
conf = {"spark.sql.shuffle.partitions": "2"}
first = segmint.Workspace.spark(conf, path, master="local[1]", catalog="shop")
first.ingest(data, into="orders")
session = first.engine.session
first.close()
session.stop()
second = segmint.Workspace.spark(conf, path, master="local[1]")  # the workspace's record
other = second.engine.session
print(json.dumps({
    "new_session": other is not session,
    "catalog": other.conf.get("spark.sql.catalogImplementation"),
    "tables": second.tables(),
    "orders": second.status()["tables"]["orders"],
}))
"""


def test_a_new_session_finds_the_tables_in_a_persistent_catalog(tmp_path):
    """A local Hive metastore (Derby, inside the workspace folder): after the session that
    wrote the tables stops, a new session finds them by name through the metastore alone."""
    pytest.importorskip("pyspark")
    orders = make_retail(40, seed=3).orders
    data = tmp_path / "orders.parquet"
    orders.to_parquet(data, index=False)
    script = tmp_path / "persist.py"
    script.write_text(textwrap.dedent(_PERSIST), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "ws"), str(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["new_session"] and got["catalog"] == "hive"
    assert got["tables"] == ["orders"] and got["orders"] == len(orders)
    assert (tmp_path / "ws" / "metastore_db").is_dir()
    assert (tmp_path / "ws" / "warehouse" / "shop.db" / "orders").is_dir()
