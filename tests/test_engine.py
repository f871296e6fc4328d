"""The engine interface on DuckDB: the run that Spark does (import, clean, features in the
engine; fit on a sample, assign through Ibis) gives the embedded run's segments on DuckDB too,
so the interface, not Spark, is what the engine run depends on. Runs without Spark."""

from __future__ import annotations

from typing import Any

import ibis
import pytest

import segmint
from segmint._engine_workspace import EngineWorkspace
from segmint._run import run_pipeline
from segmint.datasets import make_retail
from segmint.exceptions import SpecError
from segmint.spec.model import Spec

SEGMENTATIONS = [
    {"name": "rules", "method": "rules", "rules": {"Big spenders": "monetary_total > 300"}},
    {"name": "rfm", "method": "rfm"},
    {"name": "clusters", "method": "kmeans", "k": "auto"},
    {"name": "value", "method": "value"},
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("engine")
    files = make_retail(500, seed=11).to_files(tmp / "data", "parquet")
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders")]
    spec = Spec.model_validate({"sources": sources, "segmentations": SEGMENTATIONS})
    embedded = segmint.Workspace(tmp / "embedded.duckdb")
    out = run_pipeline(embedded, spec, out_dir=tmp / "r1")
    ews = EngineWorkspace(tmp / "engine")  # the engine run on DuckDB
    out_engine = ews.run(spec, out_dir=tmp / "r2")
    return embedded, out, ews, out_engine


def _rows(table: Any, run_id: str) -> Any:
    t = table.filter(table.run_id == run_id).select("segmentation", "customer_id", "segment")
    return t.to_pyarrow().to_pandas().set_index(["segmentation", "customer_id"]).sort_index()


def test_engine_run_on_duckdb_gives_the_embedded_segments(runs):
    embedded, out, ews, out_engine = runs
    a = _rows(embedded.table("segment_assignments"), out.run_id)
    b = _rows(ews.table("segment_assignments"), out_engine.run_id)
    assert a.index.equals(b.index)
    assert (a["segment"].astype(str) == b["segment"].astype(str)).all()


def test_sampled_value_fit_agrees_with_the_engine(runs, tmp_path):
    """Fitted on 150 of 500 customers, every segmentation (value included: its histories are
    the sampled customers') assigns everyone, and the run's own check passes."""
    _embedded, _out, ews, _ = runs
    spec = Spec.model_validate({"segmentations": SEGMENTATIONS})
    out = ews.run(spec, out_dir=tmp_path / "r", sample_size=150, seed=2)
    assert any("sample of 150 of 500" in n for n in out.report.notes)
    rows = ews.table("segment_assignments").filter(ibis._.run_id == out.run_id)
    counts = rows.group_by("segmentation").aggregate(n=rows.count()).to_pyarrow().to_pylist()
    assert {r["segmentation"]: r["n"] for r in counts} == {s["name"]: 500 for s in SEGMENTATIONS}


def test_methods_without_an_engine_formula_are_refused(runs, tmp_path):
    _embedded, _out, ews, _ = runs
    spec = Spec.model_validate({"segmentations": [{"name": "h", "method": "hdbscan"}]})
    with pytest.raises(SpecError, match="cannot assign customers inside Spark"):
        ews.run(spec, out_dir=tmp_path / "r")


def test_write_is_all_or_nothing_on_duckdb(runs):
    _embedded, _out, ews, _ = runs
    before = int(ews.table("customers").count().to_pyarrow().as_py())
    bad = ews.engine.select_sql(ews.table("customers"), ["CAST('x' AS INTEGER) AS y"])
    with pytest.raises(Exception):  # noqa: B017 - DuckDB's own conversion error
        ews.engine.write({"customers": ews.table("customers").limit(3), "orders": bad})
    assert int(ews.table("customers").count().to_pyarrow().as_py()) == before
