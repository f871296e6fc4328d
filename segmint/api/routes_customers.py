"""REST endpoints that read customer rows where they live, under ``/api/v1``.

Segment sizes (counts, for a viewer), a page of a segmentation's members and one customer's
rows (personal data, for an analyst). They are Ibis expressions
(:mod:`segmint.api.services_engine`), so they answer the same on an embedded workspace and on
a Spark one, where only the answer leaves the cluster.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from segmint.api import services_engine
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, State, Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


@router.get(
    "/runs/{run_id}/segmentations/{name}/sizes",
    summary="Customers per segment, counted where the assignments live",
    responses=errors(404),
)
def sizes(run_id: str, name: str, _: Viewer, state: State) -> dict[str, Any]:
    return services_engine.segment_sizes(state, run_id, name)


@router.get(
    "/runs/{run_id}/segmentations/{name}/members",
    summary="One page of the members (all segments, or one with ?segment=), by customer id",
    description="The first `limit` members whose id comes after `after` (the previous "
    "page's `next`; null on the last page), and `total`, how many there are in all.",
    responses=errors(403, 404),
)
def members(
    run_id: str,
    name: str,
    _: Analyst,
    state: State,
    segment: Annotated[str | None, Query(max_length=200)] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=services_engine.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    return services_engine.members_page(state, run_id, name, segment, after=after, limit=limit)


@router.get(
    "/customers/{customer_id}",
    summary="One customer: feature row, segment in every run, value-model results",
    description="The id as the derived tables hold it (the members list shows it; a "
    "pseudonym where the workspace keeps pseudonyms). 404 when no run or feature table has it.",
    responses=errors(403, 404),
)
def customer(customer_id: str, _: Analyst, state: State) -> dict[str, Any]:
    return services_engine.customer(state, customer_id)
