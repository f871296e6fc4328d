"""Fit on a sample, score in the engine: RFM and value tiers as Ibis expressions label every
customer as ``predict`` does (DuckDB and Spark), and the value models' batch scorer gives the
fit's values batch by batch. On the sample shop and on CDNOW, through a workspace."""

from __future__ import annotations

import doctest
import importlib
import itertools
import json
import pickle
import warnings
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.exceptions import ModelError, SegmintWarning
from segmint.segment.models import model_from_json, model_to_json
from segmint.segment.rfm import NO_PURCHASE, OTHER, RFMSegmenter
from segmint.segment.value import CHURN_RISK, VALUE_COLUMNS, ValueSegmenter
from tests.conftest import assert_sql_snapshot, shared_file

RFM_COLS = ["customer_id", "recency_days", "frequency", "monetary_total"]
SNAPSHOTS = Path(__file__).parent / "snapshots" / "scorers"


def _workspace(root: Path, name: str) -> dict[str, object]:
    """A workspace's features and value summary, built as users build them."""
    ws = segmint.Workspace(root / "w.duckdb")
    if name == "shop":
        files = segmint.datasets.make_retail(600, seed=5).to_files(root / "data", format="csv")
        ws.ingest(files["customers"], into="customers")
        ws.ingest(files["orders"], into="orders")
        as_of: str | None = "2024-12-31"
    else:  # every CDNOW purchase: 23,570 customers
        ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
        as_of = None
    ws.clean()
    ws.features(as_of=as_of)
    features = ws.table("customer_features").select(*RFM_COLS).to_pandas()
    summary = ws.value_summary(as_of=as_of)
    ws.close()
    return {"features": features.set_index("customer_id"), "summary": summary}


@pytest.fixture(scope="module", params=["shop", "cdnow"])
def data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _workspace(tmp_path_factory.mktemp(request.param), request.param) | {
        "name": request.param
    }


@pytest.fixture(scope="module")
def duck() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def _labels(table: ibis.Table, key: str = "customer_id") -> pd.Series:
    """The engine's labels, by customer id."""
    out = table.select(key, "segment").to_pandas().set_index(key)["segment"]
    return out.astype(object)


