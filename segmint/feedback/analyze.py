"""Analyse the workspace's feedback texts once and keep the result: ``segmint feedback analyze``.

Every non-empty ``feedback.text`` gets its language, sentiment and topic
(:func:`segmint.feedback.texts.analyze_texts`); the rows go to ``feedback_texts`` (keyed by the
feedback row's lineage, ``_run_id`` and ``_row``, never holding the text itself, so an
erasure of the feedback row leaves nothing behind) and the topics to ``feedback_topics``,
both replaced in one transaction with the run record (kind ``feedback``) and its audit row.

A run analyses again only when the feedback changed since the last analysis
(:func:`is_current` compares a fingerprint of the text rows) or other settings are asked for;
the text feature family and the per-segment summaries read these tables.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from segmint.exceptions import InputError, SpecError
from segmint.privacy import audit as audit_log
from segmint.store import RunRecord, Store

__all__ = [
    "FeedbackAnalysis",
    "analyze_feedback",
    "analyzed_texts",
    "check_topics",
    "is_current",
    "last_analysis",
    "stored_analysis",
    "text_count",
    "text_rows",
    "topic_examples",
    "topic_terms",
]

TEXTS, TOPICS = "feedback_texts", "feedback_topics"
#: what the stored analysis was made with; a change (the sentiment lexicon, the topic rule)
#: makes the next run analyse again
METHOD = "vader-feedback-1/nmf-stability-1"
#: a feedback row with a text to analyse: not empty, and not only a number (a long survey's
#: answers arrive in ``text`` when their header is "answer")
WORDS = "text IS NOT NULL AND NOT regexp_full_match(trim(text), '[-+]?[0-9]*([.,][0-9]+)?')"


@dataclass
class FeedbackAnalysis:
    """What one analysis found (the stored tables hold the per-text rows)."""

    analysis_id: str
    n_texts: int
    n_scored: int
    n_not_english: int
    topics: pd.DataFrame
    #: how the number of topics was chosen: rule, the score per k, the chosen k
    selection: dict[str, Any] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    sentiment: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON (what ``segmint feedback analyze --json`` and the API answer)."""
        topics = self.topics.assign(terms=[topic_terms(t) for t in self.topics["terms"]])
        return {
            "analysis_id": self.analysis_id,
            "texts": self.n_texts,
            "scored": self.n_scored,
            "not_english": self.n_not_english,
            "sentiment": self.sentiment,
            "languages": self.languages,
            "selection": self.selection,
            "topics": topics.to_dict(orient="records"),
            "seconds": round(self.seconds, 2),
        }


def check_topics(topics: int | str) -> int | Literal["auto"]:
    """``topics`` as the analysis takes it ("auto" or an int ≥ 2; "8" becomes 8), else a
    SpecError."""
    if topics == "auto":
        return "auto"
    if isinstance(topics, int) and not isinstance(topics, bool) and topics >= 2:
        return topics
    if isinstance(topics, str) and topics.isdigit() and int(topics) >= 2:
        return int(topics)
    raise SpecError(
        f"The number of topics must be 'auto' or a whole number ≥ 2. Got {topics!r}.",
        fix="pass --topics auto (chosen by stability) or e.g. --topics 8.",
    )


def _feedback_columns(store: Store) -> dict[str, str]:
    """The feedback table's columns; InputError when there is no feedback or no text."""
    if not store.has_table("feedback"):
        raise InputError(
            f"The workspace '{store.path}' has no feedback to analyse.",
            fix="import reviews, survey answers or posts first: "
            "segmint ingest reviews.csv --as feedback.",
        )
    cols = store.columns("feedback")
    if "text" not in cols:
        raise InputError(
            f"The feedback in '{store.path}' has no text column (it has "
            f"{', '.join(c for c in cols if not c.startswith('_'))}).",
            fix="import the file again mapping its text column: "
            "segmint ingest FILE --as feedback --map text=COLUMN.",
        )
    return cols


