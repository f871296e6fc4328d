"""Psychographic features (M5): ratings and survey (Likert) answers from ``feedback``.

Per customer, over the feedback rows answered at or before the as-of date (undated rows count):

* ``rating_mean`` — mean ``rating``; ``feedback_count`` — number of feedback rows (0 if none);
* ``survey_<name>`` — the mean of every numeric extra column of ``feedback`` (one that is not a
  canonical or lineage column, e.g. ``q_price_sensitive`` → ``survey_q_price_sensitive``);
  in the long layout (one row per respondent × item: a ``question``/``item`` column and a
  numeric answer), the mean answer to each item.

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

import ibis
import ibis.expr.types as ir

from segmint.features._common import FeaturePart, trimmed, unique_slugs
from segmint.feedback.survey import ANSWER_COLUMNS, ITEM_COLUMNS
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = [
    "feedback_features",
    "long_items",
    "long_layout",
    "survey_items",
]

_KNOWN = {*CANONICAL["feedback"].names, *(c.name for c in LINEAGE)}


def survey_items(feedback: ir.Table) -> list[str]:
    """The numeric extra columns of ``feedback`` (survey items, wide layout), in table order."""
    schema = feedback.schema()
    return [n for n in feedback.columns if n not in _KNOWN and schema[n].is_numeric()]


def long_layout(feedback: ir.Table) -> tuple[str, ir.Value] | None:
    """(item column, numeric answer) when ``feedback`` holds one row per respondent × item,
    else None. The answer is a numeric extra column (answer, score, value), else ``rating``,
    else the ``text`` when it holds numbers (a survey export's "answer" header becomes
    ``text`` at import)."""
    item = next((c for c in ITEM_COLUMNS if c in feedback.columns), None)
    if item is None:
        return None
    schema = feedback.schema()
    candidates = [
        feedback[c].cast("float64")
        for c in (*ANSWER_COLUMNS, "rating")
        if c in feedback.columns and schema[c].is_numeric()
    ]
    if "text" in feedback.columns and schema["text"].is_string():
        candidates.append(trimmed(feedback.text).try_cast("float64"))
    if not candidates:
        return None
    asked = feedback[item].notnull()
    counts = (
        feedback.aggregate(
            **{f"c{i}": (asked & a.notnull()).sum() for i, a in enumerate(candidates)}
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    found = next((a for i, a in enumerate(candidates) if counts[f"c{i}"]), None)
    return None if found is None else (item, found)


def long_items(feedback: ir.Table, item: str, answer: ir.Value) -> list[str]:
    """The items of a long-layout survey (distinct values of ``item`` with a numeric answer),
    sorted."""
    f = feedback.filter(feedback[item].notnull(), answer.notnull())
    rows = f.select(f[item].cast("string").name("i")).distinct().order_by("i").to_pyarrow()
    return [str(v) for v in rows.column("i").to_pylist()]


def feedback_features(feedback: ir.Table, as_of: datetime) -> FeaturePart:
    """Mean rating, number of answers and mean survey items per customer (wide or long)."""
    f = feedback.filter(feedback.customer_id.notnull())
    if "answered_at" in f.columns:
        f = f.filter(f.answered_at.isnull() | (f.answered_at <= as_of))
    long = long_layout(f)
    metrics: dict[str, ir.Value] = {}
    if "rating" in f.columns:
        # in a long survey the rows that answer an item are not star ratings
        rated = f.rating if long is None else f[long[0]].isnull().ifelse(f.rating, ibis.null())
        metrics["rating_mean"] = rated.mean()
    metrics["feedback_count"] = f.count()
    items = survey_items(f)
    for name, s in zip(items, unique_slugs(items), strict=True):
        metrics[f"survey_{s}"] = f[name].mean()
    if long is not None:
        item, answer = long
        found = long_items(f, item, answer)
        names = unique_slugs(found, reserved=unique_slugs(items))
        for value, s in zip(found, names, strict=True):
            on = f[item].cast("string") == value
            metrics[f"survey_{s}"] = on.ifelse(answer, ibis.null("float64")).mean()
    return FeaturePart(f.group_by("customer_id").aggregate(**metrics), {"feedback_count": 0})
