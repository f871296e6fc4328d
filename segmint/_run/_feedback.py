"""The run's feedback steps: analyse the texts when they changed, and summarise them per segment.

Before features: when the workspace holds feedback with text and the spec does not say
``feedback: {analyze: false}``, the texts are analysed again if they changed since the last
analysis (:func:`segmint.feedback.analyze.is_current`), so the text features are current.
After the segmentations: each segmentation's :class:`~segmint.store.results.FeedbackSummary`
(sentiment with a CI, topic mix and lift, complaint themes, quotes per segment) from the
analysed texts of the customers it segmented (objectors to profiling are not among them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from segmint._run._segment import Segmented
from segmint._workspace import Workspace
from segmint.feedback.analyze import (
    analyze_feedback,
    analyzed_texts,
    text_count,
    topic_terms,
)
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.results import FeedbackSummary

__all__ = ["analyse", "feedback_defaults", "likert_items", "summarise", "summary_of_run"]

#: a Likert item's answers: whole numbers on a scale of at most this many points
_MAX_SCALE = 11
#: text features the zero-config clustering of feedback alone segments on
_TEXT = ("rating_mean", "sentiment_mean", "negative_share")


def analyse(ws: Workspace, spec: Spec, say: Callable[[str], None]) -> str | None:
    """Analyse the feedback texts when they changed; a note for the report, or None."""
    store = ws.store
    if not (spec.feedback.analyze and store.has_table("feedback")):
        return None
    if "text" not in store.columns("feedback") or not text_count(store):
        return None  # a survey without comments: nothing to analyse
    done = analyze_feedback(
        ws.store,
        topics=spec.feedback.topics,
        random_state=spec.feedback.random_state,
        force=False,
        progress=say,
    )
    if done.skipped:
        return None
    flagged = (
        f"; {done.n_not_english:,} not in English were flagged and not scored"
        if done.n_not_english
        else ""
    )
    return (
        f"Analysed {done.n_texts:,} feedback texts: sentiment for {done.n_scored:,}, "
        f"{len(done.topics)} topics{flagged}."
    )


def _topics(ws: Workspace) -> pd.DataFrame:
    topics = ws.store.db.execute(
        "SELECT topic, name, terms, n_texts, share FROM feedback_topics ORDER BY topic"
    ).df()
    topics["terms"] = [topic_terms(t) for t in topics["terms"]]
    return topics


def _summary(
    texts: pd.DataFrame, labels: pd.Series, topics: pd.DataFrame
) -> FeedbackSummary | None:
    from segmint.profile.feedback import summarize_feedback

    labels = pd.Series(labels.to_numpy(), index=labels.index.astype(str), name="segment")
    mine = texts[texts["customer_id"].isin(labels.index)]
    return None if mine.empty else summarize_feedback(mine, labels, topics)


def summarise(ws: Workspace, results: list[Segmented]) -> None:
    """Attach the per-segment feedback summary to each result (nothing when no texts)."""
    # the texts under the ids the assignments use: persons, pseudonyms when those are on
    texts = analyzed_texts(ws.store, keyed=True) if results else pd.DataFrame()
    if texts.empty:
        return
    topics = _topics(ws)
    for r in results:
        summary = _summary(texts, r.segmentation.labels, topics)
        if summary is not None:
            r.result = r.result.model_copy(update={"feedback": summary})


def summary_of_run(ws: Workspace, run_id: str, segmentation: str) -> FeedbackSummary | None:
    """The feedback summary of a stored run's segmentation under the current analysis (its
    assignments from ``segment_assignments``); None without analysed texts."""
    texts = analyzed_texts(ws.store, keyed=True)
    if texts.empty:
        return None
    rows = ws.store.db.execute(
        "SELECT CAST(customer_id AS VARCHAR), segment FROM segment_assignments "
        "WHERE run_id = ? AND segmentation = ?",
        [run_id, segmentation],
    ).fetchall()
    labels = pd.Series([r[1] for r in rows], index=[r[0] for r in rows], dtype=object)
    return _summary(texts, labels, _topics(ws))


def _stats(ws: Workspace, columns: list[str]) -> dict[str, tuple[Any, ...]]:
    """Per feature column, in one scan: (min, max, share of whole numbers, distinct values)."""
    if not columns:
        return {}
    parts = []
    for c in columns:
        q = f'"{c}"'
        whole = f"CASE WHEN {q} = round({q}) THEN 1.0 WHEN {q} IS NOT NULL THEN 0.0 END"
        parts += [f"min({q})", f"max({q})", f"avg({whole})", f"count(DISTINCT {q})"]
    row = ws.store.db.execute(f"SELECT {', '.join(parts)} FROM customer_features").fetchall()[0]
    return {c: tuple(row[4 * i : 4 * i + 4]) for i, c in enumerate(columns)}


def likert_items(ws: Workspace) -> list[str]:
    """The survey item columns (``survey_<name>``) of the feature table that look like Likert
    answers: on a scale of at most 11 points, and nearly all whole numbers (a respondent's
    repeated answers are averaged); a confidence score or a retweet count is a number, not an
    answer."""
    store = ws.store
    if not store.has_table("customer_features"):
        return []
    items = [c for c in store.columns("customer_features") if c.startswith("survey_")]
    return [
        c
        for c, (lo, hi, whole, _) in _stats(ws, items).items()
        if lo is not None and hi - lo <= _MAX_SCALE - 1 and whole >= 0.9
    ]


def feedback_defaults(
    ws: Workspace, segs: list[SegmentationSpec], *, explicit: bool
) -> tuple[list[SegmentationSpec], list[str]]:
    """The zero-config segmentations of a workspace without orders, from its feedback:
    needs segments when the survey has at least 3 Likert items, and clusters of what the
    texts say (sentiment, topics, rating: the registry's clustering default without order
    features) when there are no customer attributes, said in a note. A spec's own
    segmentations are left as they are. Returns (segmentations, notes)."""
    if explicit or "orders" in ws.tables() or not ws.store.has_table("feedback"):
        return segs, []
    notes = []
    items = likert_items(ws)
    out = list(segs)
    if len(items) >= 3 and not any(s.method == "needs" for s in out):
        out.append(SegmentationSpec(name="needs", method="needs", features=items))
        notes.append(
            f"No orders: respondents are segmented by their needs, from {len(items)} survey "
            "items (factor analysis, then k-means on the factor scores; docs/needs.md)."
        )
    if "customers" not in ws.tables():
        cols = ws.store.columns("customer_features")
        text = [c for c in cols if c in _TEXT or (c.startswith("topic_") and c.endswith("_share"))]
        text = [c for c, st in _stats(ws, text).items() if st[3] > 1]  # values that vary
        if len(text) >= 2:  # the registry's clustering default then takes them
            notes.append(
                "Feedback alone: the clusters group customers by what they wrote (sentiment, "
                "topics" + (", rating" if "rating_mean" in text else "") + ")."
            )
        elif len(items) >= 3:  # the needs segments say more than clusters of a few answers
            out = [s for s in out if s.method != "kmeans"]
    return out, notes
