"""What the REST API and the web page do with schedules, as plain functions over a workspace.

Both call these, so the Schedules page and ``/api/v1/schedules`` cannot disagree. A schedule
added through the server carries its spec as text, and that spec may not list ``sources:``:
they are paths on the server's disk, and a client must not make the server import a file of
its choosing (data reaches the server as uploads). Paths under the server's folders are shown
as file names, as in every answer. Writes take the server's write lock (ids in order).
"""

from __future__ import annotations

from typing import Any

from segmint._run import schedule as core
from segmint._workspace import Workspace
from segmint.api.services import NotFound
from segmint.api.state import AppState
from segmint.exceptions import SegmintError, SpecError
from segmint.spec.model import spec_from_text

__all__ = ["add", "list_schedules", "remove", "runs"]


def add(state: AppState, ws: Workspace, *, cron: str, spec: str, user: str) -> dict[str, Any]:
    """Add a schedule running ``spec`` (YAML text; empty: the default segmentations)."""
    parsed = spec_from_text(spec, where="the spec", base_dir=ws.path.parent)
    if parsed.sources:
        raise SpecError(
            f"A schedule added through the server runs on the workspace's data; its spec "
            f"cannot list sources: ({len(parsed.sources)} given), files on the server's disk.",
            fix="leave sources: out and upload new exports (Upload, or POST /api/v1/uploads) "
            "before the schedule runs; or add the schedule on the server's machine with "
            "`segmint schedule add CRON --spec FILE`.",
        )
    with state.write_lock:
        added = core.add_schedule(ws, cron, spec_text=spec, user=user)
    return _view(state, added.to_dict())


def list_schedules(state: AppState, ws: Workspace) -> list[dict[str, Any]]:
    """Every schedule with its last run (or None)."""
    out = []
    for s in core.list_schedules(ws):
        last = core.schedule_runs(ws, s.schedule_id, limit=1)
        view = _view(state, s.to_dict())
        view["last_run"] = _run_view(state, last[0].to_dict()) if last else None
        out.append(view)
    return out


def remove(state: AppState, ws: Workspace, schedule_id: str) -> dict[str, Any]:
    """Remove a schedule and its history; 404 when there is none."""
    _exists(ws, schedule_id)
    with state.write_lock:
        removed = core.remove_schedule(ws, schedule_id)
    return _view(state, removed.to_dict())


def runs(state: AppState, ws: Workspace, schedule_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The schedule's latest runs, newest first; 404 when there is no such schedule."""
    _exists(ws, schedule_id)
    return [_run_view(state, r.to_dict()) for r in core.schedule_runs(ws, schedule_id, limit=limit)]


def _exists(ws: Workspace, schedule_id: str) -> None:
    try:
        core.get_schedule(ws, schedule_id)
    except SegmintError as exc:
        raise NotFound(exc.problem, fix=exc.fix) from None


def _view(state: AppState, s: dict[str, Any]) -> dict[str, Any]:
    for key in ("spec_path", "spec_text", "out_dir"):
        s[key] = state.redact.optional(s[key])
    return s


def _run_view(state: AppState, r: dict[str, Any]) -> dict[str, Any]:
    for key in ("report_dir", "error"):
        r[key] = state.redact.optional(r[key])
    return r
