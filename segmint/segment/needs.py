"""Needs-based segments: factor analysis of survey items, then k-means on the factor scores.

Customers who answered a survey are grouped by what they say they need, not by what they
bought. Items are noisy and overlap, so they are first reduced to a few factors
(:func:`segmint.feedback.survey.fit_factors`: standardized items, parallel analysis or
Kaiser's rule for the number, varimax rotation); respondents are then clustered on their factor
scores with :class:`~segmint.segment.cluster.KMeansSegmenter` (automatic k by silhouette,
stability, the size guard). Customers with no survey answer get the segment
``"No survey answers"``. Each segment is named after the factor its centre is highest on.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> group = np.arange(300) % 3
>>> level = np.eye(3)[group] * 2.5 + 1.5 + rng.normal(0, 0.3, (300, 3))
>>> X = pd.DataFrame({f"survey_q{f}{i}": level[:, f] + rng.normal(0, 0.5, 300)
...                   for f in range(3) for i in range(3)})
>>> seg = NeedsSegmenter(stability_runs=2).fit(X)
>>> seg.factors_.n_factors, seg.k_  # three groups, one high need each, span two dimensions
(2, 3)
"""

from __future__ import annotations

from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.feedback.survey import FactorSolution, fit_factors
from segmint.segment.base import BaseSegmenter, Segmentation
from segmint.segment.cluster._params import (
    check_choice,
    check_columns,
    check_int,
    check_k_range,
    check_real,
    check_seed,
)
from segmint.segment.cluster.kmeans import KMeansSegmenter

__all__ = ["NO_ANSWERS", "SURVEY_PREFIX", "NeedsSegmenter", "survey_columns"]

#: segment of customers without any survey answer
NO_ANSWERS = "No survey answers"
#: feature columns that hold survey items (``segmint.features.psychographic``)
SURVEY_PREFIX = "survey_"
#: a segment centre this far above the respondents' mean (in factor-score units) is "high"
HIGH = 0.25


def survey_columns(columns: list[str]) -> list[str]:
    """The survey item columns of a feature table (``survey_…``)."""
    return [str(c) for c in columns if str(c).startswith(SURVEY_PREFIX)]


