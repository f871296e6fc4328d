"""REST endpoints for retention and subject access, under ``/api/v1`` (admin only).

Both touch every customer's data (retention deletes it, subject access reads one person's
whole record), so both need the admin role, as erasure does. The work is
:mod:`segmint.api.services_retention`, shared with the web app's admin page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from segmint.api import services_retention as service
from segmint.api.openapi import errors
from segmint.api.routes import Admin, State, Strict

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
Identifier = Annotated[str | None, Query(min_length=1, max_length=320)]


class RetentionRequest(Strict):
    """Which limits to apply: a spec's YAML text (its ``retention:`` section) or a mapping."""

    #: a spec as YAML text; only its retention: section is read
    spec: str = Field("", max_length=50_000)
    #: or the limits themselves, e.g. {"orders": "3y", "quality_samples": "30d"}
    retention: dict[str, str] | None = None
    #: count what would go and change nothing
    dry_run: bool = False


def _origin(request: Request) -> str:
    return request.client.host if request.client else "api"


@router.post(
    "/retention/apply",
    summary="Delete rows older than the retention limits (or count them: dry_run)",
    description="Counts back each limit (`3y`, `13m`, `26w`, `30d`) from now (UTC) and deletes "
    "the older rows of orders, events, feedback, campaign contacts, quality samples, export "
    "members, the audit log and finished jobs, in one transaction with its audit row. "
    "`dry_run` changes nothing. docs/privacy.md, Retention.",
    responses=errors(403),
)
def apply(body: RetentionRequest, who: Admin, state: State, request: Request) -> dict[str, Any]:
    ws = state.workspace()
    policy = service.policy_from(ws, spec=body.spec, limits=body.retention)
    return service.apply_retention(
        state, ws, policy, dry_run=body.dry_run, user=who.name, origin=_origin(request)
    )


@router.get(
    "/subject-access",
    summary="Everything the workspace holds about one person (GDPR art. 15 / 20)",
    description="Give one of `customer_id`, `email` (any case) or `phone` (any punctuation). "
    "The answer: their rows in every customer-keyed table, segments per run, audience files "
    "and split tests that held them, consent history, quality samples, audit rows, and a "
    "summary. 404 when nobody matches. docs/privacy.md, Access and portability.",
    responses=errors(403, 404),
)
def subject_access(
    who: Admin,
    state: State,
    request: Request,
    customer_id: Identifier = None,
    email: Identifier = None,
    phone: Identifier = None,
) -> dict[str, Any]:
    return service.subject_access(
        state,
        state.workspace(),
        customer_id=customer_id,
        email=email,
        phone=phone,
        user=who.name,
        origin=_origin(request),
    )
