"""The run report's campaign results, when the workspace holds campaign contacts.

Contacts the file gives no segment are placed with the run's first segmentation, as it stood
at send time (:mod:`segmint.measure.campaigns`). Campaign results are an extra of the report:
when they cannot be computed the run still succeeds, and a note says why.
"""

from __future__ import annotations

from typing import Any

from segmint._workspace import Workspace
from segmint.exceptions import SegmintError

__all__ = ["campaign_section"]


def campaign_section(ws: Workspace, segmentation: str | None) -> tuple[dict[str, Any] | None, str]:
    """(the results as JSON, or None; a note, or "")."""
    if "campaign_contacts" not in ws.tables():
        return None, ""
    try:
        return ws.campaigns(segmentation=segmentation).to_dict(), ""
    except SegmintError as exc:
        return None, f"Campaign results were left out of the report: {exc.problem}"
