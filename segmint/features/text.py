"""Text features: what a customer's own words say, from the analysed feedback texts.

``segmint feedback analyze`` (:mod:`segmint.feedback`) scores every feedback text once and
keeps the result in ``feedback_texts`` (language, VADER sentiment, NMF topic); this family
aggregates it per customer, over the texts answered at or before the as-of date (undated
texts count):

* ``sentiment_mean`` — mean sentiment (−1…1) of the customer's scored (English) texts;
* ``negative_share`` — texts scored negative / texts scored;
* ``topic_<slug>_share`` — texts on that topic / texts with a topic, one column per topic of
  ``feedback_topics``, named by its top two terms (``topic_delay_hours_share``).

A customer without scored texts gets no value (NULL), not 0: "no text" is not "neutral".

>>> from datetime import datetime
>>> import ibis, pandas as pd
>>> texts = ibis.memtable(pd.DataFrame({"customer_id": ["C1", "C1", "C2"],
...     "sentiment": [0.5, -0.75, None], "sentiment_label": ["positive", "negative", None],
...     "topic": pd.array([0, 1, 1], dtype="Int64")}))
>>> topics = ibis.memtable(pd.DataFrame({"topic": [0, 1], "terms": [["late", "hours"],
...     ["refund", "money"]]}))
>>> part = text_features(texts, topics, datetime(2024, 3, 1))
>>> for row in part.table.order_by("customer_id").to_pyarrow().to_pylist():
...     print(row)  # doctest: +NORMALIZE_WHITESPACE
{'customer_id': 'C1', 'sentiment_mean': -0.125, 'negative_share': 0.5,
 'topic_late_hours_share': 0.5, 'topic_refund_money_share': 0.5}
{'customer_id': 'C2', 'sentiment_mean': None, 'negative_share': None,
 'topic_late_hours_share': 0.0, 'topic_refund_money_share': 1.0}
"""

from __future__ import annotations

import json
from datetime import datetime

import ibis
import ibis.expr.types as ir

from segmint.features._common import FeaturePart, unique_slugs

__all__ = ["TEXT_TABLES", "text_features", "topic_columns"]

#: the tables this family reads (written by `segmint feedback analyze`)
TEXT_TABLES = ("feedback_texts", "feedback_topics")


def topic_columns(topics: ir.Table | None) -> dict[int, str]:
    """Topic number -> its feature column (``topic_<first two terms>_share``), in topic order."""
    if topics is None:
        return {}
    rows = topics.select("topic", "terms").order_by("topic").to_pyarrow().to_pylist()
    names = []
    for r in rows:
        terms = r["terms"]
        if isinstance(terms, str):
            terms = json.loads(terms)
        names.append("_".join(str(t) for t in (terms or [])[:2]) or f"topic_{r['topic']}")
    slugs = unique_slugs(names, reserved=("other",))
    return {int(r["topic"]): f"topic_{s}_share" for r, s in zip(rows, slugs, strict=True)}


def text_features(texts: ir.Table, topics: ir.Table | None, as_of: datetime) -> FeaturePart:
    """Mean sentiment, share of negative texts and topic shares per customer."""
    t = texts.filter(texts.customer_id.notnull())
    if "answered_at" in t.columns:
        t = t.filter(t.answered_at.isnull() | (t.answered_at <= as_of))
    label = t.sentiment_label
    negative = label.isnull().ifelse(ibis.null("float64"), (label == "negative").cast("float64"))
    metrics: dict[str, ir.Value] = {
        "sentiment_mean": t.sentiment.mean(),
        "negative_share": negative.mean(),
    }
    for k, column in topic_columns(topics).items():
        on = t.topic.isnull().ifelse(ibis.null("float64"), (t.topic == k).cast("float64"))
        metrics[column] = on.mean()
    return FeaturePart(t.group_by("customer_id").aggregate(**metrics))
