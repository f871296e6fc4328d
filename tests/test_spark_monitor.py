"""`segmint monitor` on a Spark workspace equals the embedded monitor on the same two runs.

The sample shop (600 customers, Parquet) is segmented twice on each engine: half a year apart
(as of 2024-06-30, then as of the last order), so features drift and customers move. The
Spark runs keep their feature snapshots in the engine, and the comparison (drift statistics,
migration matrix, sizes, centroid shift, alerts) is computed there; it must equal the embedded
workspace's: counts exactly, statistics to 1e-9. The command finds the Spark workspace again
(exit 0), and a folder that is none or an unknown engine is refused (exit 2).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint.cli import app
from segmint.datasets import make_retail
from segmint.monitor.engine import EngineTables
from segmint.spec.model import Spec

pytestmark = pytest.mark.spark

SEGMENTATIONS = [
    {
        "name": "rules",
        "method": "rules",
        "rules": {"Big spenders": "monetary_total > 300", "Recent": "recency_days <= 60"},
    },
    {"name": "clusters", "method": "kmeans", "k": 3},
]  # fmt: skip (k-means: its labels must stay the same segments from run to run on Spark too)
#: the first run's as-of date; the second run is as of the last order (2024-12-31)
EARLIER = "2024-06-30"
TOL = 1e-9


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> tuple[Any, Any]:
    """(embedded workspace, Spark workspace), each with the same two segment runs."""
    tmp = tmp_path_factory.mktemp("spark-monitor")
    files = make_retail(600, seed=7).to_files(tmp / "data", "parquet")
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders")]
    first = Spec.model_validate(
        {"sources": sources, "features": {"as_of": EARLIER}, "segmentations": SEGMENTATIONS}
    )
    second = Spec.model_validate({"segmentations": SEGMENTATIONS})  # the data is there
    duck = segmint.Workspace(tmp / "duck.duckdb")
    ews = segmint.Workspace.spark(spark, tmp / "spark")
    for i, spec in enumerate((first, second)):
        run_pipeline(duck, spec, out_dir=tmp / f"duck-{i}")
        ews.run(spec, out_dir=tmp / f"spark-{i}")
    yield duck, ews
    duck.close()


def _close(a: Any, b: Any, where: str) -> None:
    """Equal, numbers to 1e-9 (absolute, or relative for large ones), recursively."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} ≠ {b}"
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {a} ≠ {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, int | float), f"{where}: {a} ≠ {b}"
        assert math.isclose(a, b, rel_tol=TOL, abs_tol=TOL) or (math.isnan(a) and math.isnan(b)), (
            f"{where}: {a} ≠ {b}"
        )
    else:
        assert a == b, f"{where}: {a!r} ≠ {b!r}"