def text_count(store: Store) -> int:
    """How many feedback rows have a text to analyse (InputError as :func:`text_rows`)."""
    _feedback_columns(store)
    return int(store.db.execute(f"SELECT count(*) FROM feedback WHERE {WORDS}").fetchall()[0][0])


def text_rows(store: Store) -> pd.DataFrame:
    """The feedback rows with a text: ``_run_id``, ``_row``, ``feedback_id``, ``customer_id``,
    ``answered_at``, ``text`` (in import order); empty texts and bare numbers left out.
    InputError when the workspace has no feedback or its feedback has no text column."""
    cols = _feedback_columns(store)
    fid = "CAST(feedback_id AS VARCHAR)" if "feedback_id" in cols else "NULL::VARCHAR"
    when = "answered_at" if "answered_at" in cols else "NULL::TIMESTAMP"
    sql = (
        f"SELECT _run_id, _row, {fid} AS feedback_id, CAST(customer_id AS VARCHAR) AS "
        f"customer_id, {when} AS answered_at, text FROM feedback "
        f"WHERE {WORDS} ORDER BY _run_id, _row"
    )
    return store.db.execute(sql).df()


def _fingerprint(rows: pd.DataFrame) -> str:
    """Which text rows there are (lineage and length), cheap to recompute."""
    h = hashlib.sha256()
    keys = rows["_run_id"].astype(str) + ":" + rows["_row"].astype(str)
    h.update("\n".join(keys + ":" + rows["text"].str.len().astype(str)).encode())
    return h.hexdigest()[:32]


def last_analysis(store: Store) -> dict[str, Any] | None:
    """The runs row of the last analysis (``run_id``, ``fingerprint``, ``spec``, ``row_counts``)."""
    if not (store.has_table(TEXTS) and store.has_table("runs")):
        return None
    rows = store.db.execute(
        "SELECT run_id, fingerprint, spec, row_counts FROM runs WHERE kind = 'feedback' "
        "ORDER BY seq DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    import json

    run_id, fp, spec, counts = rows[0]
    return {"run_id": run_id, "fingerprint": fp, "spec": json.loads(spec or "{}"),
            "row_counts": json.loads(counts or "{}")}  # fmt: skip


def _covers(last: dict[str, Any] | None, fingerprint: str, topics: int | str | None) -> bool:
    """Whether analysis ``last`` was made of these text rows, with today's method (and with
    ``topics``, when given)."""
    return (
        last is not None
        and last["fingerprint"] == fingerprint
        and last["spec"].get("method") == METHOD
        and (topics is None or last["spec"].get("topics") == check_topics(topics))
    )


def is_current(store: Store, *, topics: int | str | None = None) -> bool:
    """Whether the stored analysis covers today's feedback texts (and ``topics``, if given)."""
    last = last_analysis(store)
    if last is None or not store.has_table("feedback"):
        return False
    return _covers(last, _fingerprint(text_rows(store)), topics)


def analyze_feedback(
    store: Store,
    *,
    topics: int | str = "auto",
    random_state: int = 0,
    force: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FeedbackAnalysis:
    """Analyse every feedback text (language, sentiment, topic) and store the result.

    ``topics``: ``"auto"`` or a number ≥ 2. With ``force=False`` an analysis that is still
    current is kept (``skipped=True``). InputError when there is no feedback text.
    """
    from segmint.feedback.texts import analyze_texts

    say = progress or (lambda _m: None)
    topics = check_topics(topics)
    t0 = time.perf_counter()
    rows = text_rows(store)
    if rows.empty:
        raise InputError(
            f"The feedback in '{store.path}' has no text to analyse (every text is empty).",
            fix="import reviews, survey comments or posts with a text column.",
        )
    fp = _fingerprint(rows)
    last = last_analysis(store)
    if not force and last is not None and _covers(last, fp, topics):
        return _from_store(store, last, skipped=True)
    say(f"Analysing {len(rows):,} feedback texts (language, sentiment, topics)")
    result = analyze_texts(rows["text"], topics=topics, random_state=random_state)
    per_text = result.texts.reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "_run_id": rows["_run_id"],
            "_row": rows["_row"].astype("int64"),
            "feedback_id": rows["feedback_id"],
            "customer_id": rows["customer_id"],
            "answered_at": rows["answered_at"],
            "language": per_text["language"].to_numpy(),
            "language_score": per_text["language_score"].to_numpy(dtype="float64"),
            "sentiment": per_text["sentiment"].to_numpy(dtype="float64"),
            "sentiment_label": per_text["sentiment_label"].to_numpy(),
            "topic": pd.array(per_text["topic"].to_numpy(), dtype="Int32"),
            "topic_weight": per_text["topic_weight"].to_numpy(dtype="float64"),
        }
    )
    table = result.topics_frame()
    selection = _selection(result.model, topics)
    run = RunRecord(kind="feedback", fingerprint=fp, spec={"topics": topics, "method": METHOD,
                    "random_state": random_state, "selection": selection})  # fmt: skip
    with store.transaction():
        store.reserve_run(run)
        frame["analysis_id"] = run.run_id
        topics_out = pd.DataFrame(
            {
                "analysis_id": run.run_id,
                "topic": table["topic"].astype("int32"),
                "name": table["name"].astype(str),
                "terms": [_json_list(t) for t in table["terms"]],
                "n_texts": table["n_texts"].astype("int64"),
                "share": table["share"].astype("float64"),
            }
        )
        _replace(store, TEXTS, frame)
        _replace(store, TOPICS, topics_out)
        scored = int(frame["sentiment"].notna().sum())
        run.row_counts = {
            "texts": len(frame),
            "scored": scored,
            "not_english": int((frame["sentiment"].isna() & (frame["language"] != "en")).sum()),
            "topics": len(topics_out),
        }
        store.record_run(run)
        audit_log.record(store, "feedback.analyze", target=run.run_id, detail=run.row_counts)
    return FeedbackAnalysis(
        analysis_id=run.run_id,
        n_texts=len(frame),
        n_scored=scored,
        n_not_english=run.row_counts["not_english"],
        topics=topics_out.drop(columns="analysis_id"),
        selection=selection,
        languages=_counts(frame["language"]),
        sentiment=_counts(frame["sentiment_label"]),
        seconds=time.perf_counter() - t0,
    )


