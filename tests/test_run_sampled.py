"""The embedded run above its sample size: fitted and profiled on a sample, every customer
assigned inside DuckDB (segmint/_run/_large.py), into the workspace's usual tables."""

from __future__ import annotations

from typing import Any

import pytest

import segmint
from segmint._run import run_pipeline
from segmint.datasets import make_retail
from segmint.spec.model import Spec
from tests.test_engine import SEGMENTATIONS  # the engine run's: rules, RFM, k-means, value


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("sampled")
    files = make_retail(600, seed=5).to_files(tmp / "data", "parquet")
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders")]
    spec = Spec.model_validate({"sources": sources, "segmentations": SEGMENTATIONS})
    full = segmint.Workspace(tmp / "full.duckdb")
    out_full = run_pipeline(full, spec, out_dir=tmp / "r1")
    ws = segmint.Workspace(tmp / "sampled.duckdb")
    out = run_pipeline(ws, spec, out_dir=tmp / "r2", sample_size=250)
    return full, out_full, ws, out


def _labels(ws: Any, run_id: str, seg: str) -> Any:
    rows = ws.store.db.execute(
        "SELECT customer_id, segment, segment_name FROM segment_assignments "
        "WHERE run_id = ? AND segmentation = ? ORDER BY customer_id",
        [run_id, seg],
    ).fetchdf()
    return rows.set_index("customer_id")


def test_every_customer_is_assigned_and_the_report_says_it_was_a_sample(runs):
    full, out_full, ws, out = runs
    population = len(full.table("customer_features").to_pyarrow())
    assert population > 250
    assert any(f"sample of 250 of {population:,}" in n for n in out.report.notes)
    for s in SEGMENTATIONS:
        got = _labels(ws, out.run_id, s["name"])
        assert len(got) == len(_labels(full, out_full.run_id, s["name"])) == population
        assert got["segment_name"].notna().all()
    seg = {s.name: s for s in out.report.segmentations}
    assert all(s.n_customers == population for s in seg.values())


def test_rules_give_the_full_runs_labels(runs):
    """Rules do not depend on the sample: every customer gets the full run's segment."""
    full, out_full, ws, out = runs
    a, b = _labels(full, out_full.run_id, "rules"), _labels(ws, out.run_id, "rules")
    assert (a["segment"] == b["segment"]).all()


def test_values_and_the_feature_snapshot_are_kept(runs):
    _full, _out_full, ws, out = runs
    n = ws.store.db.execute(
        "SELECT count(*) FROM customer_values WHERE run_id = ?", [out.run_id]
    ).fetchone()
    assert n is not None and n[0] > 0
    snap = ws.feature_snapshot(out.run_id).count().to_pyarrow().as_py()
    assert snap == len(ws.table("customer_features").to_pyarrow())


def test_a_second_sampled_run_keeps_the_cluster_ids(runs, tmp_path):
    _full, _out_full, ws, out = runs
    spec = Spec.model_validate({"segmentations": SEGMENTATIONS})
    again = run_pipeline(ws, spec, out_dir=tmp_path / "r3", sample_size=250)
    a, b = _labels(ws, out.run_id, "clusters"), _labels(ws, again.run_id, "clusters")
    assert (a["segment"] == b["segment"]).mean() > 0.95
