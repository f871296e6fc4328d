"""Fitted models are stored as JSON data, not pickles: every method's model, reloaded from its
JSON, predicts the same labels as the fitted estimator on real data (CDNOW, Hillstrom), and a
stored model that is not ours (another format version, an unknown estimator or class) is
refused with a clear error instead of being run."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import segmint
from segmint._run import _feature_frame
from segmint.exceptions import ModelError, SegmintError
from segmint.segment.cluster import (
    GMMSegmenter,
    HDBSCANSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
)
from segmint.segment.models import FORMAT, VERSION, model_from_json, model_to_json
from segmint.segment.rfm import RFMSegmenter
from segmint.segment.rules import RulesSegmenter
from segmint.segment.value import ValueSegmenter
from tests.conftest import shared_file

NUMERIC = ["recency_days", "frequency", "monetary_total", "avg_order_value", "tenure_days"]


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """CDNOW's 23,570 customers: the feature frame and the repeat-purchase summary."""
    ws = segmint.Workspace(tmp_path_factory.mktemp("cdnow") / "w.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    ws.clean()
    ws.features(as_of="1998-07-01")
    return {"features": _feature_frame(ws), "summary": ws.value_summary("1998-07-01")}


@pytest.fixture(scope="module")
def hillstrom() -> pd.DataFrame:
    """Hillstrom's customers: numeric spend and recency, categorical zip code and channel."""
    frame = pd.read_csv(shared_file("hillstrom_email_2008", "hillstrom.csv"), nrows=6000)
    frame.index = pd.Index([f"h{i}" for i in range(len(frame))], name="customer_id")
    return frame[["recency", "history", "zip_code", "channel"]]


def _reloaded(est: Any) -> Any:
    doc = model_to_json(est)
    text = json.dumps(doc, allow_nan=False)  # plain JSON, as stored
    assert doc["format"] == FORMAT and doc["version"] == VERSION
    return model_from_json(text)


def _fits(cdnow: dict[str, Any], hillstrom: pd.DataFrame) -> dict[str, tuple[Any, pd.DataFrame]]:
    X = cdnow["features"]
    num = X[NUMERIC]
    return {
        "rules": (
            RulesSegmenter(
                {"Big spenders": "monetary_total > 200", "Regulars": "frequency >= 3"}
            ).fit(X),
            X,
        ),
        "rfm": (RFMSegmenter().fit(X), X),
        "kmeans": (KMeansSegmenter(k=4, stability_runs=0, sample_size=3000).fit(num), num),
        "gmm": (GMMSegmenter(k=3, stability_runs=0, sample_size=3000).fit(num), num),
        "hdbscan": (HDBSCANSegmenter(stability_runs=0, sample_size=1500).fit(num), num),
        "kprototypes": (KPrototypesSegmenter(k=3, n_init=2).fit(hillstrom), hillstrom),
        "value": (ValueSegmenter().fit(cdnow["summary"]), cdnow["summary"]),
    }


@pytest.mark.slow
def test_every_method_predicts_the_same_labels_after_a_json_round_trip(cdnow, hillstrom):
    fits = _fits(cdnow, hillstrom)
    assert set(fits) == {"rules", "rfm", "kmeans", "gmm", "hdbscan", "kprototypes", "value"}
    for method, (est, X) in fits.items():
        again = _reloaded(est)
        assert type(again) is type(est), method
        before, after = est.predict(X), again.predict(X)
        assert before.nunique() >= 2, method  # a real segmentation, not one block
        pd.testing.assert_series_equal(after, before, obj=method)


def test_the_stored_document_is_data_with_what_scoring_needs(cdnow):
    est = KMeansSegmenter(k=3, stability_runs=0, sample_size=2000).fit(cdnow["features"][NUMERIC])
    doc = model_to_json(est)
    state = doc["state"]
    assert doc["estimator"] == "KMeansSegmenter"
    assert state["assigner_"]["__object__"] == "CentroidAssigner"
    assert state["scaler_"]["__object__"] == "Scaler"
    assert state["labels_"]["__series__"]["__frame__"]["index"]["shape"] == [0]  # no customers
    assert len(json.dumps(doc)) < 50_000


def _doc() -> dict[str, Any]:
    X = pd.DataFrame(
        {
            "recency_days": [5, 50, 300, 20],
            "frequency": [9, 2, 1, 4],
            "monetary_total": [9.0, 8, 1, 3],
        },
        index=pd.Index(list("abcd"), name="customer_id"),
    )
    return model_to_json(RFMSegmenter().fit(X))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": VERSION + 1}, "format version"),
        ({"format": "pickle"}, "not a segmint model"),
        ({"estimator": "os.system"}, "does not know"),
        ({"estimator": "BaseSegmenter"}, "does not know"),
    ],
)
def test_a_model_that_is_not_ours_is_refused(change, message):
    doc = _doc() | change
    with pytest.raises(ModelError, match=message) as info:
        model_from_json(json.dumps(doc))
    assert isinstance(info.value, SegmintError) and info.value.fix


