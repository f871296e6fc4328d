"""Campaign results for the REST API and the web app (one function both call).

A module of its own so that ``services.py`` does not grow further; the numbers come from
:meth:`segmint.Workspace.campaigns`, as in the CLI and Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segmint._workspace import Workspace

__all__ = ["campaign_results", "has_contacts", "segmentation_names"]


def campaign_results(
    ws: Workspace,
    *,
    campaigns: Sequence[str] = (),
    segmentation: str | None = None,
    run: str | None = None,
    by: Sequence[str] = ("campaign", "segment", "channel"),
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The results as JSON (``CampaignResults.to_dict``): every number at full precision."""
    res = ws.campaigns(
        list(campaigns),
        segmentation=segmentation or None,
        run=run or None,
        by=list(by) or ("campaign", "segment", "channel"),
        confidence=confidence,
    )
    return res.to_dict()


def has_contacts(ws: Workspace) -> bool:
    """The workspace holds imported campaign contacts (the web page says how to import)."""
    return "campaign_contacts" in ws.tables()


def segmentation_names(ws: Workspace) -> list[str]:
    """The segmentations stored runs hold (where a contact's segment can be looked up)."""
    if "segmentations" not in ws.tables():
        return []
    rows = ws.store.db.cursor().execute("SELECT DISTINCT name FROM segmentations ORDER BY 1")
    return [str(r[0]) for r in rows.fetchall()]