def _every_third(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[::3]


# ----------------------------------------------------------------------------- RFM
def test_rfm_to_ibis_labels_every_customer_as_predict_on_duckdb(data, duck):
    features = data["features"]
    table = duck.create_table(f"rfm_{data['name']}", features.reset_index(), overwrite=True)
    full = RFMSegmenter().fit(features)
    got = _labels(full.to_ibis(table)).reindex(features.index)
    assert got.tolist() == full.labels_.tolist()
    # fitted on a third, applied to all: values between and at the sample's cut points
    sampled = RFMSegmenter().fit(_every_third(features))
    got = _labels(sampled.to_ibis(table)).reindex(features.index)
    assert got.tolist() == sampled.predict(features).tolist()
    # the check has teeth: many segments, and customers sitting exactly on a cut point
    assert got.nunique() >= 6
    on_edge = features.recency_days.isin(sampled.thresholds_["r"]) | features.frequency.isin(
        sampled.thresholds_["f"]
    )
    assert on_edge.sum() > 10


def _edge_model() -> tuple[RFMSegmenter, pd.DataFrame]:
    """Ties, values between and beyond the cut points, non-buyers, a map leaving codes Other."""
    train = pd.DataFrame(
        {
            "recency_days": [1, 1, 5, 9, 9, 30, 60, 60, 200, None],
            "frequency": [7, 7, 3, 3, 2, 1, 1, 1, 1, 0],
            "monetary_total": [300.0, 90.5, 90.5, 40.0, 40.0, 12.25, 12.25, 3.0, 1.0, None],
        },
        index=pd.Index([f"t{i}" for i in range(10)], name="customer_id"),
    )
    model = RFMSegmenter(3, segment_map={"3[23]": "Best", "[12]1": "Gone"}).fit(train)
    new = pd.DataFrame(
        {
            "recency_days": [1, 5, 7, 0, 500, 60, 9, None, 3],
            "frequency": [7, 3, 2, 50, 1, 1, 0, np.nan, 2],
            "monetary_total": [90.5, 40.0, 41.0, 9999.0, 0.5, 12.25, None, 10.0, 12.25],
        },
        index=pd.Index([f"n{i}" for i in range(9)], name="customer_id"),
    )
    return model, new


def test_rfm_to_ibis_ties_gaps_non_buyers_and_nan_as_predict(duck):
    model, new = _edge_model()
    expected = model.predict(new)
    assert {NO_PURCHASE, OTHER, "Best", "Gone"} <= set(expected)
    table = duck.create_table("rfm_edges", new.reset_index(), overwrite=True)
    assert _labels(model.to_ibis(table)).reindex(new.index).tolist() == expected.tolist()
    # real NaN (not NULL) in the engine: DuckDB orders NaN above every number
    nan = table.mutate(frequency=_nan_where(table.frequency.isnull(), table.frequency))
    assert nan.filter(nan.frequency.isnan()).count().to_pandas() == 1
    assert _labels(model.to_ibis(nan)).reindex(new.index).tolist() == expected.tolist()


def _nan_where(condition: ibis.BooleanValue, column: ibis.Value) -> ibis.Value:
    return ibis.ifelse(condition, ibis.literal(float("nan"), type="float64"), column)


def test_rfm_to_ibis_names_the_missing_columns():
    model, _ = _edge_model()
    table = ibis.table({"customer_id": "string", "frequency": "int64"}, name="f")
    with pytest.raises(ModelError, match="'recency_days', 'monetary_total'"):
        model.to_ibis(table)


# --------------------------------------------------------------------------- value
@pytest.fixture(scope="module")
def value(data) -> dict:
    """The value segmenter fitted on all customers and on a third, and each one's values."""
    summary = data["summary"]
    with warnings.catch_warnings():  # the shop's spend model needs the fallback penalizer
        warnings.simplefilter("ignore", SegmintWarning)
        full = ValueSegmenter().fit(summary)
        sampled = ValueSegmenter().fit(_every_third(summary))
    return {"summary": summary, "full": full, "sampled": sampled}


def _in_batches(model: ValueSegmenter, summary: pd.DataFrame, parts: int = 3) -> pd.DataFrame:
    scorer = model.scorer()
    rows = summary.reset_index()
    cuts = np.linspace(0, len(rows), parts + 1).astype(int)
    batches = [rows.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    return pd.concat([scorer(b) for b in batches], ignore_index=True)


def test_value_batches_give_the_fitted_values(value):
    summary, full = value["summary"], value["full"]
    got = _in_batches(full, summary).set_index("customer_id")
    assert list(got.columns) == list(VALUE_COLUMNS)
    assert (got.dtypes == "float64").all()
    # the same per-row arithmetic as the fit: equal to the last bit, in the summary's order
    pd.testing.assert_frame_equal(got, full.values_, check_exact=True, check_names=False)
    # a sample-fitted model scores the rest as predict_values does
    sampled = value["sampled"]
    _, expected = sampled.predict_values(summary)
    got = _in_batches(sampled, summary, parts=5).set_index("customer_id")
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_names=False)


def test_value_scorer_is_small_picklable_and_takes_empty_batches(value):
    full = value["full"]
    scorer = pickle.loads(pickle.dumps(full.scorer()))
    empty = scorer(value["summary"].reset_index().iloc[:0])
    assert list(empty.columns) == ["customer_id", *VALUE_COLUMNS] and empty.empty
    # it ships the models, not the per-customer results of the fit
    assert len(pickle.dumps(full.scorer())) < 20_000 < len(pickle.dumps(full))
    bad = value["summary"].reset_index().drop(columns="T").iloc[:5]
    with pytest.raises(ModelError, match="needs the column"):
        scorer(bad)


def _value_table(con, name: str, summary: pd.DataFrame, values: pd.DataFrame) -> ibis.Table:
    rows = summary.reset_index().merge(values, on="customer_id")
    return con.create_table(name, rows, overwrite=True)


def test_value_to_ibis_labels_every_customer_as_predict_on_duckdb(value, duck, data):
    summary = value["summary"]
    for which in ("full", "sampled"):
        model = value[which]
        values = _in_batches(model, summary)
        table = _value_table(duck, f"value_{data['name']}_{which}", summary, values)
        got = _labels(model.to_ibis(table)).reindex(summary.index)
        assert got.tolist() == model.predict(summary).tolist()
        if which == "full":
            assert got.tolist() == model.labels_.tolist()
            assert {CHURN_RISK, "Top 1%", "Top 10%", "Middle", "Low"} == set(got)
        # without a revenue column, past revenue is frequency × monetary_value, as in fit
        bare = model.to_ibis(table.drop("revenue"))
        assert (
            _labels(bare).reindex(summary.index).tolist()
            == model.predict(summary.drop(columns="revenue")).tolist()
        )


def test_value_to_ibis_missing_values_meet_no_threshold(value, duck):
    model = value["full"]
    cut, rich = model.thresholds_["Top 1%"], model.churn_revenue_
    rows = pd.DataFrame(
        {
            "customer_id": ["at", "nan_clv", "null", "nan_alive", "risky"],
            "clv": [cut, np.nan, None, cut, cut],
            "p_alive": [0.9, 0.9, None, np.nan, 0.0],
            "revenue": [0.0, 0.0, 1e9, 1e9, rich],
        }
    )
    table = duck.create_table("value_edges", rows, overwrite=True)
    # real NaN in the engine (DuckDB orders it above every number), NULL in the row "null"
    table = table.mutate(
        clv=_nan_where(table.customer_id == "nan_clv", table.clv),
        p_alive=_nan_where(table.customer_id == "nan_alive", table.p_alive),
    )
    got = _labels(model.to_ibis(table)).to_dict()
    frame = rows.set_index("customer_id")
    assert got == model._label(frame, frame).to_dict()
    expected = {"at": "Top 1%", "nan_clv": "Low", "null": "Low", "nan_alive": "Top 1%"}
    assert got == expected | {"risky": CHURN_RISK}


def test_stored_models_score_in_the_engine_as_before(data, value, duck):
    """A model saved as JSON and loaded again (as `segmint update` does) scores the same."""
    features, summary = data["features"], value["summary"]
    rfm = RFMSegmenter().fit(_every_third(features))
    loaded = model_from_json(json.dumps(model_to_json(rfm)))
    table = duck.create_table(f"stored_rfm_{data['name']}", features.reset_index(), overwrite=True)
    assert _labels(loaded.to_ibis(table)).equals(_labels(rfm.to_ibis(table)))
    model = value["sampled"]
    loaded = model_from_json(json.dumps(model_to_json(model)))
    values = _in_batches(loaded, summary)
    pd.testing.assert_frame_equal(values, _in_batches(model, summary), check_exact=True)
    table = _value_table(duck, f"stored_value_{data['name']}", summary, values)
    assert _labels(loaded.to_ibis(table)).equals(_labels(model.to_ibis(table)))


# --------------------------------------------------------------------------- Spark
@pytest.mark.spark
def test_on_spark_to_ibis_equals_predict_and_batches_run_per_partition(spark, data, value):
    """Scored in Spark: RFM (fitted on all, and on a third) and value tiers equal predict;
    the value scorer runs per partition through mapInPandas and gives the fitted values."""
    con = ibis.pyspark.connect(spark)
    features, summary, name = data["features"], value["summary"], data["name"]
    frame = spark.createDataFrame(features.reset_index())
    table = con.table(_view(frame, f"scorers_rfm_{name}"))
    for model in (RFMSegmenter().fit(features), RFMSegmenter().fit(_every_third(features))):
        got = _labels(model.to_ibis(table)).reindex(features.index)
        assert got.tolist() == model.predict(features).tolist()
    sampled = value["sampled"]
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value", "revenue"]
    parts = spark.createDataFrame(summary.reset_index()[cols]).repartition(3)
    for model in (sampled,):  # fitted on a third, scoring everyone
        scorer = model.scorer()
        ddl = "customer_id string, " + ", ".join(f"{c} double" for c in VALUE_COLUMNS)
        values = parts.mapInPandas(lambda batches, s=scorer: (s(b) for b in batches), ddl)
        scored = parts.join(values, "customer_id")  # what the engine keeps: summary + values
        got = scored.toPandas().set_index("customer_id").reindex(summary.index)
        _, expected = model.predict_values(summary)
        pd.testing.assert_frame_equal(
            got[list(VALUE_COLUMNS)], expected, check_exact=True, check_names=False
        )
        labels = _labels(model.to_ibis(con.table(_view(scored, f"scorers_value_{name}"))))
        assert labels.reindex(summary.index).tolist() == model.predict(summary).tolist()


@pytest.mark.spark
def test_on_spark_nan_is_no_score(spark):
    """NaN kept as NaN in Spark (which orders it above every number) scores as in numpy."""
    model, new = _edge_model()
    rows = [
        (str(i), _none(r.recency_days), float(r.frequency), _none(r.monetary_total))
        for i, r in new.iterrows()
    ]  # the missing frequency stays NaN; the other gaps are NULL
    frame = spark.createDataFrame(
        rows, "customer_id string, recency_days double, frequency double, monetary_total double"
    )
    table = ibis.pyspark.connect(spark).table(_view(frame, "scorers_rfm_nan"))
    assert table.filter(table.frequency.isnan()).count().to_pandas() == 1
    assert _labels(model.to_ibis(table)).reindex(new.index).tolist() == model.predict(new).tolist()


def _none(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def _view(frame: object, name: str) -> str:
    """A temporary view (nothing written to the warehouse directory) named ``name``."""
    frame.createOrReplaceTempView(name)  # type: ignore[attr-defined]
    return name


# --------------------------------------------------------------------- SQL snapshots
def _snapshot(case: str, sql: str) -> None:
    assert_sql_snapshot(SNAPSHOTS, case, sql)


@pytest.mark.parametrize("dialect", ["duckdb", "pyspark"])
def test_generated_sql_snapshots(dialect):
    if dialect == "pyspark":
        pytest.importorskip("pyspark")
        ibis.pyspark  # noqa: B018 - registers the backend's options, which its compiler reads
    model, _ = _edge_model()
    features = ibis.table(
        {"customer_id": "string", "recency_days": "int64", "frequency": "int64",
         "monetary_total": "float64"}, name="customer_features",
    )  # fmt: skip
    _snapshot(f"rfm_{dialect}", ibis.to_sql(model.to_ibis(features), dialect=dialect))
    value = ValueSegmenter()
    value.thresholds_ = {"Top 1%": 812.5, "Top 10%": 203.25, "Middle": 41.0}
    value.churn_revenue_, value.labels_ = 350.0, pd.Series(dtype=object)
    summary = ibis.table(
        {"customer_id": "string", "clv": "float64", "p_alive": "float64", "revenue": "float64"},
        name="customer_values",
    )
    _snapshot(f"value_{dialect}", ibis.to_sql(value.to_ibis(summary), dialect=dialect))


@pytest.mark.parametrize(
    "module", ["segmint.segment._cuts", "segmint.segment.rfm", "segmint.segment.value.batch"]
)
def test_docstring_examples_run(module: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmintWarning)
        result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