def test_the_spark_run_keeps_its_features_in_the_engine(runs):
    """Each segment run's snapshot is a copy in the engine, equal to the embedded snapshot."""
    duck, ews = runs
    snaps = [t for t in ews.tables() if t.startswith("feature_snapshot_")]
    assert len(snaps) == 2, ews.tables()
    d_runs = [r["run_id"] for r in duck.runs() if r["kind"] == "segment"]
    s_runs = [r["run_id"] for r in ews.runs() if r["kind"] == "segment"]
    for d, s in zip(d_runs, s_runs, strict=True):
        a = duck.feature_snapshot(d).to_pyarrow().to_pandas().set_index("customer_id")
        b = EngineTables(ews.store, ews.engine).snapshot(s)
        b = b.to_pyarrow().to_pandas().set_index("customer_id")
        assert list(a.columns) == list(b.columns)
        assert a.index.sort_values().equals(b.index.sort_values())
        assert (
            a["monetary_total"]
            .sort_index()
            .round(9)
            .equals(b["monetary_total"].sort_index().round(9))
        )


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["monitor", *args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def compared(
    runs: tuple[Any, Any], spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The latest run against the one before on each workspace: ``embedded``; ``python``, by
    the Python example of docs/monitoring.md (``EngineWorkspace.monitor``) run as written in
    a folder holding the Spark workspace as ``shop-spark``, and what it printed; ``cli``,
    the JSON `segmint monitor --engine spark` wrote, with the command's result and page."""
    duck, ews = runs
    tmp = tmp_path_factory.mktemp("spark-monitor-out")
    (tmp / "shop-spark").symlink_to(Path(ews.path).resolve())
    out, page = tmp / "monitor.json", tmp / "monitor.html"
    done = _cli("--engine", "spark", "-w", str(ews.path), "--json", str(out), "--html", str(page))
    text = (Path(__file__).resolve().parents[1] / "docs" / "monitoring.md").read_text()
    section = text.split("## Comparing runs on Spark", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    here, printed = os.getcwd(), io.StringIO()
    scope: dict[str, Any] = {"spark": spark}
    try:
        os.chdir(tmp)
        with contextlib.redirect_stdout(printed):
            exec(compile(example, "docs/monitoring.md", "exec"), scope)
    finally:
        os.chdir(here)
    return {
        "embedded": _json(duck.monitor().to_dict()),
        "python": _json(scope["m"].to_dict()),
        "printed": printed.getvalue(),
        "cli": json.loads(out.read_text()) if out.exists() else None,
        "done": done,
        "page": page,
    }


def _json(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data, default=str))


def test_monitor_on_spark_equals_the_embedded_monitor(compared):
    """Drift statistics to 1e-9, the same migration matrix, sizes, names and alerts."""
    a, b = _json(compared["embedded"]), _json(compared["python"])  # copies: keys are popped
    assert compared["printed"].strip() == str([x["message"] for x in b["alerts"]])
    assert [f["feature"] for f in a["features"]] == [f["feature"] for f in b["features"]]
    _close(a["features"], b["features"], "features")
    for x, y in zip(a["segmentations"], b["segmentations"], strict=True):
        for key in ("baseline", "current"):
            x.pop(key), y.pop(key)  # run ids differ between the workspaces
    _close(a["segmentations"], b["segmentations"], "segmentations")
    _close(a["alerts"], b["alerts"], "alerts")
    # the data changed between the runs, so the comparison has something to show
    assert any(f["drifted"] for f in b["features"])
    rules = b["segmentations"][0]
    assert rules["name"] == "rules" and 0 < rules["stayed"] < rules["customers_in_both"]
    for s in b["segmentations"]:
        assert (
            sum(n for row in s["migration"].values() for n in row.values())
            == (s["customers_in_both"])
        )
    # the clusters' labels equal the embedded run's: the Spark run kept stable segment ids


def test_cli_monitor_on_the_spark_workspace(runs, compared, tmp_path):
    """`segmint monitor --engine spark` exits 0 with the JSON Python gives, and writes the
    page; a folder that is no Spark workspace, or an unknown engine, exits 2 with the fix and
    no traceback."""
    _duck, ews = runs
    done, b = compared["done"], compared["cli"]
    assert done.exit_code == 0, done.output
    assert b == compared["python"]
    assert f"Run {b['current']} compared with {b['baseline']}" in done.output
    assert b["current"] in compared["page"].read_text()
    missing = _cli("--engine", "spark", "-w", str(tmp_path / "none"))
    assert missing.exit_code == 2
    assert "There is no Spark workspace" in missing.output and "Traceback" not in missing.output
    wrong = _cli("--engine", "flink", "-w", str(ews.path))
    assert wrong.exit_code == 2 and "--engine must be one of duckdb, spark" in wrong.output


def test_monitor_before_two_runs_is_refused(spark, tmp_path):
    """A Spark workspace without segment runs says what to run (MonitorError), no traceback."""
    from segmint.exceptions import MonitorError

    ews = segmint.Workspace.spark(spark, tmp_path / "empty")
    with pytest.raises(MonitorError, match="no segment runs yet"):
        ews.monitor()
    done = _cli("--engine", "spark", "-w", str(Path(ews.path)))
    ews.close()
    assert done.exit_code == 2 and "no segment runs yet" in done.output
