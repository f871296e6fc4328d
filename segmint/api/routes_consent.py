"""REST endpoints for consent (privacy), under ``/api/v1``.

``POST /consent`` records one customer's grant, denial or revocation on one channel;
``GET /consent/{customer_id}`` lists their records. Both are analyst: the history is about
one identified person, which a viewer (who reads aggregates) does not need. The work is
:mod:`segmint.api.services_consent`, shared with the web page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from segmint.api import services_consent as service
from segmint.api.openapi import errors
from segmint.api.routes import Analyst, State, Strict

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

Channel = Literal["email", "sms", "ads", "profiling"]
Status = Literal["granted", "denied", "revoked"]


class ConsentRequest(Strict):
    """One customer's decision on one channel."""

    customer_id: Annotated[str, Field(min_length=1, max_length=200)]
    channel: Channel
    status: Status
    #: where the decision came from (default: the token's name)
    source: str | None = Field(None, max_length=200)
    #: when the customer made it (UTC; default: now)
    at: datetime | None = None


class ConsentRecord(BaseModel):
    """One consent record."""

    customer_id: str
    channel: str
    status: str
    #: when the customer gave or refused it (UTC)
    at: str
    source: str | None
    #: the import that recorded it, or null when set by hand or through the API
    run_id: str | None
    recorded_at: str


@router.post(
    "/consent",
    summary="Record a customer's consent on one channel",
    description="Sets the customer's `consent_<channel>` flag (true for granted, false for "
    "denied or revoked) and appends a dated record to their history, in one transaction "
    "with an audit row. Exports and split-test files leave out customers without consent for "
    "their channel; `profiling` denied leaves the customer out of later segment runs. An "
    "unknown customer is a 400. docs/privacy.md, Consent.",
    status_code=201,
    responses=errors(403),
)
def set_consent(
    body: ConsentRequest, who: Analyst, state: State, request: Request
) -> ConsentRecord:
    found = service.set_consent(
        state,
        state.workspace(),
        customer_id=body.customer_id,
        channel=body.channel,
        status=body.status,
        user=who.name,
        origin=request.client.host if request.client else "unknown",
        source=body.source,
        at=_utc(body.at),
    )
    return ConsentRecord(**found)


def _utc(at: datetime | None) -> datetime | None:
    """A time as naive UTC (as the workspace stores every time)."""
    if at is None or at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


@router.get(
    "/consent/{customer_id}",
    summary="One customer's consent history, oldest first",
    responses=errors(403),
)
def history(customer_id: str, _: Analyst, state: State) -> list[ConsentRecord]:
    return [ConsentRecord(**d) for d in service.history(state.workspace(), customer_id)]
