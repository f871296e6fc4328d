"""REST endpoints for campaigns (measure stage), under ``/api/v1``.

``GET /campaigns`` answers with the same numbers as ``segmint campaigns --json``; a viewer may
read them, since they are counts and rates per group, never a customer's row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from segmint.api import services_campaigns
from segmint.api.openapi import errors
from segmint.api.routes import State, Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

Dimension = Literal["campaign", "segment", "channel"]


@router.get(
    "/campaigns",
    summary="Campaign results per campaign × segment × channel",
    description="Reach, open / click / conversion rates with Wilson intervals, revenue, cost "
    "(each campaign's cost shared by its reached contacts), ROI and cost per conversion per "
    "group of `by`, and per segment the channel that converts best with a two-proportion "
    "test against the runner-up. A figure that cannot be computed is null with a `reason`. "
    "A contact's segment is the file's; where it has none, `segmentation` takes it from the "
    "run active at send time (or from `run`). 400 when no campaign contacts were imported. "
    "Formulas: docs/experiments.md.",
    responses=errors(),
)
def campaigns(
    _: Viewer,
    state: State,
    campaign: Annotated[list[str] | None, Query(max_length=200)] = None,
    segmentation: Annotated[str | None, Query(max_length=200)] = None,
    run: Annotated[str | None, Query(max_length=100)] = None,
    by: Annotated[list[Dimension] | None, Query()] = None,
    confidence: Annotated[float, Query(gt=0.5, lt=1.0)] = 0.95,
) -> dict[str, Any]:
    return services_campaigns.campaign_results(
        state.workspace(),
        campaigns=campaign or (),
        segmentation=segmentation,
        run=run,
        by=by or ("campaign", "segment", "channel"),
        confidence=confidence,
    )
