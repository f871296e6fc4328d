"""What the REST API and the web page do with split tests, as plain functions over a workspace.

Both interfaces call these (as :mod:`segmint.api.services` for the rest), so the Experiments
page and ``/api/v1/experiments`` cannot disagree. The design is written under the server's
write lock: experiment ids are numbered in order, one design at a time. The server writes no
audience files here: a variant's file is an export the caller downloads, and the REST API
hands out files one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segmint._workspace import Workspace
from segmint.api.state import AppState

__all__ = ["design", "list_experiments", "segmentation_names"]


def design(
    state: AppState,
    ws: Workspace,
    *,
    name: str,
    segmentation: str,
    segments: Sequence[str] | None,
    variants: Sequence[str],
    weights: Sequence[float] | None,
    salt: str | None,
    run: str | None,
    control: str | None,
    replace: bool,
    user: str,
) -> dict[str, Any]:
    """Design and store a split test (``Workspace.design_experiment``) created by ``user``;
    its summary (the ``experiments`` row with counts per segment × variant)."""
    from segmint.measure.design import design_experiment

    with state.write_lock:
        done = design_experiment(
            ws.store,
            name=name,
            segmentation=segmentation,
            segments=segments,
            variants=variants,
            weights=weights,
            salt=salt,
            run=run,
            control=control,
            replace=replace,
            created_by=user,
        )
    out: dict[str, Any] = done.to_dict()
    return out


def list_experiments(ws: Workspace) -> list[dict[str, Any]]:
    """Every designed split test, newest first (``segmint experiment list``)."""
    return [d.to_dict() for d in ws.experiments()]


def segmentation_names(ws: Workspace) -> list[str]:
    """The segmentations a test can be designed on (those of any segment run), sorted."""
    if "segmentations" not in ws.tables():
        return []
    rows = ws.store.db.cursor().execute("SELECT DISTINCT name FROM segmentations").fetchall()
    return sorted(str(r[0]) for r in rows)
