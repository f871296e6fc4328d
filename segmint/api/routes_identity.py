"""REST endpoints for identity resolution (``segmint dedupe``), under ``/api/v1``.

``POST /dedupe`` answers 202 with a job of kind ``dedupe`` (as a run does), whose result is
``DedupeResult.as_dict()``; ``GET /identity/clusters`` (a page of the identity map, or the
whole map as ``clusters.csv``), ``GET /identity/explain``, ``GET /identity/review`` and
``POST /identity/decisions`` read and judge its links. All analyst: the map and the records
it shows side by side are about identified people, as member lists are. The work is
:mod:`segmint.api.services_identity`, shared with the web app's Persons page.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from segmint.api import services_identity as service
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, Job, State, Strict

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

CustomerId = Annotated[str, Field(min_length=1, max_length=200)]


class DedupeRequest(Strict):
    """A dedupe run's options (both optional)."""

    #: link two records when the model is at least this sure (default: the last run's, 0.95)
    threshold: float | None = Field(None, gt=0, lt=1)
    #: true: match only new records with the stored model; false: train anew; null: choose
    incremental: bool | None = None


class DecisionRequest(Strict):
    """A reviewer's say on a pair of customer records."""

    customer_id_a: CustomerId
    customer_id_b: CustomerId
    #: accept: one person; reject: two people; clear: forget an earlier decision
    decision: Literal["accept", "reject", "clear"]


class ClusterRow(BaseModel):
    """One customer record and the person it belongs to."""

    customer_id: str
    #: the person id (a person is named after one of its records)
    cluster_id: str
    person_id: str
    #: the weakest link's match probability inside the person; null for a person of one
    match_probability: float | None
    cluster_size: int


class ClustersPage(BaseModel):
    """A page of the identity map, ordered by person."""

    total: int
    offset: int
    limit: int
    items: list[ClusterRow]


@router.post(
    "/dedupe",
    status_code=202,
    summary="Find customer records that are one person (a background job)",
    description="`segmint dedupe` on the server: Splink compares the customer records on the "
    "columns present, learns the match weights from the data, and links pairs at or above "
    "the threshold into persons; once a model exists, new records are matched against it "
    "and person ids stay stable. Reviewers' decisions are kept. No customer records, nothing "
    "to compare them on, or `incremental` without a model is a 400 before a job. The job's "
    "result is the JSON of `segmint dedupe --json`. docs/identity.md.",
    responses=errors(403),
)
def dedupe(body: DedupeRequest, who: Analyst, state: State) -> Job:
    job_id = service.start_dedupe(
        state, who.name, threshold=body.threshold, incremental=body.incremental
    )
    return Job(**(state.jobs.get(job_id) or {}))


@router.get(
    "/identity/clusters",
    summary="The identity map: customer id → person id, a page at a time",
    description="Ordered by person; `linked_only` keeps persons of more than one record. "
    "A workspace without a dedupe run is a 400.",
    responses=errors(403),
)
def clusters(
    _: Analyst,
    state: State,
    linked_only: bool = False,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
) -> ClustersPage:
    page = service.clusters_page(
        state.workspace(), linked_only=linked_only, offset=offset, limit=limit
    )
    return ClustersPage(**page)


@router.get(
    "/identity/clusters.csv",
    summary="The identity map as CSV (customer_id, cluster_id, …)",
    response_class=Response,
    responses=errors(403, ok=("text/csv", "The identity map, as `segmint dedupe --out`")),
)
def clusters_csv(_: Analyst, state: State, linked_only: bool = False) -> Response:
    text, filename = service.clusters_csv(state.workspace(), linked_only=linked_only)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/identity/explain",
    summary="Why a customer's records are one person (match weights per comparison)",
    description="The customer's person: its records, and for each link the waterfall of "
    "Splink's match weights (the prior, then each comparison's level and the two values "
    "compared, adding up to the pair's weight). With `other`, that one pair, linked or not. "
    "An unknown customer is a 400.",
    responses=errors(403),
)
def explain(
    customer_id: Annotated[str, Query(min_length=1, max_length=200)],
    _: Analyst,
    state: State,
    other: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> dict[str, Any]:
    return service.explain(state.workspace(), customer_id, other)


@router.get(
    "/identity/review",
    summary="The undecided pairs the model is least sure of, both records side by side",
    responses=errors(403),
)
def review(
    _: Analyst, state: State, n: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[dict[str, Any]]:
    return service.review(state.workspace(), n)


@router.post(
    "/identity/decisions",
    summary="Accept or reject a pair of records as one person (kept for every later run)",
    description="accept: the two records are one person whatever the model says; reject: "
    "they never are; clear: the model decides again. The persons are reclustered at once "
    "(the answer is that recluster's result) and later dedupe runs keep the decision. "
    "Refused (400) while a dedupe job is queued or running.",
    responses=errors(403),
)
def decide(body: DecisionRequest, who: Analyst, state: State, request: Request) -> dict[str, Any]:
    return service.decide(
        state,
        state.workspace(),
        a=body.customer_id_a,
        b=body.customer_id_b,
        decision=body.decision,
        user=who.name,
        origin=request.client.host if request.client else "unknown",
    )
