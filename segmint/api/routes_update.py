"""REST endpoint for ``segmint update`` (incremental updates), under ``/api/v1``.

``POST /update`` takes the week's new exports as a multipart form (``file``, repeated, and the
fields ``refit``, ``into``, ``profile``) and answers 202 with a job of kind ``update``, as an
import or a run does; ``GET /jobs/{id}`` then carries ``UpdateOutput.to_dict()`` as its result.
Analyst, because it imports data and writes a segment run. The work is
:mod:`segmint.api.services_update`, shared with the web app's Update page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from segmint.api import services_update as service
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, Job, State
from segmint.api.uploads import MAX_FILES

__all__ = ["UPDATE_BODY", "router"]

router = APIRouter(prefix="/api/v1")

#: the multipart body (the route streams it itself, so FastAPI does not describe it)
UPDATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "maxItems": MAX_FILES,
                            "description": "The new exports (CSV, Excel, Parquet, JSON, "
                            "optionally .gz), none imported before; the field repeated",
                        },
                        "refit": {
                            "type": "string",
                            "enum": ["never", "auto", "always"],
                            "default": "never",
                            "description": "never: score with the stored models; auto: refit "
                            "when a feature a segmentation uses drifted; always: refit",
                        },
                        "into": {
                            "type": "string",
                            "enum": list(service.TABLES),
                            "description": "The table the files go into (default: detected)",
                        },
                        "profile": {
                            "type": "boolean",
                            "default": False,
                            "description": "Also recompute the profiles and ranking",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/update",
    status_code=202,
    summary="Add new exports and re-score every customer (a background job)",
    description="`segmint update` on the server: imports the files (one imported before "
    "refuses the whole batch: the job fails saying so), rebuilds the feature rows the new "
    "rows touch, re-scores every customer with the last segment run's stored models (or "
    "refits, `refit`), stores a new segment run and compares it with the last one. The job's "
    "result is the JSON of `segmint update --json`. The upload limit holds for the files "
    "together. docs/monitoring.md, Incremental updates.",
    openapi_extra=UPDATE_BODY,
    responses=errors(403, 507),
)
async def update(request: Request, who: Analyst, state: State) -> Job:
    batch = await service.receive(state, request)

    job_id = await run_in_threadpool(service.submit, state, who.name, batch)
    return Job(**(state.jobs.get(job_id) or {}))
