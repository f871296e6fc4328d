"""The method registry: every method declares its spec fields, defaults, params and features
once; a spec field or param a method does not read is an error, not silently dropped."""

from __future__ import annotations

import pandas as pd
import pytest

import segmint
from segmint._run import _feature_frame, check_spec, run_pipeline
from segmint.exceptions import SpecError
from segmint.segment.registry import METHODS, get_method
from segmint.spec.model import CLUSTER_METHODS, SegmentationSpec, Spec
from segmint.spec.model import METHODS as SPEC_METHODS
from tests.conftest import shared_file


def _check(**fields: object) -> None:
    check_spec(Spec(segmentations=[SegmentationSpec(name="s", **fields)]))  # type: ignore[arg-type]


def test_every_spec_method_is_registered_with_a_working_estimator():
    assert tuple(METHODS) == SPEC_METHODS  # the spec validates names before segment/ loads
    assert tuple(n for n, m in METHODS.items() if m.features == "clustering") == CLUSTER_METHODS
    for method in METHODS.values():
        assert method.cls.__name__ == method.estimator
        params = set(method.cls._param_names())
        assert set(method.kwargs.values()) <= params, method.name
        assert set(method.allowed_params()) <= params, method.name
        assert set(method.kwargs) <= set(method.fields), method.name
        assert set(method.defaults()) == set(method.fields), method.name


def test_the_api_lists_each_method_with_its_fields_bounds_and_defaults():
    from segmint.api.services import list_methods

    listed = {m["name"]: m for m in list_methods()}
    assert list(listed) == list(METHODS)
    kp = listed["kprototypes"]
    assert set(kp["fields"]) == {"k", "k_range", "random_state"} and kp["takes_k"]
    assert listed["kmeans"]["fields"]["min_segment_share"] == {
        "default": 0.02,
        "exclusiveMaximum": 0.5,
        "minimum": 0,
        "type": "number",
    }
    assert listed["rules"]["params"] == [] and "n_init" in listed["kmeans"]["params"]


def test_kprototypes_refuses_min_segment_share_instead_of_dropping_it():
    with pytest.raises(SpecError, match="kprototypes does not use min_segment_share") as info:
        _check(method="kprototypes", k=3, min_segment_share=0.05)
    assert "k, k_range, random_state" in str(info.value)


@pytest.mark.parametrize(
    ("fields", "unknown"),
    [
        ({"method": "hdbscan", "k": 4}, "k"),
        ({"method": "rfm", "k_range": (2, 5)}, "k_range"),
        ({"method": "kmeans", "bins": 4}, "bins"),
        ({"method": "value", "random_state": 3}, "random_state"),
        ({"method": "rules", "rules": {"A": "frequency > 1"}, "k": 3}, "k"),
    ],
)
def test_a_field_the_method_does_not_read_is_an_error(fields, unknown):
    with pytest.raises(SpecError, match=f"does not use {unknown}"):
        _check(**fields)


@pytest.mark.parametrize(
    ("method", "param"),
    [("rfm", "n_init"), ("kmeans", "bins"), ("rules", "as_of"), ("value", "k"), ("gmm", "k")],
)
def test_a_param_the_estimator_does_not_take_is_an_error(method, param):
    extra = {"rules": {"A": "frequency > 1"}} if method == "rules" else {}
    with pytest.raises(SpecError, match=f"no parameter\\(s\\) {param}"):
        _check(method=method, params={param: 1}, **extra)


def test_fields_the_method_reads_reach_the_estimator():
    spec = SegmentationSpec(name="s", method="kmeans", k=3, min_segment_share=0.1, random_state=7)
    est = get_method("kmeans").builder(spec)(pd.DataFrame(), "2024-01-01")
    assert (est.k, est.min_segment_share, est.random_state) == (3, 0.1, 7)
    spec = SegmentationSpec(name="s", method="kprototypes", k=4, params={"gamma": 0.5})
    est = get_method("kprototypes").builder(spec)(pd.DataFrame(), "2024-01-01")
    assert (est.k, est.gamma) == (4, 0.5)


def test_default_features_on_cdnow(tmp_path):
    """On CDNOW the clustering defaults are the behavioural columns that vary; value uses the
    value models' outputs; rules see every column."""
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    ws.clean()
    ws.features(as_of="1998-07-01")
    features = _feature_frame(ws)
    spec = SegmentationSpec(name="c", method="kmeans")
    cols = get_method("kmeans").columns(spec, features)
    assert {"recency_days", "frequency", "monetary_total"} <= set(cols)
    assert all(features[c].nunique() > 1 for c in cols)
    assert get_method("rules").columns(
        SegmentationSpec(name="r", method="rules", rules={"A": "frequency > 1"}), features
    ) == list(features.columns)
    with pytest.raises(SpecError, match="monetary_totl"):
        get_method("kmeans").columns(
            SegmentationSpec(name="c", method="kmeans", features=["monetary_totl"]), features
        )


def test_a_run_with_an_unknown_field_stops_before_any_work(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    spec = Spec(
        sources=[{"path": str(shared_file("cdnow", "CDNOW_master.txt"))}],
        segmentations=[SegmentationSpec(name="kp", method="kprototypes", min_segment_share=0.05)],
    )
    with pytest.raises(SpecError, match="min_segment_share"):
        run_pipeline(ws, spec, out_dir=tmp_path / "out")
    assert "orders" not in ws.tables()
