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

import pandas as pd

from segmint._run._segment import Segmented
from segmint._workspace import Workspace
from segmint.feedback.analyze import analyze_feedback, analyzed_texts, last_analysis
from segmint.spec.model import Spec
from segmint.store.results import FeedbackSummary

__all__ = ["analyse", "summarise", "summary_of_run"]


def _has_texts(ws: Workspace) -> bool:
    store = ws.store
    return store.has_table("feedback") and "text" in store.columns("feedback")


def analyse(ws: Workspace, spec: Spec, say: Callable[[str], None]) -> str | None:
    """Analyse the feedback texts when they changed; a note for the report, or None."""
    if not spec.feedback.analyze or not _has_texts(ws):
        return None
    n = ws.store.db.execute(
        "SELECT count(*) FROM feedback WHERE text IS NOT NULL AND trim(text) <> ''"
    ).fetchall()[0][0]
    if not n:
        return None
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


def _texts_by_person(ws: Workspace) -> pd.DataFrame:
    """The analysed texts, each under the person its customer record belongs to."""
    texts = analyzed_texts(ws.store)
    if not texts.empty:
        texts["customer_id"] = texts["customer_id"].astype(str)
    if texts.empty or not ws.store.has_table("identity_map"):
        return texts
    m = ws.store.db.execute(
        "SELECT CAST(customer_id AS VARCHAR), min(person_id) FROM identity_map GROUP BY 1"
    ).fetchall()
    person = dict(m)
    texts["customer_id"] = [person.get(c, c) for c in texts["customer_id"].astype(str)]
    return texts


def _topics(ws: Workspace) -> pd.DataFrame:
    topics = ws.store.db.execute(
        "SELECT topic, name, terms, n_texts, share FROM feedback_topics ORDER BY topic"
    ).df()
    topics["terms"] = [_terms(t) for t in topics["terms"]]
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
    if last_analysis(ws.store) is None or not results:
        return
    texts = _texts_by_person(ws)
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
    if last_analysis(ws.store) is None:
        return None
    texts = _texts_by_person(ws)
    if texts.empty:
        return None
    rows = ws.store.db.execute(
        "SELECT CAST(customer_id AS VARCHAR), segment FROM segment_assignments "
        "WHERE run_id = ? AND segmentation = ?",
        [run_id, segmentation],
    ).fetchall()
    labels = pd.Series([r[1] for r in rows], index=[r[0] for r in rows], dtype=object)
    return _summary(texts, labels, _topics(ws))


def _terms(value: object) -> list[str]:
    import json

    if isinstance(value, str):
        return [str(t) for t in json.loads(value)]
    return [str(t) for t in (value or [])]
