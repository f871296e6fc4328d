"""What every segmenter is, and what every segmentation produces.

Segmenters are scikit-learn-style estimators:

* hyperparameters are keyword arguments of ``__init__``, stored unchanged under the same names
  (validation happens in ``fit``, never in ``__init__``);
* ``fit(X)`` learns from a feature frame (pandas DataFrame indexed by ``customer_id``) and
  returns ``self``; learned state lives in attributes ending in ``_`` (``labels_``,
  ``centers_``, …);
* ``predict(X)`` starts with :meth:`BaseSegmenter._check_fitted` and assigns new customers;
* ``segmentation(name)`` packs the fitted result as a :class:`Segmentation`, the one shape
  that profiles, ranking and the report consume.

``tests/test_segmenter_contract.py`` runs the same checks over every registered segmenter.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Self

import pandas as pd

from segmint.exceptions import NotFittedError

__all__ = ["UNASSIGNED", "BaseEstimator", "BaseSegmenter", "Segmentation"]

#: label of customers a method leaves out (HDBSCAN noise, rules' "Other" is a real segment)
UNASSIGNED = "Unassigned"


@dataclass
class Segmentation:
    """The result of any segmentation method.

    ``labels`` maps every customer (index ``customer_id``) to a segment label (text). ``names``
    maps labels to display names (profiles fill them in; users may edit them). ``details``
    holds method-specific facts for the report (k curve, stability, rules, scaling…);
    ``warnings`` holds guard messages (tiny or unstable segments) in plain words.
    """

    name: str
    method: str
    labels: pd.Series
    features: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def segments(self) -> list[str]:
        """Segment labels, largest first (ties by label)."""
        counts = self.labels.value_counts()
        return sorted(counts.index.astype(str), key=lambda s: (-int(counts[s]), s))

    def display_name(self, label: str) -> str:
        return self.names.get(label, label)

    def sizes(self) -> pd.Series:
        return self.labels.value_counts().reindex(self.segments)


class BaseEstimator:
    """Parameter handling and the fitted check (scikit-learn conventions).

    Shared by segmenters and the value models (``segment/value``), which are estimators too
    but predict numbers rather than segments.
    """

    #: attribute whose presence means "fitted"
    _fitted_attr = "labels_"

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter '{key}'. "
                    f"Parameters: {', '.join(valid)}."
                )
            setattr(self, key, value)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attr):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet.",
                fix=f"call {type(self).__name__}(...).fit(features) before predict().",
            )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class BaseSegmenter(BaseEstimator, ABC):
    """Base class of every segmenter: fit → labels_, predict, segmentation(name)."""

    @abstractmethod
    def fit(self, X: pd.DataFrame, y: Any = None) -> BaseSegmenter:
        """Learn from ``X`` (index customer_id); return ``self``."""

    @abstractmethod
    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Segment labels for the customers of ``X`` (call ``_check_fitted`` first)."""

    def fit_predict(self, X: pd.DataFrame, y: Any = None) -> pd.Series:
        self.fit(X)
        labels: pd.Series = self.labels_  # type: ignore[attr-defined]
        return labels

    @abstractmethod
    def segmentation(self, name: str) -> Segmentation:
        """The fitted result as a :class:`Segmentation` named ``name``."""
