"""Fitted segmenters saved as JSON data, never as pickles.

A stored model is a JSON document (Splink saves its models the same way)::

    {"format": "segmint-model", "version": 1, "estimator": "KMeansSegmenter",
     "state": {"k": "auto", …, "scaler_": {"__object__": "Scaler", "state": {…}},
               "assigner_": {"__object__": "CentroidAssigner", "state": {"centroids":
               {"__array__": "float64", "shape": [4, 5], "data": [...]}, …}}, …}}

``state`` holds the hyperparameters and what ``predict`` needs (centres, scaling, categorical
levels, RFM cut points and map, rule texts, value-model parameters and tiers, a needs model's
factor solution and its k-means); per-customer
results (``labels_``, ``values_``, …) are stored as tables, so they are kept with no rows.
Values are plain JSON; numpy arrays, pandas frames, tuples, dates and non-finite floats are
tagged objects; nested objects may only be segmint's own model classes (:func:`allowed_classes`:
the scaling and assignment classes in :data:`CLASSES` and every segmint estimator), and
rules are kept as their text and parsed again on load. Loading therefore builds data, never
runs code named by the file: a workspace from someone else cannot make the server run code.
Floats are written with Python's shortest round-trip ``repr``, so a loaded model predicts the
same labels as the fitted one.

>>> import pandas as pd
>>> from segmint.segment.rfm import RFMSegmenter
>>> X = pd.DataFrame({"recency_days": [5, 50, 300, 20], "frequency": [9, 2, 1, 4],
...                   "monetary_total": [900.0, 80.0, 10.0, 300.0]},
...                  index=pd.Index(list("abcd"), name="customer_id"))
>>> est = RFMSegmenter().fit(X)
>>> again = model_from_json(model_to_json(est))
>>> again.predict(X).equals(est.predict(X))
True
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.segment.registry import estimator_class

__all__ = [
    "CLASSES",
    "FORMAT",
    "VERSION",
    "allowed_classes",
    "model_columns",
    "model_from_json",
    "model_to_json",
]

FORMAT = "segmint-model"
VERSION = 1
#: classes a stored model may contain besides the estimators: name -> defining module
CLASSES = {
    "Scaler": "segmint.segment.cluster.scaling",
    "ColumnScaling": "segmint.segment.cluster.scaling",
    "CentroidAssigner": "segmint.segment.cluster._assign",
    "GaussianAssigner": "segmint.segment.cluster._assign",
    "FactorSolution": "segmint.feedback.survey",
}
#: attributes parsed again from their text on load instead of being stored
_REBUILT = {"RulesSegmenter": ("rules_",)}


def model_to_json(est: Any) -> dict[str, Any]:
    """The fitted estimator ``est`` as a JSON-ready document (per-customer results left out)."""
    name = type(est).__name__
    estimator_class(name)  # only registered estimators are saved
    skip = _REBUILT.get(name, ())
    labels = getattr(est, "labels_", None)
    n = None if labels is None else len(labels)
    state = {k: _encode(_slim(v, n)) for k, v in vars(est).items() if k not in skip}
    return {"format": FORMAT, "version": VERSION, "estimator": name, "state": state}


def model_from_json(doc: Any) -> Any:
    """The estimator saved by :func:`model_to_json`; ModelError for anything else."""
    if isinstance(doc, str | bytes):
        doc = json.loads(doc)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(
            "This stored model is not a segmint model document.",
            fix="run the segmentation again with this version of segmint to store its model.",
        )
    if doc.get("version") != VERSION:
        raise ModelError(
            f"This stored model has format version {doc.get('version')!r}; this segmint reads "
            f"version {VERSION}.",
            fix="run the segmentation again with this version of segmint.",
        )
    name = str(doc.get("estimator"))
    try:
        cls = estimator_class(name)
    except Exception:
        raise ModelError(
            f"This stored model is a '{name}', which segmint does not know.",
            fix="run the segmentation again with this version of segmint.",
        ) from None
    est = object.__new__(cls)
    est.__dict__.update({k: _decode(v) for k, v in dict(doc.get("state") or {}).items()})
    if name == "RulesSegmenter":
        from segmint.segment.rules import parse_rules

        est.rules_ = parse_rules(list(dict(est.rules).items()))
    return est


def _slim(value: Any, n: int | None) -> Any:
    """Per-customer tables (as many rows as ``labels_``) keep their columns and no rows."""
    if n is not None and isinstance(value, pd.Series | pd.DataFrame) and len(value) == n:
        return value.iloc[:0]
    return value


def _float(x: float) -> Any:
    return x if math.isfinite(x) else {"__float__": repr(x)}


def _encode(v: Any) -> Any:
    if v is None or isinstance(v, bool | str | int):
        return v
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, np.generic):
        return _encode(v.item())
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x) for x in v]}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return {"__dict__": {k: _encode(x) for k, x in v.items()}}
        return {"__pairs__": [[_encode(k), _encode(x)] for k, x in v.items()]}
    if isinstance(v, np.ndarray):
        return {
            "__array__": str(v.dtype),
            "shape": list(v.shape),
            "data": [_encode(x) for x in v.ravel().tolist()],
        }
    if isinstance(v, pd.Series):
        return {"__series__": _encode(v.to_frame(name="v" if v.name is None else v.name))}
    if isinstance(v, pd.DataFrame):
        return _frame(v)
    if isinstance(v, dt.datetime | dt.date):
        return {"__datetime__" if isinstance(v, dt.datetime) else "__date__": v.isoformat()}
    cls = type(v).__name__
    if allowed_classes().get(cls) is type(v):
        return {"__object__": cls, "state": {k: _encode(x) for k, x in vars(v).items()}}
    raise ModelError(
        f"A fitted {cls} cannot be stored as a segmint model.",
        fix="this is a bug in segmint: please report it with the segmentation's spec.",
    )


@functools.cache
def allowed_classes() -> dict[str, type[Any]]:
    """Name -> class of every object a stored model may hold: :data:`CLASSES` and every
    segmint estimator (segmenters and the value models they fit)."""
    from segmint.segment.base import BaseEstimator

    for module in ("cluster", "rfm", "rules", "value", "needs"):
        importlib.import_module(f"segmint.segment.{module}")  # defines its estimators
    out = {n: getattr(importlib.import_module(m), n) for n, m in CLASSES.items()}
    todo = list(BaseEstimator.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("segmint.") and not inspect.isabstract(cls):
            out.setdefault(cls.__name__, cls)
    return out


def _frame(df: pd.DataFrame) -> dict[str, Any]:
    return {
        "__frame__": {
            "columns": [_encode(c) for c in df.columns],
            "dtypes": [str(t) for t in df.dtypes],
            "index": _encode(df.index.to_numpy()),
            "index_name": _encode(df.index.name),
            "index_dtype": str(df.index.dtype),
            "name": _encode(getattr(df.columns, "name", None)),
            "data": [[_encode(x) for x in df[c].tolist()] for c in df.columns],
        }
    }


def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__float__" in v:
        return float(v["__float__"])
    if "__tuple__" in v:
        return tuple(_decode(x) for x in v["__tuple__"])
    if "__dict__" in v:
        return {k: _decode(x) for k, x in v["__dict__"].items()}
    if "__pairs__" in v:
        return {_decode(k): _decode(x) for k, x in v["__pairs__"]}
    if "__array__" in v:
        data = [_decode(x) for x in v["data"]]
        return np.array(data, dtype=np.dtype(v["__array__"])).reshape(v["shape"])
    if "__series__" in v:
        frame = _decode(v["__series__"])
        return frame.iloc[:, 0]
    if "__frame__" in v:
        return _unframe(v["__frame__"])
    if "__datetime__" in v:
        return dt.datetime.fromisoformat(v["__datetime__"])
    if "__date__" in v:
        return dt.date.fromisoformat(v["__date__"])
    if "__object__" in v:
        return _object(str(v["__object__"]), v.get("state") or {})
    raise ModelError(
        f"A stored model holds an unknown value {sorted(v)[:3]}.",
        fix="run the segmentation again with this version of segmint.",
    )


def _object(name: str, state: dict[str, Any]) -> Any:
    cls = allowed_classes().get(name)
    if cls is None:
        raise ModelError(
            f"A stored model names the class '{name}', which a segmint model may not contain.",
            fix="run the segmentation again with this version of segmint.",
        )
    obj = object.__new__(cls)
    obj.__dict__.update({k: _decode(x) for k, x in state.items()})
    return obj


def _unframe(f: dict[str, Any]) -> pd.DataFrame:
    columns = [_decode(c) for c in f["columns"]]
    data = {
        i: pd.Series([_decode(x) for x in values], dtype=_dtype(t))
        for i, (values, t) in enumerate(zip(f["data"], f["dtypes"], strict=True))
    }
    index = pd.Index(
        _decode(f["index"]), dtype=_dtype(f["index_dtype"]), name=_decode(f["index_name"])
    )
    df = pd.DataFrame({i: s.to_numpy() for i, s in data.items()}, index=index)
    df = df.astype({i: _dtype(t) for i, t in zip(data, f["dtypes"], strict=True)})
    df.columns = pd.Index(columns, name=_decode(f.get("name")))
    return df


def _dtype(text: str) -> Any:
    """A pandas dtype from its name; an unknown one (e.g. a categorical) is kept as object."""
    try:
        return pd.api.types.pandas_dtype(text)
    except TypeError:
        return object


def model_columns(model: Any, features: list[str]) -> list[str]:
    """The columns a fitted (or reloaded) model reads to score: a cluster model's features,
    RFM's three, the value models' purchase summary; else ``features`` (what the
    segmentation was built on: rules)."""
    for attr in ("columns_", "feature_names_in_", "features_"):
        cols = getattr(model, attr, None)
        if cols is not None and len(cols):
            return [str(c) for c in cols]
    if hasattr(model, "bgnbd_"):
        return ["frequency", "recency", "T", "monetary_value"]
    if hasattr(model, "thresholds_") and hasattr(model, "recency"):
        return [model.recency, model.frequency, model.monetary]
    return list(features)
