"""REST endpoint comparing two segment runs (monitor stage), under ``/api/v1``.

The answer is :meth:`segmint.monitor.compare.Monitoring.to_dict`, the same JSON as
``segmint monitor --json``: aggregates only (counts per segment, drift statistics), so a viewer
may read it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from segmint.api.openapi import errors
from segmint.api.routes import State, Viewer
from segmint.report import jsonable

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

RunId = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get(
    "/monitor",
    summary="Compare two segment runs: drift, migration, alerts",
    description="Segment run `current` (default: the latest) against `baseline` (default: the "
    "segment run before it): per-feature drift, customers moving between segments (matched "
    "by label), sizes, centroid shift, new and retired segments, and the alerts that crossed "
    "a threshold. docs/monitoring.md.",
    responses=errors(),
)
def monitor(
    _: Viewer,
    state: State,
    baseline: RunId = None,
    current: RunId = None,
    max_size_change: Annotated[float | None, Query(ge=0, le=1e6)] = None,
    max_moved_share: Annotated[float | None, Query(ge=0, le=1)] = None,
    min_segment_size: Annotated[int | None, Query(ge=0, le=10**12)] = None,
) -> dict[str, Any]:
    given = {
        "max_size_change": max_size_change,
        "max_moved_share": max_moved_share,
        "min_segment_size": min_segment_size,
    }
    limits = {k: v for k, v in given.items() if v is not None}
    # a Spark workspace compares in the engine (EngineWorkspace.monitor), the same JSON
    source = state.engine if state.engine is not None else state.workspace()
    result = source.monitor(baseline, current, thresholds=limits)
    out: dict[str, Any] = jsonable(result.to_dict())
    return out
