"""The Spark suite: the same spec on Spark (local[2]) and on the embedded engine gives the same
features and the same segments, on the sample shop and on CDNOW (M20).

Both engines read the same Parquet files (a lakehouse holds typed tables; CDNOW's text file is
converted once, dates as dates). Numeric features agree to 1e-9, everything else exactly; the
assignments of rules, RFM, k-means (fitted on the same sample: every customer, same seed) and
value tiers are identical. One Spark session is shared by the suite (fixture ``spark``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

import segmint
from segmint._run import run_pipeline
from segmint.datasets import make_retail
from segmint.spec.model import Spec
from tests.conftest import assert_sql_snapshot, shared_file

pytestmark = pytest.mark.spark

#: customers of the sample shop who objected to profiling before the run
OBJECTED = ["C000003", "C000010", "C000042", "C000100", "C000555"]
SNAPSHOTS = Path(__file__).parent / "snapshots" / "engine"
SEGMENTATIONS = [
    {"name": "rules", "method": "rules",
     "rules": {"Big spenders": "monetary_total > 300", "Recent": "recency_days <= 60"}},
    {"name": "rfm", "method": "rfm"},
    {"name": "clusters", "method": "kmeans", "k": "auto"},
    {"name": "value", "method": "value"},
]  # fmt: skip


def _both(tmp: Path, spark: Any, sources: list[dict[str, Any]]) -> tuple[Any, Any, Any, Any]:
    """The spec run on DuckDB and on Spark: (duckdb workspace, its output, spark ws, output)."""
    spec = Spec.model_validate({"sources": sources, "segmentations": SEGMENTATIONS})
    duck = segmint.Workspace(tmp / "duck.duckdb")
    out_duck = run_pipeline(duck, spec, out_dir=tmp / "report-duckdb")
    ews = segmint.Workspace.spark(spark, tmp / "spark")
    out_spark = ews.run(spec, out_dir=tmp / "report-spark")
    return duck, out_duck, ews, out_spark


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Any:
    tmp = tmp_path_factory.mktemp("shop")
    sample = make_retail(600, seed=7)
    # a few customers objected to profiling before the run: both engines leave them out
    objected = sample.customers["customer_id"].isin(OBJECTED)
    sample.customers["consent_profiling"] = pd.array(
        [False if o else None for o in objected], dtype="boolean"
    )
    files = sample.to_files(tmp / "data", "parquet")
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders", "events")]
    yield _both(tmp, spark, sources)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Any:
    tmp = tmp_path_factory.mktemp("cdnow")
    raw = pd.read_csv(
        shared_file("cdnow", "CDNOW_master.txt"), sep=r"\s+", dtype={"customer_id": str}
    )
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    path = tmp / "cdnow.parquet"
    raw.to_parquet(path, index=False)
    yield _both(tmp, spark, [{"path": str(path), "as": "orders"}])


def _frame(table: Any) -> pd.DataFrame:
    return table.to_pyarrow().to_pandas().set_index("customer_id").sort_index()


def _assert_same_features(duck: Any, ews: Any) -> None:
    a, b = _frame(duck.table("customer_features")), _frame(ews.table("customer_features"))
    assert list(a.columns) == list(b.columns)
    assert a.index.equals(b.index)
    sa, sb = duck.table("customer_features").schema(), ews.table("customer_features").schema()
    for col in a.columns:
        x, y = a[col], b[col]
        if sa[col].is_numeric() and not sa[col].is_boolean():
            assert sb[col].is_numeric(), col
            xs, ys = x.astype("float64").to_numpy(), y.astype("float64").to_numpy()
            assert np.array_equal(np.isnan(xs), np.isnan(ys)), f"{col}: NULLs differ"
            assert np.allclose(xs, ys, rtol=0, atol=1e-9, equal_nan=True), (
                f"{col}: max difference {np.nanmax(np.abs(xs - ys))}"
            )
        else:
            same = (x.isna() & y.isna()) | (x.astype(str) == y.astype(str))
            assert same.all(), f"{col}: {int((~same).sum())} values differ, e.g. {x[~same][:3]}"


def _assignments(table: Any, run_id: str) -> pd.DataFrame:
    t = table.filter(table.run_id == run_id)
    return t.to_pyarrow().to_pandas().set_index(["segmentation", "customer_id"]).sort_index()


def _assert_same_segments(duck: Any, out_duck: Any, ews: Any, out_spark: Any) -> None:
    a = _assignments(duck.table("segment_assignments"), out_duck.run_id)
    b = _assignments(ews.table("segment_assignments"), out_spark.run_id)
    assert set(a.index.get_level_values(0)) == {s["name"] for s in SEGMENTATIONS}
    assert a.index.equals(b.index)
    for name in {s["name"] for s in SEGMENTATIONS}:
        x, y = a.loc[name], b.loc[name]
        differ = (x["segment"].astype(str) != y["segment"].astype(str)).sum()
        assert differ == 0, f"{name}: {differ} of {len(x)} customers in another segment"
        assert (x["segment_name"].astype(str) == y["segment_name"].astype(str)).all(), name


def test_sample_shop_features_equal(shop):
    duck, _out, ews, _out_spark = shop
    _assert_same_features(duck, ews)


def test_sample_shop_segments_identical(shop):
    _assert_same_segments(*shop)


def test_objections_left_out_on_both_engines(shop):
    """Customers who objected to profiling are in no segment and have no value on Spark,
    as in the embedded run, and both runs count them."""
    duck, out_duck, ews, out_spark = shop
    for ws, out in ((duck, out_duck), (ews, out_spark)):
        a = _assignments(ws.table("segment_assignments"), out.run_id)
        assert not a.index.get_level_values("customer_id").isin(OBJECTED).any()
        v = ws.table("customer_values").to_pyarrow().to_pandas()
        assert not v["customer_id"].isin(OBJECTED).any()
    counts = [r["row_counts"].get("objected_to_profiling") for r in (duck.store.run_records()[-1],
              ews.runs()[-1])]  # fmt: skip
    assert counts == [len(OBJECTED), len(OBJECTED)]


def test_sample_shop_results_equal(shop):
    """What the report says (sizes, names, ranking) is the same on both engines."""
    _duck, out_duck, _ews, out_spark = shop
    for a, b in zip(out_duck.report.segmentations, out_spark.report.segmentations, strict=True):
        assert a.name == b.name and a.n_customers == b.n_customers
        assert a.names() == b.names()
        assert [r.label for r in a.ranking.segments] == [r.label for r in b.ranking.segments]


def test_cdnow_features_equal(cdnow):
    duck, _out, ews, _out_spark = cdnow
    _assert_same_features(duck, ews)
    assert ews.status()["tables"]["customer_features"] == 23_570  # CDNOW's customers


def test_cdnow_segments_identical(cdnow):
    _assert_same_segments(*cdnow)


def test_cdnow_values_equal(cdnow):
    """The value models' predictions, computed on Spark's workers, equal the embedded run's."""
    duck, out_duck, ews, out_spark = cdnow
    a = duck.table("customer_values").filter(ibis._.run_id == out_duck.run_id)
    b = ews.table("customer_values").filter(ibis._.run_id == out_spark.run_id)
    x, y = _frame(a), _frame(b)
    assert x.index.equals(y.index)
    for col in ("clv", "p_alive", "expected_purchases"):
        assert np.allclose(x[col], y[col], rtol=1e-9, atol=1e-9), col


