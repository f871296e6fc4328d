"""``segmint update`` (issue 13): appending new lines and re-scoring with the stored models
gives what a full re-run that only predicts gives.

The reference is independent of the update's code path: a second workspace imports every
file at once, builds its features from scratch (``Workspace.features``) and scores them with
the first workspace's stored models loaded from JSON. Both the feature tables and every
customer's segment must agree, for RFM, k-means, rules and value tiers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.segment.models import model_from_json

CUT = pd.Timestamp("2024-11-15")
SPEC = """\
segmentations:
  - {name: rfm, method: rfm}
  - {name: clusters, method: kmeans, k: 4}
  - name: tiers
    method: rules
    rules:
      Big spenders: monetary_total > 1500
      Regulars: frequency >= 4
  - {name: value, method: value}
"""


def _cli(*args: str, code: int = 0) -> str:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert r.exit_code == code, r.output
    return r.output


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("update")
    s = segmint.datasets.make_retail(1500, seed=21)
    o = s.orders
    files: dict[str, Any] = {
        "customers": d / "customers.csv",
        "old": d / "orders_old.csv",
        "new": d / "orders_new.csv",
        "spec": d / "spec.yaml",
    }
    s.customers.to_csv(files["customers"], index=False)
    o[o.ordered_at <= CUT].to_csv(files["old"], index=False)
    new = o[o.ordered_at > CUT]
    # a repeated line from the old file and the new customers' signups stay realistic:
    # the old file's last line again (clean drops it), and the new file as exported
    pd.concat([new, o[o.ordered_at <= CUT].tail(1)]).to_csv(files["new"], index=False)
    files["spec"].write_text(SPEC)
    ws = str(d / "w.duckdb")
    _cli("ingest", str(files["customers"]), "--as", "customers", "-w", ws)
    _cli("ingest", str(files["old"]), "--as", "orders", "-w", ws)
    _cli("run", "--spec", str(files["spec"]), "-w", ws, "--out", str(d / "r1"))
    out = _cli("update", str(files["new"]), "--as", "orders", "-w", ws, "--json", str(d / "u.json"))
    return files | {"ws": Path(ws), "json": d / "u.json", "output": out}


def test_update_matches_a_full_rerun_that_only_predicts(
    shop: dict[str, Any], tmp_path: Path
) -> None:
    done = json.loads(shop["json"].read_text())
    assert done["refit"] == "never" and done["features"]["incremental"], done["features"]
    assert 0 < done["features"]["rebuilt"] < done["features"]["customers"]
    ref = segmint.Workspace(tmp_path / "ref.duckdb")
    ref.ingest(shop["customers"], into="customers")
    ref.ingest(shop["old"], into="orders")
    ref.ingest(shop["new"], into="orders")
    ref.clean()
    with segmint.Workspace(shop["ws"], read_only=True) as ws:
        as_of = ws.runs()[-1]["spec"]["as_of"]
        full = ref.features(as_of=as_of).to_pandas().set_index("customer_id").sort_index()
        got = ws.table("customer_features").to_pandas().set_index("customer_id").sort_index()
        pd.testing.assert_frame_equal(got, full, check_exact=False, rtol=1e-9)
        db = ws.store.db
        base, cur = done["base_run"], done["run_id"]
        models = dict(
            db.execute(
                "SELECT segmentation, model FROM segment_models WHERE run_id = ?", [base]
            ).fetchall()
        )
        assigned = db.execute(
            "SELECT segmentation, customer_id, segment FROM segment_assignments WHERE run_id = ?",
            [cur],
        ).df()
    summary = ref.value_summary(as_of, unit="weeks")
    for name, text in models.items():
        est = model_from_json(json.loads(text))
        if name == "value":
            expected = est.predict(summary).reindex(full.index).fillna("No purchases yet")
        else:
            expected = est.predict(full)
        mine = assigned[assigned.segmentation == name].set_index("customer_id")["segment"]
        both = expected.astype(str).reindex(mine.index)
        assert len(mine) == len(full), name
        assert (both == mine).all(), (name, (both != mine).sum())
    ref.close()


def test_update_refuses_a_file_imported_before_and_imports_nothing(shop: dict[str, Any]) -> None:
    with segmint.Workspace(shop["ws"], read_only=True) as ws:
        runs = len(ws.runs())
    out = _cli("update", str(shop["new"]), "--as", "orders", "-w", str(shop["ws"]), code=2)
    assert "already imported" in out and "nothing was imported" in out
    with segmint.Workspace(shop["ws"], read_only=True) as ws:
        assert len(ws.runs()) == runs


def test_update_summary_says_what_it_did(shop: dict[str, Any]) -> None:
    out = shop["output"]
    assert "re-scored with the stored models" in out
    assert "feature rows rebuilt" in out


def test_update_needs_a_segment_run(tmp_path: Path) -> None:
    s = segmint.datasets.make_retail(50, seed=1)
    f = tmp_path / "o.csv"
    s.orders.to_csv(f, index=False)
    ws = str(tmp_path / "w.duckdb")
    _cli("ingest", str(f), "-w", ws)
    g = tmp_path / "o2.csv"
    s.orders.head(5).assign(order_id=lambda x: x.order_id + "-2").to_csv(g, index=False)
    out = _cli("update", str(g), "-w", ws, code=2)
    assert "segmint run" in out


def test_refit_auto_refits_when_a_used_feature_drifted(tmp_path: Path) -> None:
    """Half a year later only 30 % of the customers bought again: recency drifts, RFM reads
    it, so ``--refit auto`` refits (a full run with its report); ``never`` would not."""
    shop = segmint.datasets.make_retail(600, seed=9)
    o = shop.orders
    rng = np.random.default_rng(9)
    again = set(shop.customers.customer_id[rng.random(len(shop.customers)) < 0.3])
    t1 = pd.Timestamp("2024-06-30")
    late = o[(o.ordered_at > t1) & o.customer_id.isin(again)]
    old_f, new_f = tmp_path / "old.csv", tmp_path / "new.csv"
    o[o.ordered_at <= t1].to_csv(old_f, index=False)
    late.to_csv(new_f, index=False)
    spec = tmp_path / "rfm.yaml"
    spec.write_text("segmentations:\n  - {name: rfm, method: rfm}\n")
    ws = str(tmp_path / "w.duckdb")
    _cli("ingest", str(old_f), "--as", "orders", "-w", ws)
    _cli("run", "--spec", str(spec), "-w", ws, "--out", str(tmp_path / "r1"))
    out = _cli(
        "update", str(new_f), "--as", "orders", "--refit", "auto", "-w", ws,
        "--out", str(tmp_path / "r2"), "--json", str(tmp_path / "u.json"),
    )  # fmt: skip
    done = json.loads((tmp_path / "u.json").read_text())
    assert done["refit"] == "refitted", done
    assert "recency_days" in done["refit_reason"]
    assert (tmp_path / "r2" / "report.html").exists()
    assert "Refitted" in out
    drifted = {f["feature"] for f in done["monitoring"]["features"] if f["drifted"]}
    assert "recency_days" in drifted


def test_refit_always_and_profile(shop: dict[str, Any], tmp_path: Path) -> None:
    """``always`` refits whatever the data; ``--profile`` recomputes the profiles of the
    re-scored segments (sizes in the result match the stored assignments)."""
    ws = tmp_path / "w.duckdb"
    shutil.copyfile(shop["ws"], ws)
    extra = tmp_path / "more.csv"
    s = segmint.datasets.make_retail(40, seed=77).orders
    s.assign(order_id="P-" + s.order_id, customer_id="P-" + s.customer_id).to_csv(
        extra, index=False
    )
    with segmint.Workspace(ws) as w:
        done = w.update([extra], into="orders", profile=True)
        assert done.refit == "never"
        db = w.store.db
        sizes = dict(db.execute(
            "SELECT segment, count(*) FROM segment_assignments WHERE run_id = ? "
            "AND segmentation = 'rfm' GROUP BY 1", [done.run_id]).fetchall())  # fmt: skip
        result = json.loads(db.execute(
            "SELECT result FROM segmentations WHERE run_id = ? AND name = 'rfm'",
            [done.run_id]).fetchone()[0])  # fmt: skip
        profiled = {p["label"]: p["size"] for p in result["profiles"]["segments"]}
        assert profiled == {k: v for k, v in sizes.items() if k in profiled}
        assert not any("Re-scored by `segmint update`" in w_ for w_ in result["warnings"])
        again = tmp_path / "again.csv"
        s.assign(order_id="Q-" + s.order_id, customer_id="Q-" + s.customer_id).to_csv(
            again, index=False
        )
        refit = w.update([again], into="orders", refit="always", out_dir=tmp_path / "rep")
        assert refit.refit == "refitted" and refit.run_id != done.run_id
