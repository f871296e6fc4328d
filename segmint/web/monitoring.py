"""The Monitoring page: what changed between two segment runs, and the sizes over all runs.

The numbers are those of ``GET /api/v1/monitor`` (:meth:`segmint._workspace.Workspace.monitor`)
and the heat maps those of ``segmint monitor --html`` (:mod:`segmint.report.monitoring`), so
the page, the API and the command line never disagree. A workspace with fewer than two segment
runs gets the steps to make a second one instead of an error page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from segmint.api.state import state_of
from segmint.monitor.compare import segment_runs
from segmint.monitor.engine import EngineTables
from segmint.monitor.migration import sizes_over_runs
from segmint.report.monitoring import monitoring_view, sizes_over_runs_chart
from segmint.web.render import page
from segmint.web.session import WebUser, page_user

__all__ = ["router"]

router = APIRouter()

RunId = Annotated[str | None, Query(max_length=100)]


@router.get("/monitor")
def monitor(
    request: Request,
    user: Annotated[WebUser, Depends(page_user("viewer"))],
    baseline: RunId = None,
    current: RunId = None,
) -> Response:
    state = state_of(request)
    ws = state.workspace()
    runs = segment_runs(ws.store) if "segmentations" in ws.tables() else []
    view: dict[str, Any] | None = None
    # a Spark workspace: the comparison and the sizes are computed in the engine
    source = state.engine if state.engine is not None else ws
    tables = EngineTables(ws.store, state.engine.engine) if state.engine is not None else None
    if len(runs) >= 2:
        data = source.monitor(baseline or None, current or None).to_dict()
        view = monitoring_view(data)
        for section, s in zip(view["sections"], data["segmentations"], strict=True):
            history = sizes_over_runs(ws.store, s["name"], tables=tables)
            names = s["names"]["baseline"] | s["names"]["current"]
            section["history"] = sizes_over_runs_chart(s["name"], history, names)
    charts = bool(view) and any(
        s["chart"] is not None or s["history"] is not None for s in (view or {}).get("sections", [])
    )
    return page(
        request,
        "monitor.html.j2",
        user,
        title="Monitoring",
        m=view,
        runs=runs[::-1],
        charts=charts,
    )
