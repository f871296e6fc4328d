"""Feedback texts on the server: the analysis job, the topics, the texts, per-segment summaries.

The REST endpoints (``/api/v1/feedback/…``) and the web app's Feedback page both call these.
An analysis scores every text and fits the topic model (seconds to a minute on 100k texts), so
it is a job of kind ``feedback`` on the single worker; what can be refused at once (no
feedback, no text column, a bad number of topics) is a 400 before the job.
"""

from __future__ import annotations

from typing import Any

from segmint._workspace import Workspace
from segmint.api.services_identity import jsonable
from segmint.api.state import AppState
from segmint.exceptions import InputError
from segmint.feedback.analyze import check_topics, stored_analysis, text_count, topic_examples
from segmint.store.csvsafe import frame_to_csv_text

__all__ = [
    "MAX_PAGE",
    "check_analyze",
    "needs",
    "overview",
    "start_analyze",
    "summary",
    "texts_csv",
    "texts_page",
]

#: the most rows one page of texts holds
MAX_PAGE = 1000


def check_analyze(ws: Workspace, topics: int | str) -> None:
    """Refuse now what the job would refuse after waiting its turn."""
    check_topics(topics)
    if not text_count(ws.store):
        raise InputError(
            f"The feedback in '{ws.path}' has no text to analyse (every text is empty).",
            fix="import reviews, survey comments or posts with a text column.",
        )


def start_analyze(state: AppState, user: str, *, topics: int | str = "auto") -> str:
    """Queue an analysis; its result is ``FeedbackAnalysis.as_dict()``."""
    check_analyze(state.workspace(), topics)
    settings = state.settings

    def work(progress: Any) -> dict[str, Any]:
        with Workspace(settings.workspace) as ws:
            done = ws.analyze_feedback(topics=topics, progress=progress)
        out: dict[str, Any] = jsonable(done.as_dict())
        return out

    return state.jobs.submit("feedback", user, work)


def overview(ws: Workspace, examples: int = 3) -> dict[str, Any] | None:
    """The last analysis: counts, how the topics were chosen, each topic with example texts
    (None when the feedback was never analysed)."""
    done = stored_analysis(ws.store)
    if done is None:
        return None
    data: dict[str, Any] = jsonable(done.as_dict())
    quotes = topic_examples(ws.store, examples) if examples else {}
    for t in data["topics"]:
        t["examples"] = quotes.get(int(t["topic"]), [])
    return data


def texts_page(ws: Workspace, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
    """A page of the analysed texts (one row per text, as ``--out`` writes them)."""
    frame = ws.feedback_texts()
    total = len(frame)
    part = frame.iloc[offset : offset + limit].astype(object)
    part = part.where(part.notna(), None)
    items = [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in part.to_dict(orient="records")
    ]
    return {"total": total, "offset": offset, "limit": limit, "items": jsonable(items)}


def texts_csv(ws: Workspace) -> tuple[str, str]:
    """Every analysed text as CSV (``segmint feedback analyze --out``) and a file name."""
    return frame_to_csv_text(ws.feedback_texts()), "feedback-texts.csv"


def summary(
    ws: Workspace, run_id: str | None = None, segmentation: str | None = None
) -> dict[str, Any]:
    """What each segment of a stored run's segmentation wrote, under the current analysis."""
    run, name = ws.segment_run(run_id, segmentation)
    found = ws.feedback_summary(name, run)
    return {
        "run_id": run,
        "segmentation": name,
        "summary": None if found is None else jsonable(found.to_json()),
    }


def needs(ws: Workspace, factors: int | str = "auto", rule: str = "parallel") -> dict[str, Any]:
    """The factor solution of the survey items (``segmint needs --json``): eigenvalues against
    the rule, varimax loadings, factor names, scales with Cronbach's alpha."""
    solution = ws.needs(factors, rule=rule)
    out: dict[str, Any] = jsonable(solution.extras().to_json())
    return out
