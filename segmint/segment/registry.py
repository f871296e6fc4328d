"""Every segmentation method, declared once: its spec fields, its ``params``, the features it
needs and how to build its estimator.

A method is data (scikit-learn keeps its ``_parameter_constraints`` the same way): ``segmint
run`` builds estimators from it, the API and the web form list methods and defaults from it,
and a spec field the method does not read is refused here instead of being silently dropped.
Adding a method is one :class:`Method` entry in :data:`METHODS` (and its estimator).

>>> get_method("kprototypes").fields
('k', 'k_range', 'random_state')
>>> sorted(METHODS) == sorted(
...     ("rules", "rfm", "kmeans", "kprototypes", "gmm", "hdbscan", "value", "needs")
... )
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from segmint.exceptions import SpecError
from segmint.spec.model import SegmentationSpec

__all__ = [
    "COMMON_FIELDS",
    "DEFAULT_CLUSTER_FEATURES",
    "METHODS",
    "Builder",
    "Method",
    "estimator_class",
    "get_method",
    "missing_features",
]

#: fields every method reads (``features`` chooses the columns; ``params`` the other keywords)
COMMON_FIELDS = ("name", "method", "features", "params")
#: zero-config clustering features, used when present and not constant
DEFAULT_CLUSTER_FEATURES = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    "discount_share",
    "return_rate",
)

#: builds the estimator for a feature frame and the as-of date (ISO text)
Builder = Callable[[pd.DataFrame, str], Any]


@dataclass(frozen=True)
class Method:
    """One segmentation method.

    ``fields`` are the spec fields it reads and ``kwargs`` the estimator keyword each one
    becomes; ``params`` the other estimator keywords a spec may pass under ``params:`` (None:
    every ``__init__`` keyword not already a field). ``features`` says which columns it segments
    when the spec names none: ``"clustering"`` (the numeric defaults that vary), ``"value"``
    (the value models' outputs), ``"survey"`` (the ``survey_…`` items) or ``"all"``. ``labels_are_names``: its labels are display names
    already (RFM's "Champions"), so profiles do not invent names.
    """

    name: str
    label: str
    estimator: str
    fields: tuple[str, ...]
    kwargs: Mapping[str, str] = field(default_factory=dict)
    params: tuple[str, ...] | None = None
    features: str = "all"
    numeric_only: bool = False
    labels_are_names: bool = False
    takes_k: bool = False
    #: the estimator keyword that receives the run's as-of date (rules' relative dates)
    as_of: str | None = None
    #: checks the keywords before any data is read (rule syntax, value tiers), raising
    validate: Callable[[dict[str, Any]], None] | None = None

    @property
    def cls(self) -> type[Any]:
        """The estimator class (imported on first use)."""
        return estimator_class(self.estimator)

    def allowed_params(self) -> list[str]:
        """Keywords a spec may pass under ``params``."""
        if self.params is not None:
            return sorted(self.params)
        taken = set(self.kwargs.values()) | {"columns"}
        return sorted(p for p in self.cls._param_names() if p not in taken)

    def defaults(self) -> dict[str, Any]:
        """The default of every spec field this method reads (from the spec model)."""
        return {
            f: SegmentationSpec.model_fields[f].get_default(call_default_factory=True)
            for f in self.fields
        }

    def constraints(self) -> dict[str, dict[str, Any]]:
        """Each field's type, bounds, choices and default as JSON Schema (the spec model's own
        validation rules, as data: what a form or an API client may send)."""
        schema = SegmentationSpec.model_json_schema()["properties"]
        return {f: {k: v for k, v in schema[f].items() if k != "title"} for f in self.fields}

    def check(self, s: SegmentationSpec) -> None:
        """Refuse spec fields and params this method does not read (with the ones it does)."""
        unknown = sorted(s.model_fields_set - set(COMMON_FIELDS) - set(self.fields))
        if unknown:
            raise SpecError(
                f"Segmentation '{s.name}': method {self.name} does not use {', '.join(unknown)}.",
                fix=f"remove {', '.join(unknown)}; {self.name} reads "
                f"{', '.join(self.fields) or 'no other fields'} (and params: "
                f"{', '.join(self.allowed_params()) or 'none'}).",
            )
        allowed = self.allowed_params()
        bad = sorted(set(s.params) - set(allowed))
        if bad:
            raise SpecError(
                f"Segmentation '{s.name}': {self.cls.__name__} has no parameter(s) "
                f"{', '.join(bad)} under params.",
                fix=f"use params from: {', '.join(allowed) or 'none (this method takes none)'}.",
            )

    def keywords(self, s: SegmentationSpec) -> dict[str, Any]:
        """The estimator's keyword arguments from the spec."""
        out: dict[str, Any] = {}
        for f in self.fields:
            if f in self.kwargs:
                value = getattr(s, f)
                out[self.kwargs[f]] = tuple(value) if isinstance(value, list) else value
        return out | dict(s.params)

    def builder(self, s: SegmentationSpec) -> Builder:
        """Check ``s`` and return the estimator factory (errors now, before any work)."""
        self.check(s)
        kwargs = self.keywords(s)
        if self.validate is not None:
            self.validate(kwargs)
        cls, dated = self.cls, self.as_of

        def build(_x: pd.DataFrame, as_of: str) -> Any:
            when = {dated: datetime.fromisoformat(as_of)} if dated else {}
            return cls(**kwargs, **when)

        return build

    def columns(self, s: SegmentationSpec, features: pd.DataFrame) -> list[str]:
        """The feature columns this segmentation segments on."""
        if s.features:
            missing_features(s, list(features.columns))
            return list(s.features)
        if self.features == "value":
            from segmint.segment.value import VALUE_COLUMNS

            return list(VALUE_COLUMNS)
        if self.features == "survey":
            from segmint.segment.needs import survey_columns

            items = survey_columns(list(features.columns))
            if len(items) < 2:
                raise SpecError(
                    f"Segmentation '{s.name}' (method needs) needs survey items, but the "
                    f"feature table has {len(items) or 'no'} survey_ column(s).",
                    fix="import survey answers into feedback (Likert items as numeric columns, "
                    "or a question and an answer column; see docs/needs.md).",
                )
            return items
        if self.features == "clustering":
            cols = [
                c
                for c in DEFAULT_CLUSTER_FEATURES
                if c in features.columns and features[c].nunique(dropna=True) > 1
            ]
            return cols or _text_columns(features) or _numeric_attributes(features)
        return list(features.columns)

    def frame(self, features: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """What the estimator is fitted on: ``columns`` of ``features`` (:meth:`columns`), the
        numeric ones only where the method cannot use others."""
        X = features[columns]
        return X.select_dtypes("number") if self.numeric_only else X


def missing_features(s: SegmentationSpec, known: list[str]) -> None:
    """SpecError when ``s`` asks for features not in ``known``, with "did you mean"."""
    import difflib

    missing = [c for c in s.features or [] if c not in known]
    if not missing:
        return
    close = {c: difflib.get_close_matches(c, known, n=1, cutoff=0.6) for c in missing}
    hints = [f"did you mean '{m[0]}' for '{c}'?" for c, m in close.items() if m]
    raise SpecError(
        f"Segmentation '{s.name}' asks for feature(s) {', '.join(missing)}, which the "
        "feature table does not have" + (f"; {' '.join(hints)}" if hints else "."),
        fix=f"choose from: {', '.join(known)} (see docs/features.md).",
    )


#: what customers wrote (the text family), clustered when there are no order features
_TEXT_FEATURES = ("rating_mean", "sentiment_mean", "negative_share")


def _text_columns(features: pd.DataFrame) -> list[str]:
    """Without order features, what the customers wrote (sentiment, topic shares, rating)
    when at least two such columns vary: a workspace of reviews or posts is segmented by what
    its authors said, not by counts such as retweets. Chosen anew from each feature table, so
    a refit after the topics changed clusters the new topics."""
    cols = [
        str(c)
        for c in features.columns
        if (c in _TEXT_FEATURES or (str(c).startswith("topic_") and str(c).endswith("_share")))
        and features[c].nunique(dropna=True) > 1
    ]
    return cols if len(cols) >= 2 else []


def _numeric_attributes(features: pd.DataFrame) -> list[str]:
    """What clustering uses by default when there are no order features (a customers-only
    file): the numeric columns (age, income, the customers' extra attributes; category codes
    are text already, see :mod:`segmint.features.attributes`), except constants and
    identifiers (distinct integers)."""
    cols = []
    for c in features.select_dtypes("number").columns:
        col = features[c]
        n = col.nunique(dropna=True)
        ident = pd.api.types.is_integer_dtype(col) and n == col.notna().sum() and n > 20
        if n > 1 and not ident:
            cols.append(str(c))
    return cols


def _rule_syntax(kwargs: dict[str, Any]) -> None:
    from segmint.segment.rules import parse_rules

    parse_rules(list(kwargs["rules"].items()))


def _value_settings(kwargs: dict[str, Any]) -> None:
    estimator_class("ValueSegmenter")(**kwargs)._check_params()


_CLUSTER = {"k": "k", "k_range": "k_range", "min_segment_share": "min_segment_share"}
_SEED = {"random_state": "random_state"}

#: method name (as in specs, the CLI, the API and the web form) -> method
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "rules",
            "Rules (your own expressions)",
            "RulesSegmenter",
            ("rules", "mode", "other"),
            {"rules": "rules", "mode": "mode", "other": "other"},
            params=(),
            labels_are_names=True,
            as_of="as_of",
            validate=_rule_syntax,
        ),
        Method(
            "rfm",
            "RFM scores",
            "RFMSegmenter",
            ("bins",),
            {"bins": "bins"},
            params=("frequency", "monetary", "recency", "segment_map"),
            labels_are_names=True,
        ),
        Method(
            "kmeans",
            "k-means (numeric features)",
            "KMeansSegmenter",
            (*_CLUSTER, "random_state"),
            _CLUSTER | _SEED,
            features="clustering",
            numeric_only=True,
            takes_k=True,
        ),
        Method(
            "kprototypes",
            "k-prototypes (numeric and categorical)",
            "KPrototypesSegmenter",
            ("k", "k_range", "random_state"),
            {"k": "k", "k_range": "k_range"} | _SEED,
            features="clustering",
            takes_k=True,
        ),
        Method(
            "gmm",
            "Gaussian mixture",
            "GMMSegmenter",
            (*_CLUSTER, "random_state"),
            _CLUSTER | _SEED,
            features="clustering",
            numeric_only=True,
            takes_k=True,
        ),
        Method(
            "hdbscan",
            "HDBSCAN (density; finds its own number of segments)",
            "HDBSCANSegmenter",
            ("min_segment_share", "random_state"),
            {"min_segment_share": "min_segment_share"} | _SEED,
            features="clustering",
            numeric_only=True,
        ),
        Method(
            "value",
            "Value tiers (CLV, P(alive), churn risk)",
            "ValueSegmenter",
            ("horizon_days", "discount_rate", "holdout_days", "tiers"),
            {"horizon_days": "horizon_days", "discount_rate": "discount_rate", "tiers": "tiers"},
            params=("churn_p_alive", "churn_value_share", "margin", "penalizer", "unit"),
            features="value",
            labels_are_names=True,
            validate=_value_settings,
        ),
        Method(
            "needs",
            "Needs (survey factors, then k-means)",
            "NeedsSegmenter",
            (*_CLUSTER, "random_state"),
            _CLUSTER | _SEED,
            features="survey",
            numeric_only=True,
            takes_k=True,
        ),
    )
}

#: estimator class name -> the module that defines it (the only classes a stored model names)
_ESTIMATORS = {
    "RulesSegmenter": "segmint.segment.rules",
    "RFMSegmenter": "segmint.segment.rfm",
    "KMeansSegmenter": "segmint.segment.cluster",
    "KPrototypesSegmenter": "segmint.segment.cluster",
    "GMMSegmenter": "segmint.segment.cluster",
    "HDBSCANSegmenter": "segmint.segment.cluster",
    "ValueSegmenter": "segmint.segment.value",
    "NeedsSegmenter": "segmint.segment.needs",
}


def estimator_class(name: str) -> type[Any]:
    """The estimator class called ``name`` (one of the registered methods' estimators)."""
    module = _ESTIMATORS.get(name)
    if module is None:
        raise SpecError(
            f"'{name}' is not a segmint estimator.",
            fix=f"use one of: {', '.join(sorted(_ESTIMATORS))}.",
        )
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def get_method(name: str) -> Method:
    """The method called ``name``; SpecError naming the known ones otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise SpecError(
            f"'{name}' is not a segmentation method.",
            fix=f"use one of: {', '.join(METHODS)}.",
        ) from None