def test_run_records_the_sample(cdnow):
    """The run says on how many customers the models were fitted (here: all of them)."""
    _duck, _out, ews, out_spark = cdnow
    run = next(r for r in ews.runs() if r["run_id"] == out_spark.run_id)
    assert run["spec"]["engine"] == {"sample": 23_570, "population": 23_570, "seed": 0}


def test_sampled_fit_assigns_everyone_in_the_engine(tmp_path, spark, cdnow):
    """Fitted on 2,000 of 23,570 customers, k-means, RFM and value tiers still assign every
    customer in the engine, the note says so, and the sampled customers got the driver's
    labels (checked by the run itself)."""
    _duck, _out, ews, _ = cdnow
    spec = Spec.model_validate(
        {
            "segmentations": [
                {"name": "rfm", "method": "rfm"},
                {"name": "km", "method": "kmeans", "k": 4},
                {"name": "value", "method": "value"},
            ]
        }
    )
    out = ews.run(spec, out_dir=tmp_path / "report", sample_size=2000, seed=3)
    assert any("sample of 2,000 of 23,570" in n for n in out.report.notes)
    rows = ews.table("segment_assignments").filter(ibis._.run_id == out.run_id)
    counts = rows.group_by("segmentation").aggregate(n=rows.count()).to_pyarrow().to_pylist()
    assert {r["segmentation"]: r["n"] for r in counts} == dict.fromkeys(
        ("rfm", "km", "value"), 23_570
    )


def test_workspace_found_again(cdnow, spark):
    """A new handle on the same folder finds every table and run (no metastore needed)."""
    _duck, _out, ews, out_spark = cdnow
    again = segmint.Workspace.spark(spark, ews.path)
    assert {"orders", "customers", "customer_features", "segment_assignments"} <= set(
        again.tables()
    )
    assert any(r["run_id"] == out_spark.run_id for r in again.runs())


def test_failed_write_leaves_tables_as_they_were(cdnow):
    """All or nothing: a write whose second table fails leaves the first one unchanged."""
    _duck, _out, ews, _ = cdnow
    before = int(ews.table("customers").count().to_pyarrow().as_py())
    eng = ews.engine
    bad = eng.ibis.sql("SELECT CAST('x' AS INT) AS y FROM customers")  # fails when written
    with pytest.raises(Exception):  # noqa: B017 - Spark's own error class
        eng.write({"customers": eng.table("customers").limit(3), "orders": bad})
    assert int(ews.table("customers").count().to_pyarrow().as_py()) == before


