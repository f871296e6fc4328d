"""What the REST API and the admin page do for retention and subject access, as functions.

Both call these, so ``/api/v1/retention/apply`` and ``/api/v1/subject-access`` answer what
the Retention & access page shows. Retention limits arrive as a spec's YAML text (its
``retention:`` section is read; ``sources:`` are ignored, nothing is imported) or as a
mapping; applying them takes the server's write lock. Whoever acts is recorded in the audit
log with the request's address.
"""

from __future__ import annotations

from typing import Any

from segmint._workspace import Workspace
from segmint.api.services import NotFound
from segmint.api.state import AppState
from segmint.exceptions import SpecError
from segmint.privacy.audit import acting_as
from segmint.privacy.subject import resolve
from segmint.spec.model import retention_policy, spec_from_text
from segmint.spec.retention import RetentionSpec

__all__ = ["apply_retention", "policy_from", "subject_access"]


def policy_from(ws: Workspace, *, spec: str | None, limits: dict[str, Any] | None) -> RetentionSpec:
    """The limits of ``spec`` (YAML text) or ``limits``; a SpecError when there are none."""
    if spec and spec.strip():
        policy = spec_from_text(spec, where="the spec", base_dir=ws.path.parent).retention
    else:
        policy = retention_policy(limits or {})
    if not policy.limits():
        raise SpecError(
            "No retention limits were given, so nothing would be removed.",
            fix="send e.g. 'retention: {orders: 3y, events: 13m, quality_samples: 30d}' as the "
            'spec, or {"retention": {"orders": "3y"}} (docs/privacy.md, Retention).',
        )
    return policy


def apply_retention(
    state: AppState,
    ws: Workspace,
    policy: RetentionSpec,
    *,
    dry_run: bool,
    user: str,
    origin: str,
) -> dict[str, Any]:
    """Apply (or, dry, count) ``policy`` on the workspace; the result as JSON data."""
    with acting_as(user, origin), state.write_lock:
        done = ws.apply_retention(policy, dry_run=dry_run, rewrite=False)
    out = {**done.to_dict(), "summary": done.summary()}
    if done.total and not dry_run:  # the removed rows' bytes go with the file's rewrite
        from segmint.api.services_privacy import start_compact

        out["compact_job"] = start_compact(state, user)
    return out


def subject_access(
    state: AppState,
    ws: Workspace,
    *,
    customer_id: str | None,
    email: str | None,
    phone: str | None,
    user: str,
    origin: str,
) -> dict[str, Any]:
    """Everything held about one person; 404 when nobody matches. Its audit row is written
    under the write lock."""
    if not resolve(ws.store, customer_id=customer_id, email=email, phone=phone):
        raise NotFound(
            "Nobody in the workspace matches the identifier given; nothing was returned.",
            fix="check the value, or search by another identifier (customer_id, email, phone).",
        )
    with acting_as(user, origin), state.write_lock:
        data = ws.subject_access(customer_id=customer_id, email=email, phone=phone)
    data["workspace"] = state.redact(data["workspace"])
    return data
