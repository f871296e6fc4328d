"""Psychographic features (M5): ratings and survey (Likert) answers from ``feedback``.

Per customer, over the feedback rows answered at or before the as-of date (undated rows count):

* ``rating_mean`` — mean ``rating``; ``feedback_count`` — number of feedback rows (0 if none);
* ``survey_<name>`` — the mean of every numeric extra column of ``feedback`` (one that is not a
  canonical or lineage column, e.g. ``q_price_sensitive`` → ``survey_q_price_sensitive``).

>>> from datetime import datetime
>>> import ibis, pandas as pd
>>> fb = ibis.memtable(pd.DataFrame({"customer_id": ["C1", "C1"], "rating": [4.0, 5.0],
...     "answered_at": pd.to_datetime(["2024-01-01", "2024-02-01"]), "q_eco": [2, 4]}))
>>> part = feedback_features(fb, datetime(2024, 3, 1))
>>> part.table.to_pyarrow().to_pylist()
[{'customer_id': 'C1', 'rating_mean': 4.5, 'feedback_count': 2, 'survey_q_eco': 3.0}]
"""

from __future__ import annotations

from datetime import datetime

import ibis.expr.types as ir

from segmint.features._common import FeaturePart, unique_slugs
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = ["feedback_features", "survey_items"]

_KNOWN = {*CANONICAL["feedback"].names, *(c.name for c in LINEAGE)}


def survey_items(feedback: ir.Table) -> list[str]:
    """The numeric extra columns of ``feedback`` (survey items), in table order."""
    schema = feedback.schema()
    return [n for n in feedback.columns if n not in _KNOWN and schema[n].is_numeric()]


def feedback_features(feedback: ir.Table, as_of: datetime) -> FeaturePart:
    """Mean rating, number of answers and mean survey items per customer."""
    f = feedback.filter(feedback.customer_id.notnull())
    if "answered_at" in f.columns:
        f = f.filter(f.answered_at.isnull() | (f.answered_at <= as_of))
    metrics: dict[str, ir.Value] = {}
    if "rating" in f.columns:
        metrics["rating_mean"] = f.rating.mean()
    metrics["feedback_count"] = f.count()
    items = survey_items(f)
    for name, s in zip(items, unique_slugs(items), strict=True):
        metrics[f"survey_{s}"] = f[name].mean()
    return FeaturePart(f.group_by("customer_id").aggregate(**metrics), {"feedback_count": 0})
