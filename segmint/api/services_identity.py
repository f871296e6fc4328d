"""Identity resolution on the server: the dedupe job, the identity map, explanations, review.

The REST endpoints (``/api/v1/dedupe``, ``/api/v1/identity/…``) and the web app's Persons page
both call these, so they cannot disagree. A dedupe run trains Splink or scores every new record
(seconds to a minute), so it is a job of kind ``dedupe`` on the single worker, never competing
with an import or a run for DuckDB's writer; what can be refused cheaply (no customers, nothing
to link on, an incremental run without a model) is a 400 before the job. A reviewer's decision
reclusters from the stored scores in a moment: it is written at once under the write lock,
acting as the caller, and refused while a dedupe job is queued or running (that job rewrites
the same tables). Answers are JSON-ready: a singleton's match probability (NaN in the identity
map) and any other non-finite number become null.
"""

from __future__ import annotations

import json
import math
from typing import Any

from segmint._workspace import Workspace
from segmint.api.state import AppState
from segmint.exceptions import InputError
from segmint.identity.link import latest_model, preflight
from segmint.identity.model import comparison_table
from segmint.privacy.audit import acting_as
from segmint.store.csvsafe import frame_to_csv_text

__all__ = [
    "DECISIONS",
    "MAX_PAGE",
    "check_dedupe",
    "clusters_csv",
    "clusters_page",
    "decide",
    "explain",
    "overview",
    "review",
    "start_dedupe",
]

DECISIONS = ("accept", "reject", "clear")
#: the most rows one page of the identity map holds
MAX_PAGE = 1000
_BUSY = ("queued", "running")


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def check_dedupe(ws: Workspace, *, incremental: bool | None = None) -> None:
    """Refuse now what the job would refuse after waiting its turn (identity's preflight)."""
    preflight(ws.store, incremental=incremental)


def start_dedupe(
    state: AppState, user: str, *, threshold: float | None = None, incremental: bool | None = None
) -> str:
    """Queue a dedupe run; its result is ``DedupeResult.as_dict()``."""
    check_dedupe(state.workspace(), incremental=incremental)
    settings = state.settings

    def work(progress: Any) -> dict[str, Any]:
        with Workspace(settings.workspace) as ws:
            done = ws.dedupe(threshold=threshold, incremental=incremental, progress=progress)
        state.models.clear()  # features and segments now count persons
        out: dict[str, Any] = jsonable(done.as_dict())
        return out

    return state.jobs.submit("dedupe", user, work)


def clusters_page(
    ws: Workspace, *, linked_only: bool = False, offset: int = 0, limit: int = 100
) -> dict[str, Any]:
    """One page of the identity map, ordered by person: ``total`` rows and ``items``."""
    frame = ws.identity_clusters(linked_only=linked_only)
    part = frame.iloc[offset : offset + min(limit, MAX_PAGE)]
    items = jsonable(part.astype(object).where(part.notna(), None).to_dict("records"))
    for row in items:
        row["cluster_size"] = int(row["cluster_size"])
    return {"total": len(frame), "offset": offset, "limit": limit, "items": items}


def clusters_csv(ws: Workspace, *, linked_only: bool = False) -> tuple[str, str]:
    """The identity map as CSV (``customer_id,cluster_id,…``, as ``segmint dedupe --out``)
    and a file name; ids that a spreadsheet would run as a formula are neutralized."""
    frame = ws.identity_clusters(linked_only=linked_only)
    name = "persons-linked.csv" if linked_only else "persons.csv"
    return frame_to_csv_text(frame), name


def explain(ws: Workspace, customer_id: str, other: str | None = None) -> dict[str, Any]:
    """A customer's person: its records and each link's waterfall (or the one pair)."""
    out: dict[str, Any] = jsonable(ws.explain_identity(customer_id, other).as_dict())
    return out


def review(ws: Workspace, n: int = 20) -> list[dict[str, Any]]:
    """The ``n`` undecided pairs nearest the threshold, both records side by side."""
    out: list[dict[str, Any]] = jsonable(ws.identity_review(n))
    return out


def decide(
    state: AppState,
    ws: Workspace,
    *,
    a: str,
    b: str,
    decision: str,
    user: str,
    origin: str,
) -> dict[str, Any]:
    """Keep a reviewer's decision on a pair (accept, reject, clear) and recluster, as
    ``user`` from ``origin``; the recluster's ``DedupeResult.as_dict()``."""
    if decision not in DECISIONS:
        raise InputError(
            f"A decision is accept, reject or clear; got '{decision[:40]}'.",
            fix="accept: one person; reject: two people; clear: forget the decision.",
        )
    if latest_model(ws.store) is None:  # as identity.decide says it, in the server's words
        raise InputError(
            "This workspace has no identity map yet: there are no pairs to decide on.",
            fix="run a dedupe first (POST /api/v1/dedupe, or Find duplicates on the Persons page).",
        )
    if any(j["kind"] == "dedupe" and j["status"] in _BUSY for j in state.jobs.list(limit=20)):
        raise InputError(
            "A search for duplicates is running; it rewrites the persons this decision changes.",
            fix="decide again when the job has finished (a few seconds to a minute).",
        )
    with state.write_lock, acting_as(user, origin):
        done = ws.decide_identity(a, b, decision)
    state.models.clear()  # persons were reclustered: a customer's key may have changed
    out: dict[str, Any] = jsonable(done.as_dict())
    return out


def overview(ws: Workspace) -> dict[str, Any] | None:
    """What the last dedupe left: records, persons, linked records, records not linked yet,
    the threshold, the learned match weights, the last run's events, the decisions kept;
    None before the first run."""
    saved = latest_model(ws.store) if "identity_models" in ws.tables() else None
    if saved is None or "identity_map" not in ws.tables():
        return None
    _, model, threshold = saved
    db = ws.store.db.cursor()
    records, persons = db.execute(
        "SELECT count(*), count(DISTINCT person_id) FROM identity_map"
    ).fetchone() or (0, 0)
    waiting = (
        db.execute(
            "SELECT count(DISTINCT customer_id) FROM customers WHERE CAST(customer_id AS "
            "VARCHAR) NOT IN (SELECT customer_id FROM identity_map)"
        ).fetchone()
        or (0,)
    )[0]
    last = db.execute(
        "SELECT run_id, finished_at, spec ->> 'mode', row_counts -> 'events' FROM runs "
        "WHERE kind = 'dedupe' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    events = json.loads(last[3]) if last and last[3] else {}
    decisions = dict(
        db.execute("SELECT decision, count(*) FROM identity_decisions GROUP BY ALL").fetchall()
        if "identity_decisions" in ws.tables()
        else []
    )
    return jsonable(
        {
            "records": int(records),
            "persons": int(persons),
            "linked": int(records) - int(persons),
            "waiting": int(waiting),
            "threshold": float(threshold),
            "run_id": last[0] if last else None,
            "finished_at": str(last[1])[:16] if last else None,
            "mode": last[2] if last else None,
            "events": {str(k): int(v) for k, v in events.items()},
            "decisions": {str(k): int(v) for k, v in decisions.items()},
            "comparisons": comparison_table(model),
        }
    )
