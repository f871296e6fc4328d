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


def test_duckdb_sample_is_seeded_whole_rows_from_the_whole_table(tmp_path):
    """The sampled run's draw (a reservoir over the ids, then their rows): n whole rows,
    ordered by id, the same for the same seed, from every part of a table of many row groups;
    every row when the table is not larger than n."""
    from segmint.store.engine import DuckDBEngine

    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.store.db.execute(
        "CREATE TABLE people AS SELECT 'c' || lpad(range::VARCHAR, 7, '0') AS customer_id, "
        "range AS pos, range::DOUBLE * 0.5 AS x, 'city ' || (range % 7) AS city "
        "FROM range(300000)"
    )
    engine = DuckDBEngine(ws.store)
    table = engine.table("people")
    rows, total = engine.sample(table, 20_000, seed=3)
    again, _ = engine.sample(table, 20_000, seed=3)
    other, _ = engine.sample(table, 20_000, seed=4)
    assert total == 300_000 and rows.num_rows == 20_000
    assert rows.equals(again) and not rows.equals(other)
    frame = rows.to_pandas()
    assert frame.customer_id.is_monotonic_increasing and frame.customer_id.is_unique
    whole = ws.store.db.execute("SELECT * FROM people ORDER BY customer_id").df()
    expected = whole[whole.customer_id.isin(frame.customer_id)].reset_index(drop=True)
    assert frame.equals(expected)  # whole rows, exactly as stored
    thirds = frame.pos // 100_000
    assert thirds.value_counts().min() > 20_000 / 3 * 0.8  # drawn from the whole table
    everyone, n = engine.sample(table.limit(500), 20_000, seed=3)
    assert n == 500 and everyone.num_rows == 500
    ws.close()
