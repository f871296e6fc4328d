"""`segmint run` end to end: zero config and with a spec; results stored and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("shop")
    return segmint.datasets.make_retail(800, seed=3).to_files(d, format="csv")


def flat(text: str) -> str:
    return " ".join(text.split())


def test_zero_config_run_on_one_orders_file(shop, tmp_path):
    ws = tmp_path / "w.duckdb"
    out = tmp_path / "report"
    r = runner.invoke(app, ["run", str(shop["orders"]), "-w", str(ws), "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = flat(r.output)
    assert "rfm (rfm" in text and "clusters (kmeans" in text and "report.html" in text
    data = json.loads((out / "report.json").read_text())
    names = [s["name"] for s in data["segmentations"]]
    assert names == ["rfm", "clusters", "value"]
    clusters = data["segmentations"][1]
    assert clusters["k_curve"] and clusters["chosen_k"] >= 2
    sizes = sum(p["size"] for p in clusters["profiles"]["segments"])
    assert sizes == clusters["n_customers"] == 800
    html = (out / "report.html").read_text()
    assert html.count("<html") == 1
    assert "<script src=" not in html and "<link" not in html  # opens offline
    with segmint.Workspace(ws) as w:
        runs = w.runs()
        assert [r["kind"] for r in runs] == ["ingest", "clean", "features", "segment"]
        a = w.table("segment_assignments").to_pandas()
        values = w.table("customer_values").to_pandas()
    assert set(a.segmentation) == {"rfm", "clusters", "value"}
    assert len(values) == values.customer_id.nunique() > 700  # buyers, one row each
    assert {"run_id", "expected_purchases", "p_alive", "expected_aov", "clv"} <= set(values)
    assert a.groupby("segmentation").customer_id.nunique().to_dict() == {
        "rfm": 800,
        "clusters": 800,
        "value": 800,
    }
    # a second run skips the already-imported file and adds a new segment run
    r = runner.invoke(app, ["run", str(shop["orders"]), "-w", str(ws), "--out", str(out)])
    assert r.exit_code == 0, r.output
    with segmint.Workspace(ws) as w:
        kinds = [r["kind"] for r in w.runs()]
    assert kinds.count("ingest") == 1 and kinds.count("segment") == 2


def test_spec_run_with_rules_and_overrides(shop, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "sources:\n"
        f"  - {{path: {shop['customers']}, as: customers}}\n"
        f"  - {{path: {shop['orders']}, as: orders}}\n"
        "segmentations:\n"
        "  - name: lifestyle\n    method: rules\n    rules:\n"
        "      Young Professionals: age between 22 and 35 and income > 50000\n"
        "      Families: children > 0\n"
        "names:\n  lifestyle: {Families: Parents}\n"
        "targeting:\n  lifestyle: {Families: {goal: grow, channel: sms}}\n"
    )
    out = tmp_path / "r"
    r = runner.invoke(
        app, ["run", "--spec", str(spec), "-w", str(tmp_path / "w.duckdb"), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    seg = json.loads((out / "report.json").read_text())["segmentations"][0]
    labels = {p["label"]: p for p in seg["profiles"]["segments"]}
    assert set(labels) == {"Young Professionals", "Families", "Other"}
    assert labels["Families"]["name"] == "Parents"  # the spec's name wins
    assert labels["Young Professionals"]["name"] == "Young Professionals"  # rule names stay
    assert seg["targeting"]["Families"]["goal"] == "grow"
    assert seg["targeting"]["Families"]["channel"] == "sms"
    assert [x["name"] for x in seg["rules"]] == ["Young Professionals", "Families"]


def test_bad_rule_stops_before_any_work(shop, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"sources:\n  - {{path: {shop['orders']}, as: orders}}\n"
        "segmentations:\n  - name: x\n    method: rules\n    rules:\n      A: age between and 3\n"
    )
    ws = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["run", "--spec", str(spec), "-w", str(ws)])
    assert r.exit_code == 2, r.output
    assert "^" in r.output and "Traceback" not in r.output
    assert not ws.exists()


def test_demo_command(tmp_path):
    out = tmp_path / "demo"
    r = runner.invoke(
        app, ["demo", "--out", str(out), "-w", str(out / "demo.duckdb"), "--customers", "600"]
    )
    assert r.exit_code == 0, r.output
    assert (out / "report" / "report.html").exists()
    assert (out / "demo.yaml").exists() and (out / "customer_features.csv").exists()
    data = json.loads((out / "report" / "report.json").read_text())
    assert [s["name"] for s in data["segmentations"]] == ["lifestyle", "rfm", "clusters", "value"]
    value = data["segmentations"][3]["value"]
    assert value["holdout"]["buckets"] and value["models"]["bgnbd"]["params"]["r"] > 0
    # the value step's CLV reaches every other segmentation's ranking (potential term)
    ranking = data["segmentations"][1]["ranking"]
    assert "potential" in ranking["weights"]
    html = (out / "report" / "report.html").read_text()
    assert "Value model: lifetime value and churn" in html and "Calibration vs holdout" in html


def one_purchase_each(tmp_path: Path) -> Path:
    path = tmp_path / "single.csv"
    rows = [f"O{i},C{i},2024-0{1 + i % 9}-1{i % 10} 10:00,{10 + i}.00,paid" for i in range(40)]
    path.write_text("order_id,customer_id,ordered_at,amount,status\n" + "\n".join(rows) + "\n")
    return path


def test_zero_config_run_skips_value_with_a_note_when_no_one_bought_twice(tmp_path):
    out = tmp_path / "r"
    orders = one_purchase_each(tmp_path)
    r = runner.invoke(
        app, ["run", str(orders), "-w", str(tmp_path / "w.duckdb"), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    data = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in data["segmentations"]] == ["rfm", "clusters"]
    assert any("skipped" in n and "repeat purchase" in n for n in data["notes"])
    assert "Notes on this run" in (out / "report.html").read_text()


def test_value_in_a_spec_fails_clearly_on_the_same_data(tmp_path):
    orders = one_purchase_each(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"sources:\n  - {{path: {orders}}}\nsegmentations:\n  - {{name: v, method: value}}\n"
    )
    r = runner.invoke(
        app, ["run", "--spec", str(spec), "-w", str(tmp_path / "w.duckdb"), "--out", str(tmp_path)]
    )
    assert r.exit_code == 2, r.output
    assert "no customer made a repeat purchase" in flat(r.output)
    assert "Traceback" not in r.output


def test_value_spec_options_are_validated(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "segmentations:\n"
        "  - {name: v, method: value, tiers: {A: 0.5, B: 1.5}, params: {colour: red}}\n"
        "  - {name: r, method: rfm, holdout_days: 30}\n"
    )
    r = runner.invoke(app, ["run", "--spec", str(spec), "-w", str(tmp_path / "w.duckdb")])
    assert r.exit_code == 2
    text = flat(r.output)
    assert "different shares" in text and "only apply to method value" in text


def test_value_command_prints_models_holdout_and_writes_values(shop, tmp_path):
    ws = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["ingest", str(shop["orders"]), "-w", str(ws)]).exit_code == 0
    out = tmp_path / "clv.csv"
    r = runner.invoke(app, ["value", "-w", str(ws), "--holdout-days", "90", "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = flat(r.output)
    assert "BG/NBD" in text and "Gamma-Gamma" in text and "Holdout check" in text
    assert "Mean absolute error per customer" in text and "Top 1%" in text
    import pandas as pd

    frame = pd.read_csv(out)
    assert {"customer_id", "clv", "p_alive", "expected_purchases", "segment"} <= set(frame.columns)
    assert len(frame) == frame.customer_id.nunique() > 700


def test_feature_frame_equals_ibis_to_pandas(shop, tmp_path):
    """The run's fast Arrow fetch gives exactly the frame Ibis' to_pandas gives (the order
    dates included: rules read them)."""
    import pandas as pd

    from segmint._run import _feature_frame

    ws = segmint.Workspace(tmp_path / "w.duckdb")
    for path in shop.values():
        ws.ingest(path)
    ws.clean()
    ws.features()
    ws.store.db.execute("ALTER TABLE customer_features ADD COLUMN empty_count BIGINT")
    ws.store.db.execute("ALTER TABLE customer_features ADD COLUMN empty_amount DOUBLE")
    ws.store.db.execute("ALTER TABLE customer_features ADD COLUMN signup_day DATE")
    ws.store.db.execute("UPDATE customer_features SET signup_day = DATE '2024-01-02'")
    slow = ws.table("customer_features").to_pandas().set_index("customer_id")
    pd.testing.assert_frame_equal(_feature_frame(ws), slow)
    ws.close()


def _glibc_in_use() -> int | None:
    """Bytes in use in glibc's heap (``mallinfo2``), or None on another C library."""
    import ctypes

    class Info(ctypes.Structure):
        _fields_ = [(f"f{i}", ctypes.c_size_t) for i in range(10)]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Info
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return int(info.f4 + info.f7)  # mmapped blocks + the heap's allocated chunks


