"""REST endpoints for experiments (measure stage), under ``/api/v1``.

``POST /experiments`` designs a split test (analyst: it stores who gets which variant);
``GET /experiments`` lists them (viewer: names, settings and counts, no customer data).
The work is :mod:`segmint.api.services_experiments`, shared with the web page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from segmint.api import services_experiments as service
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, Name, State, Strict, Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

Variant = Annotated[str, Field(min_length=1, max_length=100)]


class DesignRequest(Strict):
    """A split test: which segments, which variants with which weights, the hash's salt."""

    #: unique in the workspace (a used name is a 400 unless ``replace``)
    name: Name
    segmentation: Name
    #: labels or names; null or missing: every segment of the segmentation
    segments: list[Name] | None = Field(None, max_length=100)
    variants: list[Variant] = Field(["A", "B", "control"], max_length=50)
    #: one positive number per variant (default: equal)
    weights: list[float] | None = Field(None, max_length=50)
    #: hashed with each customer id (default: the name)
    salt: str | None = Field(None, max_length=200)
    #: the segment run (default: the latest holding the segmentation)
    run: str | None = Field(None, max_length=200)
    #: the hold-out variant (default: the one named "control", if any)
    control: Variant | None = None
    #: design again an experiment whose name is used (the same salt gives the same arms)
    replace: bool = False


class ExperimentRecord(BaseModel):
    """A designed split test: its settings and the customers per segment and variant."""

    experiment_id: str
    name: str
    created_at: str
    created_by: str
    run_id: str
    segmentation: str
    #: the segments' labels, and their names at the time of the design
    segments: list[str]
    segment_names: list[str]
    variants: list[str]
    #: each variant's share of the hash range (summing to 1)
    weights: list[float]
    salt: str
    control: str | None
    #: customers per segment label, then per variant
    counts: dict[str, dict[str, int]]
    n_customers: int
    #: several segments, each split with the weights on its own
    stratified: bool


@router.post(
    "/experiments",
    summary="Design a split test on segments (stored)",
    description="Assigns the customers of the segments to the variants by a hash of (salt, "
    "customer id): the first 8 hex digits of md5(salt:customer_id) / 2^32, the variants taking "
    "contiguous ranges by weight. Stores the design and one row per customer; answers with the "
    "counts per segment and variant. docs/experiments.md.",
    status_code=201,
    responses=errors(403),
)
def design(body: DesignRequest, who: Analyst, state: State) -> ExperimentRecord:
    found = service.design(
        state,
        state.workspace(),
        name=body.name,
        segmentation=body.segmentation,
        segments=body.segments,
        variants=body.variants,
        weights=body.weights,
        salt=body.salt,
        run=body.run,
        control=body.control,
        replace=body.replace,
        user=who.name,
    )
    return ExperimentRecord(**found)


@router.get("/experiments", summary="Every split test designed, newest first", responses=errors())
def experiments(_: Viewer, state: State) -> list[ExperimentRecord]:
    return [ExperimentRecord(**d) for d in service.list_experiments(state.workspace())]
