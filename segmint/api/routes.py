"""The REST API under ``/api/v1``: every endpoint needs a token (``Authorization: Bearer``).

Roles: viewer reads (the export log too: it holds counts, names and hashes, no customer
data), analyst also uploads, runs, renames and exports (member lists and audience files hand
out personal data), admin also manages tokens. No token or an unknown one → 401; a role too low → 403 saying which role is needed.
User errors come back as JSON ``{"error", "detail", "problem", "where", "fix"}`` with 400
(404 for a missing run, segment, job or upload); the OpenAPI description is at ``/docs``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from segmint.api import scoring, services, services_engine
from segmint.api.auth import Principal, role_allows
from segmint.api.openapi import UPLOAD_BODY, errors
from segmint.api.state import AppState, state_of
from segmint.spec.model import SegmentationSpec

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
bearer = HTTPBearer(auto_error=False, description="An API token from `segmint serve`.")

Role = Literal["viewer", "analyst", "admin"]


# The dependencies below are ``async def`` although they never await: they only read memory,
# and FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop per dependency
# and request (four on every API call; with app.Admission they halved GET /me's time).


async def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    found = state_of(request).tokens.verify(creds.credentials if creds else None)
    if found is None:
        raise HTTPException(
            401,
            "A valid API token is needed: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not role_allows(who.role, role):
            raise HTTPException(
                403, f"This needs the {role} role; the token '{who.name}' is a {who.role}."
            )
        return who

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]


async def _state(request: Request) -> AppState:
    return state_of(request)


State = Annotated[AppState, Depends(_state)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


# -- models (for validation and the OpenAPI description) -------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequest(Strict):
    """Segmentations to run (the spec's ``segmentations:`` list); empty = the defaults."""

    segmentations: list[SegmentationSpec] = Field(default_factory=list, max_length=20)


class ImportRequest(Strict):
    table: (
        Literal["orders", "customers", "events", "feedback", "campaigns", "campaign_contacts"]
        | None
    ) = None
    format: str = Field("auto", max_length=40)
    mapping: dict[Name, Name] = Field(default_factory=dict, max_length=100)


class SegmentEdit(Strict):
    name: str | None = Field(None, max_length=200)
    targeting: (
        dict[
            Literal["goal", "channel", "offer", "message", "subject", "body"],
            Annotated[str, Field(max_length=20_000)],
        ]
        | None
    ) = None


class PreviewExample(BaseModel):
    """One example member and the message rendered for them."""

    customer_id: str
    first_name: str | None = None
    email: str | None = None
    subject: str
    body: str


class MessagePreview(BaseModel):
    """A segment's message templates rendered for example members of the segment."""

    segment: str
    subject: str
    body: str
    #: the plan has no template: these are segmint's suggestion (exports carry none)
    suggested: bool
    examples: list[PreviewExample]


class AssignRequest(Strict):
    customers: list[dict[Name, float | int | str | bool | None]] = Field(
        min_length=1, max_length=10_000
    )


class TokenRequest(Strict):
    name: Name
    role: Role = "viewer"


class RulesRequest(Strict):
    rules: dict[Name, Annotated[str, Field(max_length=2000)]] = Field(min_length=1, max_length=50)
    #: the run will have a value segmentation (its clv, p_alive, … are columns rules can read)
    value: bool = False


class ExportRequest(Strict):
    """One audience file: the segments (labels or names), the destination and its options."""

    segments: list[Name] = Field(min_length=1, max_length=100)
    #: a destination: google-ads, meta, klaviyo, mailchimp, hubspot, csv (docs/activation.md)
    to: str = Field(min_length=1, max_length=40)
    #: SHA-256 the identifiers (default: as the platform takes them; ad platforms hash)
    hashed: bool | None = None
    #: write an ad audience below the platform's minimum (Google, Meta: 100)
    min_size: int | None = Field(None, ge=0, le=1_000_000_000)
    #: a missing consent value counts as consent (recorded in the log)
    assume_consent: bool = False


class ExportRecord(BaseModel):
    """One row of the export log."""

    export_id: str
    created_at: str
    created_by: str
    run_id: str
    segmentation: str
    segments: list[str]
    segment_names: list[str]
    destination: str
    hashed: bool
    assume_consent: bool
    rows_written: int
    #: rows left out, per reason ("no consent", "no usable identifier")
    left_out: dict[str, int]
    #: the file written (``download`` for a file sent by the API or the web app)
    path: str
    sha256: str
    warnings: list[str]
    #: what the file holds when it is part of the segments (a split test's variant), or null
    label: str | None = None


#: what an export's answer says about the file, besides the file itself
EXPORT_HEADERS = {
    "Content-Disposition": 'attachment; filename="…"',
    "X-Segmint-Export-Id": "The export's id in the log (GET /api/v1/exports)",
    "X-Segmint-Rows": "Rows written",
    "X-Segmint-SHA256": "SHA-256 of the file, as logged",
}


def _export_responses() -> dict[int | str, dict[str, Any]]:
    out = errors(403, 404, ok=("text/csv", "The audience file (logged with path `download`)"))
    out[200]["headers"] = {
        name: {"description": text, "schema": {"type": "string"}}
        for name, text in EXPORT_HEADERS.items()
    }
    return out


class Job(BaseModel):
    job_id: str
    kind: str
    status: str
    message: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    result: dict[str, Any] | None = None


# -- endpoints ------------------------------------------------------------------------------------


@router.get("/me", summary="Who the token belongs to", responses=errors())
def me(who: Viewer) -> dict[str, str]:
    return {"name": who.name, "role": who.role, "token_id": who.token_id}


@router.get("/tables", summary="Workspace tables with row counts", responses=errors())
def tables(_: Viewer, state: State) -> list[dict[str, Any]]:
    return services_engine.list_tables(state)


@router.get(
    "/methods",
    summary="Segmentation methods: spec fields, defaults, params",
    responses=errors(),
)
def methods(_: Viewer) -> list[dict[str, Any]]:
    return services.list_methods()


@router.get("/runs", summary="Segmentation runs, newest first", responses=errors())
def runs(_: Viewer, state: State) -> list[dict[str, Any]]:
    return services.list_segment_runs(state.workspace())


@router.post(
    "/runs",
    status_code=202,
    summary="Start a segmentation run (a background job)",
    responses=errors(403),
)
def start_run(body: RunRequest, who: Analyst, state: State) -> Job:
    job_id = services.start_run(state, who.name, body.segmentations)
    return Job(**(state.jobs.get(job_id) or {}))


@router.get(
    "/runs/{run_id}/segmentations/{name}",
    summary="Profiles, ranking and plans",
    responses=errors(404),
)
def segmentation(run_id: str, name: str, _: Viewer, state: State) -> dict[str, Any]:
    return services.get_segmentation(state.workspace(), run_id, name).to_json()


@router.patch(
    "/runs/{run_id}/segmentations/{name}/segments/{label}",
    summary="Rename a segment or edit its targeting plan and message templates",
    responses=errors(403, 404),
)
def edit_segment(
    run_id: str, name: str, label: str, body: SegmentEdit, _: Analyst, state: State
) -> dict[str, Any]:
    ws = state.workspace()
    services.check_segment(ws, run_id, name, label)
    out: dict[str, Any] = {}
    if body.name is not None:
        out["segment"] = services.rename_segment(state, ws, run_id, name, label, body.name)
    if body.targeting is not None:
        out["targeting"] = services.update_targeting(
            state, ws, run_id, name, label, {str(k): v for k, v in body.targeting.items()}
        )
    return out


@router.get(
    "/runs/{run_id}/segmentations/{name}/segments/{label}/preview",
    summary="The segment's message (subject, body templates) rendered for 3 example members",
    responses=errors(403, 404),
)
def message_preview(run_id: str, name: str, label: str, _: Analyst, state: State) -> MessagePreview:
    return MessagePreview(**services.message_preview(state.workspace(), run_id, name, label))


@router.post(
    "/runs/{run_id}/segmentations/{name}/assign",
    summary="Assign one customer or a batch to the fitted segmentation",
    responses=errors(404),
)
async def assign(
    run_id: str, name: str, body: AssignRequest, _: Viewer, state: State
) -> list[dict[str, Any]]:
    # a few customers with their values, on a model already loaded, are scored right here on
    # the event loop (numpy, tens of µs); the rest reads the workspace in a worker thread
    done = scoring.score_in_memory(state, run_id, name, body.customers)
    if done is not None:
        return done
    return await run_in_threadpool(
        lambda: scoring.score(state, state.workspace(), run_id, name, body.customers)
    )


@router.get(
    "/runs/{run_id}/segmentations/{name}/members.csv",
    summary="Segment members as CSV (all segments, or one with ?segment=)",
    response_class=Response,
    responses=errors(403, 404, ok=("text/csv", "The members")),
)
def members_csv(
    run_id: str,
    name: str,
    _: Analyst,
    state: State,
    segment: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    text, filename = services_engine.members_csv(state, run_id, name, segment)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/runs/{run_id}/segmentations/{name}/export",
    summary="An audience file for an ad platform or e-mail tool (logged)",
    description="Writes the file the destination imports for the segments, leaving out (and "
    "counting) customers without the consent it needs, and sends it as a download; the "
    "export log records it with the token's name and path `download`. An ad audience under "
    "the platform's minimum is a 400 unless `min_size` is lowered. docs/activation.md.",
    response_class=Response,
    responses=_export_responses(),
)
def export(run_id: str, name: str, body: ExportRequest, who: Analyst, state: State) -> FileResponse:
    done = services.export_download(
        state,
        state.workspace(),
        run_id,
        name,
        body.segments,
        to=body.to,
        user=who.name,
        hashed=body.hashed,
        min_size=body.min_size,
        assume_consent=body.assume_consent,
    )
    return FileResponse(
        done.path,
        media_type="text/csv; charset=utf-8",
        filename=done.filename,
        headers={
            "X-Segmint-Export-Id": done.record.export_id,
            "X-Segmint-Rows": str(done.record.rows_written),
            "X-Segmint-SHA256": done.record.sha256,
        },
        background=BackgroundTask(done.discard),
    )


@router.get("/exports", summary="Every audience file written, newest first", responses=errors())
def exports(_: Viewer, state: State) -> list[ExportRecord]:
    return [ExportRecord(**e) for e in services.list_exports(state.workspace())]


@router.get(
    "/runs/{run_id}/report",
    summary="The run's HTML report",
    response_class=FileResponse,
    responses=errors(404, ok=("text/html", "The report")),
)
def report(run_id: str, _: Viewer, state: State) -> FileResponse:
    path = services.report_file(state, run_id)
    return FileResponse(
        path,
        media_type="text/html",
        filename=f"segmint-report-{run_id}.html",
        headers={"Content-Security-Policy": services.REPORT_CSP},
    )


@router.get(
    "/compare",
    summary="Migration of customers between two segmentations",
    responses=errors(404),
)
def compare(
    run_a: Annotated[str, Query(max_length=100)],
    name_a: Annotated[str, Query(max_length=200)],
    run_b: Annotated[str, Query(max_length=100)],
    name_b: Annotated[str, Query(max_length=200)],
    _: Viewer,
    state: State,
) -> dict[str, Any]:
    return services_engine.compare_runs(state, run_a, name_a, run_b, name_b)


@router.post(
    "/uploads",
    status_code=201,
    summary="Upload an export; returns its preview",
    description="The file is a multipart form field named `file` (CSV, Excel, Parquet, JSON, "
    "optionally gzip-compressed). It is streamed to disk and refused with 413 as soon as it "
    "passes the server's upload limit, or when its compressed content unpacks too far.",
    openapi_extra=UPLOAD_BODY,
    responses=errors(403, 507),
)
async def upload(request: Request, _: Analyst, state: State) -> dict[str, Any]:
    received = await services.receive_upload(state, request)

    def check_and_preview() -> dict[str, Any]:
        services.check_upload(state, received)
        try:
            return services.preview_upload(received.path)
        except BaseException:
            received.discard()  # an upload that cannot be previewed cannot be imported
            raise

    preview = await run_in_threadpool(check_and_preview)
    return {"upload_id": received.upload_id, "filename": received.path.name, **preview}


@router.post(
    "/uploads/{upload_id}/import",
    status_code=202,
    summary="Import an uploaded file (a background job: import, clean, quality report)",
    responses=errors(403, 404),
)
def import_upload(upload_id: str, body: ImportRequest, who: Analyst, state: State) -> Job:
    path = services.upload_path(state, upload_id)
    job_id = services.start_ingest(
        state, who.name, path, into=body.table, fmt=body.format, mapping=dict(body.mapping)
    )
    return Job(**(state.jobs.get(job_id) or {}))


@router.get("/jobs", summary="Recent background jobs", responses=errors())
def jobs(_: Viewer, state: State) -> list[Job]:
    return [Job(**j) for j in state.jobs.list()]


@router.get("/jobs/{job_id}", summary="One job's status", responses=errors(404))
def job(job_id: str, _: Viewer, state: State) -> Job:
    found = state.jobs.get(job_id)
    if found is None:
        raise services.NotFound(f"There is no job '{job_id}'.")
    return Job(**found)


@router.post(
    "/rules/validate",
    summary="Check rules written in the rule language",
    responses=errors(),
)
def validate_rules(body: RulesRequest, _: Viewer, state: State) -> dict[str, Any]:
    columns = services.rule_columns(state.workspace(), value=body.value)
    return services.validate_rules(dict(body.rules), columns)


@router.get("/tokens", summary="API tokens (never their secret)", responses=errors(403))
def list_tokens(_: Admin, state: State) -> list[dict[str, Any]]:
    return state.tokens.list()


@router.post(
    "/tokens",
    status_code=201,
    summary="Create a token; its secret is shown once",
    responses=errors(403),
)
def create_token(body: TokenRequest, _: Admin, state: State) -> dict[str, str]:
    p, token = state.tokens.create(body.name, body.role)
    return {"token_id": p.token_id, "name": p.name, "role": p.role, "token": token}


@router.delete("/tokens/{token_id}", summary="Revoke a token", responses=errors(403, 404))
def revoke_token(token_id: str, who: Admin, state: State) -> dict[str, str]:
    if token_id == who.token_id:
        raise HTTPException(400, "A token cannot revoke itself; sign in with another admin token.")
    if not state.tokens.revoke(token_id):
        raise services.NotFound(f"There is no active token '{token_id}'.")
    return {"revoked": token_id}
