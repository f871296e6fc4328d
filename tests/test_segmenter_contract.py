"""One contract for every registered segmenter (scikit-learn's estimator conventions).

Each segmenter in ``SEGMENTERS`` (and the needs segmenter) is built with small settings and checked the same way: ``fit``
returns ``self``; learned state ends in ``_``; parameters are stored unchanged (validation
happens in ``fit``) and round-trip through get/set_params; predict works on unseen rows with
labels from the fitted set; unfitted predict raises NotFittedError; the model saved as JSON
predicts the same; the same random_state gives the same labels; a bad parameter raises ModelError with a scikit-learn-style message.
"""

from __future__ import annotations

import inspect
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from segmint.exceptions import ModelError, NotFittedError
from segmint.segment.base import UNASSIGNED, BaseSegmenter, Segmentation
from segmint.segment.cluster import SEGMENTERS as CLUSTERING
from segmint.segment.needs import NeedsSegmenter

SEGMENTERS: dict[str, type[BaseSegmenter]] = {**CLUSTERING, "needs": NeedsSegmenter}

#: small, fast settings per method (any other registered method fits with its defaults)
SMALL: dict[str, dict[str, Any]] = {
    "kmeans": {"k_range": (2, 4), "stability_runs": 2},
    "gmm": {"k_range": (2, 4), "stability_runs": 2},
    "hdbscan": {"stability_runs": 2},
    "kprototypes": {"k": 3},
    "needs": {"k_range": (2, 4), "stability_runs": 2},
}

#: (bad parameters, the exact message) per method
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "kmeans": (
        {"k": 1},
        "The 'k' parameter of KMeansSegmenter must be an int ≥ 2 or 'auto'. Got 1.",
    ),
    "gmm": ({"k": 0}, "The 'k' parameter of GMMSegmenter must be an int ≥ 1 or 'auto'. Got 0."),
    "hdbscan": (
        {"min_cluster_size": 1},
        "The 'min_cluster_size' parameter of HDBSCANSegmenter must be an int ≥ 2 or 'auto'. Got 1.",
    ),
    "kprototypes": (
        {"k": 1},
        "The 'k' parameter of KPrototypesSegmenter must be an int ≥ 2 or 'auto'. Got 1.",
    ),
    "needs": (
        {"n_factors": 0},
        "The 'n_factors' parameter of NeedsSegmenter must be an int ≥ 1 or 'auto'. Got 0.",
    ),
}

METHODS = sorted(SEGMENTERS)


def frame(method: str, n: int = 360, seed: int = 0) -> pd.DataFrame:
    """Three clear groups; k-prototypes also gets a categorical column; the needs segmenter
    gets Likert answers (three items for each of three needs, one high need per group)."""
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 3
    if method == "needs":
        level = 1.5 + 2.5 * np.eye(3)[group] + rng.normal(0, 0.3, (n, 3))
        items = {
            f"survey_q_need{f}_{i}": np.clip(np.round(level[:, f] + rng.normal(0, 0.6, n)), 1, 5)
            for f in range(3)
            for i in range(3)
        }
        index = pd.Index([f"C{seed}-{i:04d}" for i in range(n)], name="customer_id")
        return pd.DataFrame(items, index=index)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    values = centres[group] + rng.normal(0, 0.8, (n, 2))
    X = pd.DataFrame(values, columns=["recency", "spend"])
    X["spend"] = np.exp(X["spend"] / 3)  # skewed, as money is
    if method == "kprototypes":
        X["channel"] = np.array(["web", "store", "app"])[group]
    X.index = pd.Index([f"C{seed}-{i:04d}" for i in range(n)], name="customer_id")
    return X


def build(method: str, **params: Any) -> BaseSegmenter:
    return SEGMENTERS[method](**{**SMALL.get(method, {}), **params})


@pytest.fixture(scope="module", params=METHODS)
def fitted(request) -> tuple[str, BaseSegmenter, pd.DataFrame]:
    method = request.param
    X = frame(method)
    return method, build(method).fit(X), X


def test_the_registry_names_every_method():
    assert {"kmeans", "gmm", "hdbscan"} <= set(SEGMENTERS)
    for name, cls in SEGMENTERS.items():
        assert issubclass(cls, BaseSegmenter), name