class NeedsSegmenter(BaseSegmenter):
    """Factor analysis of survey items, then k-means on the respondents' factor scores.

    Items: ``columns``, else the ``survey_…`` columns of ``X``, else all its numeric columns.
    A respondent answered at least one item (a missing answer counts as the item's mean).
    ``n_factors``: ``"auto"`` (by ``rule``: ``"parallel"`` or ``"kaiser"``) or a number;
    ``rotation``: ``"varimax"``, ``"quartimax"`` or None. ``k``, ``k_range``,
    ``min_segment_share``, ``stability_runs`` and ``random_state`` go to the k-means step.

    Fitted: ``labels_``, ``factors_`` (:class:`~segmint.feedback.survey.FactorSolution`),
    ``kmeans_`` (the k-means on factor scores), ``scores_`` (respondents' factor scores),
    ``k_``, ``k_chosen_``, ``k_rule_``, ``k_scores_``, ``centers_`` (segment centres in
    factor scores), ``names_`` (label -> name), ``features_`` (the items), ``warnings_``.
    """

    method: ClassVar[str] = "needs"

    def __init__(
        self,
        k: Any = "auto",
        *,
        k_range: tuple[int, int] = (2, 8),
        n_factors: Any = "auto",
        rule: str = "parallel",
        rotation: str | None = "varimax",
        min_segment_share: float = 0.02,
        stability_runs: int = 8,
        random_state: int | None = 0,
        columns: list[str] | None = None,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.n_factors = n_factors
        self.rule = rule
        self.rotation = rotation
        self.min_segment_share = min_segment_share
        self.stability_runs = stability_runs
        self.random_state = random_state
        self.columns = columns

    def _validate(self) -> None:
        name = type(self).__name__
        if self.k != "auto":
            check_int(name, "k", self.k, minimum=2, also="'auto'")
        check_k_range(name, self.k_range)
        if self.n_factors != "auto":
            check_int(name, "n_factors", self.n_factors, minimum=1, also="'auto'")
        check_choice(name, "rule", self.rule, ["parallel", "kaiser"])
        check_choice(name, "rotation", self.rotation, ["varimax", "quartimax", None])
        check_real(name, "min_segment_share", self.min_segment_share, low=0.0, high=0.5)
        check_int(name, "stability_runs", self.stability_runs, minimum=0)
        check_seed(name, self.random_state)
        check_columns(name, self.columns)

    def _items(self, X: pd.DataFrame) -> pd.DataFrame:
        cols = self.columns or survey_columns(list(X.columns))
        frame = X[cols] if cols else X.select_dtypes("number")
        return frame.apply(pd.to_numeric, errors="coerce").astype("float64")

    factors_: FactorSolution

    def fit(self, X: pd.DataFrame, y: Any = None) -> NeedsSegmenter:
        """Factors on the respondents, k-means on their scores; returns ``self``."""
        self._validate()
        items = self._items(X)
        answered = items.notna().any(axis=1)
        solution = fit_factors(
            items[answered],
            n_factors=self.n_factors,
            rule=self.rule,
            rotation=self.rotation,
            random_state=self.random_state,
        )
        scores = solution.scores(items[answered])
        km = KMeansSegmenter(
            self.k,
            k_range=self.k_range,
            min_segment_share=self.min_segment_share,
            stability_runs=self.stability_runs,
            random_state=self.random_state,
        ).fit(scores)
        self.factors_ = solution
        self.kmeans_ = km
        self.scores_ = scores
        self.features_ = list(solution.items)
        self.n_respondents_ = int(answered.sum())
        self.labels_ = km.labels_.reindex(X.index).fillna(NO_ANSWERS).astype("str")
        self.labels_.name = "segment"
        self.k_ = km.k_
        self.k_chosen_ = km.k_chosen_
        self.k_rule_ = km.k_rule_
        self.k_scores_ = km.k_scores_
        self.centers_ = km.centers_
        self.names_ = self._names()
        skipped = len(X) - self.n_respondents_
        self.warnings_ = list(km.warnings_)
        if skipped:
            self.warnings_.append(
                f"{skipped:,} of {len(X):,} customers gave no survey answer and are in "
                f"'{NO_ANSWERS}'."
            )
        return self

    def _names(self) -> dict[str, str]:
        """'High <factor>' after the factor each centre is highest on (in score units)."""
        names: dict[str, str] = {}
        for label, centre in self.centers_.iterrows():
            top = str(centre.idxmax())
            if float(centre.max()) >= HIGH:
                name = f"High {self.factors_.names[top]}"
            elif float(centre.max()) < 0:
                name = "Low on every need"
            else:
                name = "No strong need"
            base, n = name, 2
            while name in names.values():
                name, n = f"{base} ({n})", n + 1
            names[str(label)] = name
        names[NO_ANSWERS] = NO_ANSWERS
        return names

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Segment of every customer of ``X`` (same item columns as in ``fit``)."""
        self._check_fitted()
        items = X[self.features_].apply(pd.to_numeric, errors="coerce").astype("float64")
        answered = items.notna().any(axis=1)
        labels = pd.Series(dtype="str")
        if answered.any():
            labels = self.kmeans_.predict(self.factors_.scores(items[answered]))
        out = labels.reindex(X.index).fillna(NO_ANSWERS).astype("str")
        return out.rename("segment")

    def to_ibis(self, table: ir.Table, column: str = "segment") -> ir.Table:
        """``table`` plus ``column``: factor scores and the nearest centre as engine
        expressions (the same arithmetic as :meth:`predict`)."""
        self._check_fitted()
        sol = self.factors_
        z = [
            ((table[c].cast("float64") - float(m)) / float(s)).coalesce(0.0) - float(c0)
            for c, m, s, c0 in zip(sol.items, sol.means, sol.sds, sol.center, strict=True)
        ]
        scores = {}
        for j, f in enumerate(sol.factors):
            total = z[0] * float(sol.weights[0, j])
            for i in range(1, len(z)):
                total = total + z[i] * float(sol.weights[i, j])
            scores[f] = total
        t = self.kmeans_.to_ibis(table.mutate(**scores), column=column).drop(*scores)
        answered = ibis.or_(*(table[c].notnull() for c in sol.items))
        return t.mutate(**{column: ibis.ifelse(answered, t[column], NO_ANSWERS)})

    def relabel(self, mapping: dict[str, str]) -> NeedsSegmenter:
        """Rename the fitted segments (label -> new label); 'No survey answers' keeps its."""
        self._check_fitted()
        mapping = {k: v for k, v in mapping.items() if NO_ANSWERS not in (k, v)}
        self.kmeans_.relabel(mapping)
        self.labels_ = self.labels_.map(lambda x: mapping.get(x, x)).astype("str")
        self.centers_ = self.kmeans_.centers_
        self.names_ = {mapping.get(k, k): v for k, v in self.names_.items()}
        self.warnings_ = list(self.warnings_)
        return self

    def segmentation(self, name: str) -> Segmentation:
        """The fitted result: the k-means facts and the factor solution in ``details``."""
        self._check_fitted()
        km = self.kmeans_.segmentation(name).details
        details: dict[str, Any] = {
            **km,
            "features": list(self.features_),
            "customers": len(self.labels_),
            "respondents": self.n_respondents_,
            "factors": self.factors_.to_json() | {"weights": None},
            "params": self.get_params(),
        }
        return Segmentation(
            name=name,
            method=self.method,
            labels=self.labels_.copy(),
            features=list(self.features_),
            details=details,
            names=dict(self.names_),
            warnings=list(self.warnings_),
        )