def _selection(model: Any, topics: int | str) -> dict[str, Any]:
    """How the number of topics was chosen, as JSON: the rule in words and the score per k."""
    if model is None:
        return {"rule": "too few texts with shared words for topics", "k": 0, "scores": []}
    table = getattr(model, "selection", None)
    k = int(model.n_topics)
    if topics != "auto" or table is None or len(table) == 0:
        return {"rule": f"{k} topics, as asked", "k": k, "scores": []}
    scores = [{"k": int(r.k), "stability": round(float(r.stability), 4)}
              for r in table.itertuples()]  # fmt: skip
    best = next(s["stability"] for s in scores if s["k"] == k)
    tried = f"{scores[0]['k']}–{scores[-1]['k']}" if scores else ""
    return {
        "rule": f"{k} topics: the most stable number among {tried} (the same top terms come "
        f"back in random 80 % subsamples; stability {best:.2f}, ties go to fewer topics)",
        "k": k,
        "scores": scores,
    }


def topic_terms(value: Any) -> list[str]:
    """A topic's terms as a list (stored as JSON text)."""
    import json

    if isinstance(value, str):
        return [str(t) for t in json.loads(value)]
    return [str(t) for t in (value if value is not None else [])]


def stored_analysis(store: Store) -> FeedbackAnalysis | None:
    """The last analysis as stored (None when the feedback was never analysed)."""
    last = last_analysis(store)
    return None if last is None else _from_store(store, last, skipped=True)