def test_fit_returns_self_and_learned_state_ends_in_underscore(fitted):
    method, _, X = fitted
    again = build(method)
    before = set(vars(again))
    assert again.fit(X) is again
    added = set(vars(again)) - before
    assert "labels_" in added
    public = [a for a in added if not a.startswith("_")]
    assert all(a.endswith("_") for a in public), sorted(a for a in public if not a.endswith("_"))
    labels = again.labels_
    assert isinstance(labels, pd.Series) and labels.index.equals(X.index)
    assert labels.map(type).eq(str).all()


def test_params_are_stored_unchanged_without_validation(fitted):
    method, _, _ = fitted
    cls = SEGMENTERS[method]
    names = cls._param_names()
    odd = {name: object() for name in names}
    keyword_only = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    ]
    positional = {k: v for k, v in odd.items() if k not in keyword_only}
    seg = cls(*positional.values(), **{k: odd[k] for k in keyword_only})  # must not raise
    params = seg.get_params()
    assert all(params[name] is odd[name] for name in names)


def test_get_params_set_params_round_trip(fitted):
    _, seg, _ = fitted
    params = seg.get_params()
    clone = type(seg)(**params)
    assert clone.get_params() == params
    assert clone.set_params(random_state=7) is clone
    assert clone.get_params()["random_state"] == 7
    with pytest.raises(ValueError, match="has no parameter 'bogus'"):
        clone.set_params(bogus=1)


def test_predict_assigns_unseen_customers_to_fitted_segments(fitted):
    method, seg, X = fitted
    new = frame(method, n=90, seed=1)
    assert not set(new.index) & set(X.index)
    labels = seg.predict(new)
    assert isinstance(labels, pd.Series) and labels.index.equals(new.index)
    allowed = set(seg.labels_)
    if method == "hdbscan":
        allowed.add(UNASSIGNED)
    assert set(labels) <= allowed
    # clear groups: unseen members of one group land mostly in one segment
    group = np.arange(len(new)) % 3
    agree = pd.crosstab(group, labels.to_numpy()).max(axis=1).sum() / len(new)
    assert agree > 0.9


def test_unfitted_predict_raises_not_fitted(fitted):
    method, _, X = fitted
    seg = build(method)
    with pytest.raises(NotFittedError) as err:
        seg.predict(X)
    text = str(err.value)
    assert f"This {type(seg).__name__} is not fitted yet." in text
    assert "fit(" in text


def test_same_random_state_gives_the_same_segments(fitted):
    method, seg, X = fitted
    again = build(method).fit(X)
    assert again.labels_.equals(seg.labels_)


def test_bad_parameters_raise_scikit_learn_style_messages(fitted):
    method, _, X = fitted
    bad, message = BAD[method]
    with pytest.raises(ModelError) as err:
        build(method, **bad).fit(X)
    assert err.value.problem == message
    assert err.value.fix
    with pytest.raises(ModelError) as err:
        build(method, random_state=-1).fit(X)
    assert err.value.problem == (
        f"The 'random_state' parameter of {type(build(method)).__name__} must be an int ≥ 0 "
        "or None. Got -1."
    )


def test_segmentation_packs_the_fitted_labels(fitted):
    method, seg, _ = fitted
    result = seg.segmentation("contract")
    assert isinstance(result, Segmentation)
    assert result.name == "contract" and result.method == method
    assert result.labels.equals(seg.labels_)
    assert result.features


def test_assignment_in_the_engine_equals_predict(fitted):
    method, seg, _ = fitted
    new = frame(method, n=90, seed=2)
    con = ibis.duckdb.connect()
    table = con.create_table("features", new.reset_index())
    out = seg.to_ibis(table)  # type: ignore[attr-defined]
    if not isinstance(out, ir.Table):  # an expression for the segment (kprototypes, for now)
        out = table.mutate(segment=out)
    in_sql = con.execute(out).set_index("customer_id")["segment"].reindex(new.index)
    assert in_sql.tolist() == seg.predict(new).tolist()


def test_the_model_saved_as_json_predicts_the_same_segments(fitted):
    """The stored form of every segmenter is JSON data (no pickle) that predicts the same."""
    import json

    from segmint.segment.models import model_from_json, model_to_json

    method, est, _X = fitted
    again = model_from_json(json.dumps(model_to_json(est), allow_nan=False))
    new = frame(method, n=90, seed=9)
    pd.testing.assert_series_equal(again.predict(new), est.predict(new))
