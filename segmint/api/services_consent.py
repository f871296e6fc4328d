"""What the REST API and the web app do with consent, as plain functions over a workspace.

Both interfaces call these, so the Consent page and ``/api/v1/consent`` cannot disagree. A
change is written under the server's write lock and recorded as done by the token's name from
the client's address (the audit log's *who* and *from where*); the record's source is the
token's name unless the caller gives one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from segmint._workspace import Workspace
from segmint.api.state import AppState
from segmint.privacy.audit import acting_as

__all__ = ["history", "set_consent"]


def set_consent(
    state: AppState,
    ws: Workspace,
    *,
    customer_id: str,
    channel: str,
    status: str,
    user: str,
    origin: str,
    source: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """``Workspace.set_consent`` by ``user`` from ``origin``; the record as JSON."""
    with state.write_lock, acting_as(user, origin):
        event = ws.set_consent(customer_id, channel, status, source=source or user, at=at)
    out: dict[str, Any] = event.to_dict()
    return out


def history(ws: Workspace, customer_id: str) -> list[dict[str, Any]]:
    """One customer's consent records, oldest first (``segmint consent show``)."""
    return [e.to_dict() for e in ws.consent_history(customer_id)]
