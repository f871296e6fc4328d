"""REST endpoints for feedback texts (``segmint feedback analyze``), under ``/api/v1``.

``POST /feedback/analyze`` answers 202 with a job of kind ``feedback`` whose result is the
JSON of ``segmint feedback analyze --json``; ``GET /feedback/topics`` (the last analysis, each
topic with example texts), ``GET /feedback/texts`` (a page, or every text as ``.csv``) and
``GET /feedback/summary`` (per segment of a run's segmentation: sentiment with a CI, topic
mix and lift, complaint themes, quotes) read it; ``GET /needs`` is the survey's factor
solution (``segmint needs``). The texts are what customers wrote, so
everything but the summary is for analysts; the summary is as visible as the segment
profiles that hold it. The work is :mod:`segmint.api.services_feedback`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from segmint.api import services_feedback as service
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, Job, State, Strict, Viewer
from segmint.exceptions import InputError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


class AnalyzeRequest(Strict):
    """How many topics: "auto" (chosen by stability) or a number from 2 to 50."""

    topics: Literal["auto"] | Annotated[int, Field(ge=2, le=50)] = "auto"


@router.post(
    "/feedback/analyze",
    status_code=202,
    summary="Score every feedback text's sentiment, find its topics and language (a job)",
    description="`segmint feedback analyze` on the server: VADER sentiment for English texts "
    "(others are flagged, not scored), TF-IDF + NMF topics named by their top terms. The "
    "result is kept for the text features and the per-segment summaries. No feedback texts "
    "is a 400 before a job. docs/text.md.",
    responses=errors(403),
)
def analyze(body: AnalyzeRequest, who: Analyst, state: State) -> Job:
    job_id = service.start_analyze(state, who.name, topics=body.topics)
    return Job(**(state.jobs.get(job_id) or {}))


@router.get(
    "/feedback/topics",
    summary="The last analysis: counts, the topics with their terms and example texts",
    description="Null when the feedback was never analysed.",
    responses=errors(403),
)
def topics(
    _: Analyst, state: State, examples: Annotated[int, Query(ge=0, le=10)] = 3
) -> dict[str, Any] | None:
    return service.overview(state.workspace(), examples)


@router.get(
    "/feedback/texts",
    summary="The analysed texts, a page at a time (id, customer, language, sentiment, topic)",
    responses=errors(403),
)
def texts(
    _: Analyst,
    state: State,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    return service.texts_page(state.workspace(), offset=offset, limit=limit)


@router.get(
    "/feedback/texts.csv",
    summary="Every analysed text as CSV (as `segmint feedback analyze --out`)",
    response_class=Response,
    responses=errors(403, ok=("text/csv", "One row per text")),
)
def texts_csv(_: Analyst, state: State) -> Response:
    text, filename = service.texts_csv(state.workspace())
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/feedback/summary",
    summary="What each segment wrote: sentiment with a 95 % CI, topics over-represented, "
    "complaint themes, quotes",
    description="For a stored run's segmentation (default: the latest run, its first "
    "segmentation), under the current analysis. `summary` is null when no analysed text "
    "came from its customers; an unknown run or segmentation, or another parameter, is a 400.",
    responses=errors(403),
)
def summary(
    _: Viewer,
    state: State,
    request: Request,
    run_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    segmentation: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> dict[str, Any]:
    # both parameters are optional: a misspelt one would silently give the defaults' answer
    unknown = sorted(set(request.query_params) - {"run_id", "segmentation"})
    if unknown:
        raise InputError(
            f"GET /api/v1/feedback/summary takes run_id and segmentation; got "
            f"{', '.join(repr(u[:40]) for u in unknown[:3])}.",
            fix="e.g. /api/v1/feedback/summary?run_id=0005-segment&segmentation=rfm.",
        )
    return service.summary(state.workspace(), run_id, segmentation)


@router.get(
    "/needs",
    summary="The survey's factor solution: what needs the Likert items measure",
    description="`segmint needs --json`: the survey items of `feedback` (wide or long), the "
    "number of factors by the rule (parallel analysis or eigenvalue > 1, both shown), varimax "
    "loadings, factor names from their top-loading items, each scale's Cronbach's alpha. "
    "Aggregates only. No survey items, or too few respondents, is a 400. docs/needs.md.",
    responses=errors(403),
)
def needs(
    _: Viewer,
    state: State,
    factors: Annotated[str, Query(pattern=r"^(auto|[1-9][0-9]?)$")] = "auto",
    rule: Literal["parallel", "kaiser"] = "parallel",
) -> dict[str, Any]:
    n: int | str = int(factors) if factors.isdigit() else "auto"
    return service.needs(state.workspace(), n, rule)