def topic_examples(store: Store, per_topic: int = 3) -> dict[int, list[str]]:
    """Each topic's most typical texts (highest topic weight, distinct, English first)."""
    if last_analysis(store) is None:
        return {}
    rows = store.db.execute(
        f"""
        WITH t AS (
            SELECT t.topic, f.text, max(t.topic_weight) AS w
            FROM {TEXTS} t JOIN feedback f ON f._run_id = t._run_id AND f._row = t._row
            WHERE t.topic IS NOT NULL GROUP BY t.topic, f.text
        )
        SELECT topic, text FROM (
            SELECT topic, text, row_number() OVER (PARTITION BY topic ORDER BY w DESC, text)
                AS k FROM t
        ) WHERE k <= ? ORDER BY topic, k
        """,
        [per_topic],
    ).fetchall()
    out: dict[int, list[str]] = {}
    for topic, text in rows:
        out.setdefault(int(topic), []).append(str(text))
    return out


def _json_list(terms: Any) -> str:
    import json

    if isinstance(terms, str):
        return terms
    return json.dumps([str(t) for t in terms])


def _counts(s: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in s.fillna("not scored").value_counts().items()}


def _replace(store: Store, name: str, frame: pd.DataFrame) -> None:
    """Replace table ``name`` (declared in the registry) with ``frame``'s rows."""
    from segmint.store.tables import workspace_table

    store.db.execute(f'DROP TABLE IF EXISTS "{name}"')  # an older layout goes with it
    store.ensure(name)
    store.db.register("_feedback_frame", frame[workspace_table(name).names])
    try:
        store.db.execute(f'INSERT INTO "{name}" SELECT * FROM _feedback_frame')
    finally:
        store.db.unregister("_feedback_frame")


def _from_store(store: Store, last: dict[str, Any], *, skipped: bool) -> FeedbackAnalysis:
    topics = store.db.execute(
        f"SELECT topic, name, terms, n_texts, share FROM {TOPICS} ORDER BY topic"
    ).df()
    counts = last["row_counts"]
    lang = store.db.execute(f"SELECT language, count(*) FROM {TEXTS} GROUP BY 1").fetchall()
    sent = store.db.execute(
        f"SELECT coalesce(sentiment_label, 'not scored'), count(*) FROM {TEXTS} GROUP BY 1"
    ).fetchall()
    return FeedbackAnalysis(
        analysis_id=last["run_id"],
        n_texts=int(counts.get("texts", 0)),
        n_scored=int(counts.get("scored", 0)),
        n_not_english=int(counts.get("not_english", 0)),
        topics=topics,
        selection=last["spec"].get("selection", {}),
        languages={str(k): int(v) for k, v in lang},
        sentiment={str(k): int(v) for k, v in sent},
        skipped=skipped,
    )


def analyzed_texts(store: Store, *, keyed: bool = False) -> pd.DataFrame:
    """Every analysed text with its text and source: ``feedback_id``, ``customer_id``,
    ``answered_at``, ``text``, ``language``, ``sentiment``, ``sentiment_label``, ``topic``,
    ``topic_weight`` (empty when nothing was analysed; rows whose feedback was erased since
    are gone with it). ``keyed``: customers named as the derived tables name them (their
    person when records are linked, their pseudonym when pseudonyms are on)."""
    if not (store.has_table(TEXTS) and store.has_table("feedback")):
        return pd.DataFrame()
    who = "t.customer_id"
    if keyed:  # as the derived tables name customers: by person, by pseudonym
        from segmint.privacy.pseudonyms import customer_key_sql

        who = customer_key_sql(store, "t.customer_id")
    return store.db.execute(
        f"SELECT t.feedback_id, CAST({who} AS VARCHAR) AS customer_id, t.answered_at, f.text, "
        "t.language, t.language_score, t.sentiment, t.sentiment_label, t.topic, t.topic_weight "
        f"FROM {TEXTS} t JOIN feedback f ON f._run_id = t._run_id AND f._row = t._row "
        "ORDER BY t._run_id, t._row"
    ).df()
