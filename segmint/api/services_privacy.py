"""Erasure on the server: a dry run answered at once, the erasure itself as a job.

The erasure rewrites the workspace file, which needs every connection to it closed:
:meth:`AppState.exclusive` closes the server's own, answers new requests 503 meanwhile, and
opens them again afterwards. Jobs run one at a time, so no import or run is in the middle of
a write. Uploads (the server's copies of imported files) that held the person are deleted.
"""

from __future__ import annotations

from typing import Any

from segmint._workspace import Workspace
from segmint.api.state import AppState

__all__ = ["preview_erase", "start_compact", "start_erase"]


def preview_erase(state: AppState, **who: str | None) -> dict[str, Any]:
    """What an erasure would remove (nothing changes)."""
    ws = state.workspace()
    return ws.erase(**who, dry_run=True).as_dict()  # type: ignore[arg-type]


def start_erase(state: AppState, user: str, *, reason: str | None, **who: str | None) -> str:
    """Queue the erasure; the job's result is ``ErasureResult.as_dict()``."""
    settings = state.settings
    preview_erase(state, **who)  # nobody found: the request fails now, not the job

    def work(progress: Any) -> dict[str, Any]:
        progress("Waiting for requests to finish, then erasing")
        with state.exclusive():
            ws = Workspace(settings.workspace)
            try:
                done = ws.erase(
                    **who,  # type: ignore[arg-type]
                    reason=reason,
                    owned_dirs=[state.uploads],
                )
            finally:
                ws.close()
        return done.as_dict()

    return state.jobs.submit("erase", user, work)


def start_compact(state: AppState, user: str) -> str:
    """Queue a rewrite of the workspace file (after retention deleted rows)."""
    settings = state.settings

    def work(progress: Any) -> dict[str, Any]:
        progress("Waiting for requests to finish, then rewriting the workspace file")
        with state.exclusive():
            ws = Workspace(settings.workspace)
            try:
                return ws.compact()
            finally:
                ws.close()

    return state.jobs.submit("compact", user, work)