# --------------------------------------------------------------------- generated SQL
def _snapshot(case: str, sql: str) -> None:
    assert_sql_snapshot(SNAPSHOTS, case, sql)


@pytest.mark.parametrize("dialect", ["duckdb", "pyspark"])
def test_key_queries_sql_snapshots(dialect):
    """The feature table and the repeat-purchase summary as SQL per engine (RFM and value
    tiers: test_scorers_ibis.py; rules: test_rules.py): a change in Ibis, sqlglot or our
    expressions shows up as a diff here."""
    from segmint.features import build_features
    from segmint.features.repeat import repeat_summary

    ibis.pyspark  # noqa: B018 - registers the backend's options, which its compiler reads
    con = ibis.duckdb.connect()
    orders = pd.DataFrame(
        {"order_id": ["A", "B", "C"], "customer_id": ["C1", "C1", "C2"],
         "ordered_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05"]),
         "amount": [10.0, 20.5, 7.25], "category": ["toys", "books", "toys"],
         "status": ["paid", "paid", "paid"]}
    )  # fmt: skip
    con.create_table("orders", orders)
    when = datetime(2024, 3, 1)
    features = build_features({"orders": con.table("orders")}, when, families=["behavioral"])
    _snapshot(f"features_{dialect}", ibis.to_sql(features, dialect=dialect))
    summary = repeat_summary(con.table("orders"), when)
    _snapshot(f"repeat_summary_{dialect}", ibis.to_sql(summary, dialect=dialect))


def test_csv_import_on_spark_equals_the_embedded_import(tmp_path, spark):
    """A CSV (text) is typed in Spark as the embedded import types it: the same rows after
    cleaning, the same features; blanks and 'NA' are empty, padded text is trimmed (and a
    category starting with f or v keeps its letter: Ibis' strip() for Spark dropped them)."""
    orders = make_retail(300, seed=5).orders
    orders["category"] = orders["category"].where(orders.index % 7 != 0, " fashion ")
    orders["channel"] = orders["channel"].where(orders.index % 11 != 0, "NA")
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    duck = segmint.Workspace(tmp_path / "duck.duckdb")
    duck.ingest(path)
    duck.clean()
    duck.features()
    ews = segmint.Workspace.spark(spark, tmp_path / "spark")
    got = ews.ingest(path)
    assert got["table"] == "orders" and got["rows"] == len(orders)
    ews.clean()
    ews.features()
    _assert_same_features(duck, ews)
    assert "cat_fashion_share" in ews.table("customer_features").columns


def test_cli_status_and_features_on_the_spark_workspace(cdnow, tmp_path):
    """`segmint status --engine spark` and `features --engine spark --out` find the workspace
    folder again; a folder that is not one is refused with the command to make it."""
    from typer.testing import CliRunner

    from segmint.cli import app

    _duck, _out, ews, _ = cdnow
    runner = CliRunner()
    done = runner.invoke(app, ["status", "--engine", "spark", "-w", str(ews.path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["tables"]["customer_features"] == 23_570
    out = tmp_path / "features.csv"
    done = runner.invoke(
        app, ["features", "--engine", "spark", "-w", str(ews.path), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(out)) == 23_570
    done = runner.invoke(app, ["status", "--engine", "spark", "-w", str(tmp_path / "nothing")])
    assert done.exit_code == 2 and "no Spark workspace" in done.output


def test_csv_dates_in_another_format_read_and_counted(tmp_path, spark):
    """CDNOW's dates (19970101) in a CSV: the format is detected as the embedded import does,
    parsed in Spark without stopping on a bad value (counted, left empty), and the derived
    order ids equal the embedded import's."""
    raw = pd.read_csv(shared_file("cdnow", "CDNOW_master.txt"), sep=r"\s+", dtype=str).head(2000)
    raw.loc[5, "date"] = "1997013x"
    path = tmp_path / "cdnow.csv"
    raw.to_csv(path, index=False)
    duck = segmint.Workspace(tmp_path / "duck.duckdb")
    duck.ingest(path, into="orders", gates=segmint.QualityGates(max_invalid_dates=0.5))
    ews = segmint.Workspace.spark(spark, tmp_path / "spark")
    got = ews.ingest(path, into="orders")
    assert got["unreadable"] == {"ordered_at": 1}
    assert any("%Y%m%d" in n for n in got["notes"])
    cols = ["_row", "ordered_at", "order_id"]
    a = duck.table("orders").select(*cols).to_pandas().set_index("_row").sort_index()
    b = ews.table("orders").select(*cols).to_pyarrow().to_pandas().set_index("_row").sort_index()
    for col in ("ordered_at", "order_id"):
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        assert ((x == y) | (x.isna() & y.isna())).all(), col
