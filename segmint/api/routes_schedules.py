"""REST endpoints for scheduled re-runs, under ``/api/v1``.

``POST`` and ``DELETE /schedules`` change what the server runs by itself (analyst, as starting
a run); ``GET /schedules`` and a schedule's runs hold expressions, run ids and alerts, no
customer data (viewer). The server's poller (:mod:`segmint.api.scheduler`) runs due schedules
as jobs. The work is :mod:`segmint.api.services_schedules`, shared with the web page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from segmint.api import services_schedules as service
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, State, Strict, Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

ScheduleId = Annotated[str, Path(min_length=1, max_length=100)]


class ScheduleRequest(Strict):
    """When to re-run which spec."""

    #: five fields in UTC, e.g. "0 6 * * 1" (Mondays 06:00); a bad one is a 400 saying why
    cron: str = Field(min_length=1, max_length=200)
    #: the spec as YAML text, without sources: (empty: RFM, k-means, value tiers); 50,000
    #: characters at most, so that even escaped as JSON it stays under the body limit (1 MB)
    spec: str = Field("", max_length=50_000)


class ScheduleRunRecord(BaseModel):
    """One scheduled re-run: its segment run and the alerts against the run before it."""

    schedule_id: str
    started_at: str
    finished_at: str
    #: ok or failed
    status: str
    run_id: str | None
    baseline_run_id: str | None
    report_dir: str | None
    #: the paragraph of a failed run
    error: str | None
    alerts: list[dict[str, Any]]
    crossed: bool
    notes: list[str]


class ScheduleRecord(BaseModel):
    """A schedule (times in UTC) and its last run."""

    schedule_id: str
    cron: str
    spec_path: str | None
    spec_text: str
    out_dir: str | None
    created_at: str
    created_by: str
    enabled: bool
    last_run_at: str | None
    next_run_at: str
    last_run: ScheduleRunRecord | None = None


@router.post(
    "/schedules",
    summary="Schedule re-runs of a spec (cron expression, UTC)",
    description="The server runs the spec at the times of `cron` as a background job, compares "
    "the new segment run with the one before it (the spec's `monitoring:` thresholds) and keeps "
    "the alerts. The spec is YAML text without `sources:`. docs/monitoring.md, Scheduled "
    "re-runs.",
    status_code=201,
    responses=errors(403),
)
def add(body: ScheduleRequest, who: Analyst, state: State) -> ScheduleRecord:
    found = service.add(state, state.workspace(), cron=body.cron, spec=body.spec, user=who.name)
    return ScheduleRecord(**found)


@router.get("/schedules", summary="Every schedule, with its last run", responses=errors())
def schedules(_: Viewer, state: State) -> list[ScheduleRecord]:
    return [ScheduleRecord(**s) for s in service.list_schedules(state, state.workspace())]


@router.delete(
    "/schedules/{schedule_id}",
    summary="Remove a schedule and its run history",
    responses=errors(403, 404),
)
def remove(schedule_id: ScheduleId, _: Analyst, state: State) -> ScheduleRecord:
    return ScheduleRecord(**service.remove(state, state.workspace(), schedule_id))


@router.get(
    "/schedules/{schedule_id}/runs",
    summary="A schedule's runs, newest first: status, segment run, alerts",
    responses=errors(404),
)
def runs(
    schedule_id: ScheduleId,
    _: Viewer,
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[ScheduleRunRecord]:
    found = service.runs(state, state.workspace(), schedule_id, limit)
    return [ScheduleRunRecord(**r) for r in found]