def test_the_feature_frame_holds_its_columns_once(tmp_path):
    """DuckDB frees a fetched record batch only as a whole: a column converted without a copy
    (the ids, a text column) kept every column of its batch alive next to the frame (about
    230 MB on 1M customers). The frame's rows now live in Arrow's own memory pool only."""
    import gc

    import pyarrow as pa

    from segmint._run import _feature_frame

    if _glibc_in_use() is None or pa.default_memory_pool().backend_name == "system":
        pytest.skip("needs glibc's mallinfo2 and Arrow's own memory pool to tell them apart")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    numbers = ", ".join(f"range::DOUBLE * {i}.5 AS x{i}" for i in range(8))
    ws.store.db.execute(
        "CREATE TABLE customer_features AS SELECT 'c' || range AS customer_id, "
        f"'city ' || (range % 7) AS city, {numbers} FROM range(300000)"
    )
    gc.collect()
    before = _glibc_in_use()
    frame = _feature_frame(ws)
    gc.collect()
    grown = _glibc_in_use() - before  # type: ignore[operator]
    numeric = int(frame.select_dtypes("number").memory_usage(index=False).sum())
    assert numeric == 8 * 8 * 300_000
    assert grown < numeric / 4, f"{grown / 2**20:.1f} MB of the fetch left in the C heap"
    ws.close()


def test_a_holdout_that_cannot_be_done_is_a_warning_not_a_failure(shop, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"sources:\n  - {{path: {shop['orders']}, as: orders}}\n"
        "segmentations:\n  - {name: v, method: value, holdout_days: 5000}\n"
    )
    out = tmp_path / "r"
    r = runner.invoke(
        app, ["run", "--spec", str(spec), "-w", str(tmp_path / "w.duckdb"), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    seg = json.loads((out / "report.json").read_text())["segmentations"][0]
    assert seg["value"]["holdout"] is None
    assert any("5000-day holdout check could not be done" in w for w in seg["warnings"])