def test_a_model_naming_a_class_outside_the_allow_list_is_refused():
    doc = _doc()
    doc["state"]["thresholds_"] = {"__object__": "Popen", "state": {"args": ["touch", "x"]}}
    with pytest.raises(ModelError, match="may not contain"):
        model_from_json(doc)


@pytest.mark.slow
def test_a_run_stores_no_pickle_and_scoring_loads_none(tmp_path, monkeypatch):
    """The run writes JSON models and the API scores from them with pickle switched off."""
    from segmint._run import run_pipeline
    from segmint.api import scoring, services
    from segmint.spec.model import SegmentationSpec, Spec

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("pickle must not be used for models")

    monkeypatch.setattr(pickle, "dumps", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    path = shared_file("cdnow", "CDNOW_master.txt")
    spec = Spec(
        sources=[{"path": str(path)}],
        segmentations=[
            SegmentationSpec(name="rfm", method="rfm"),
            SegmentationSpec(name="clusters", method="kmeans", k=3, params={"stability_runs": 0}),
        ],
    )
    out = run_pipeline(ws, spec, out_dir=tmp_path / "out")
    db = ws.store.db
    kinds = dict(
        db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'segment_models'"
        ).fetchall()
    )
    assert kinds["model"] == "JSON"
    for (text,) in db.execute("SELECT model FROM segment_models").fetchall():
        assert json.loads(text)["format"] == FORMAT
    state = type("S", (), {"models": {}})()
    features = _feature_frame(ws).reset_index()
    stored = services.members(ws, out.run_id, "clusters").set_index("customer_id")["segment"]
    sample = features.sample(300, random_state=1)
    cols = ["customer_id", *out.report.segmentations[1].features]
    scored = scoring.score(state, ws, out.run_id, "clusters", sample[cols].to_dict("records"))  # type: ignore[arg-type]
    got = pd.Series({r["customer_id"]: r["segment"] for r in scored})
    assert (got == stored.reindex(got.index)).all()


def test_a_workspace_with_pickled_models_is_not_unpickled(tmp_path: Path):
    """An older workspace keeps pickles in a BLOB column: scoring refuses, a new run replaces
    the column with JSON."""
    from segmint.api import scoring

    ws = segmint.Workspace(tmp_path / "w.duckdb")
    db = ws.store.db
    db.execute(
        "CREATE TABLE segmentations (run_id VARCHAR, name VARCHAR, method VARCHAR, spec JSON, "
        "result JSON)"
    )
    db.execute(
        "CREATE TABLE segment_models (run_id VARCHAR, segmentation VARCHAR, features JSON, "
        "model BLOB)"
    )
    db.execute(
        "INSERT INTO segmentations VALUES ('r1', 'x', 'rfm', '{}', ?)",
        ['{"name": "x", "method": "rfm"}'],
    )
    db.execute("INSERT INTO segment_models VALUES ('r1', 'x', '[]', ?)", [pickle.dumps(object())])
    state = type("S", (), {"models": {}})()
    with pytest.raises(ModelError, match="no stored model"):
        scoring.score(state, ws, "r1", "x", [{"frequency": 1}])  # type: ignore[arg-type]


def test_only_segmint_classes_can_be_saved_or_loaded():
    """A fitted model holding an object from outside segmint is not stored; a document naming
    one (even a segmint class that is not a model class) is refused on load."""
    from segmint.segment.models import allowed_classes

    names = set(allowed_classes())
    assert {"Scaler", "CentroidAssigner", "BetaGeoModel", "GammaGammaModel"} <= names
    assert "FactorSolution" in names  # a needs model's factor analysis (segmint.feedback.survey)
    assert all(
        cls.__module__.startswith("segmint.segment.") or cls.__module__ == "segmint.feedback.survey"
        for cls in allowed_classes().values()
    )
    doc = _doc()
    est = model_from_json(doc)
    est.thresholds_ = {"r": Path("/tmp")}  # not a model value
    with pytest.raises(ModelError, match="cannot be stored"):
        model_to_json(est)
    doc["state"]["thresholds_"] = {"__object__": "Workspace", "state": {}}
    with pytest.raises(ModelError, match="may not contain"):
        model_from_json(doc)
