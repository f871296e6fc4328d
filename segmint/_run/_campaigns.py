"""The run report's campaign results, when the workspace holds campaign contacts.

Contacts the file gives no segment are placed with the run's first segmentation, as it stood
at send time (:mod:`segmint.measure.campaigns`). When no contact gets a segment
that way (campaigns sent before any run of that segmentation: the usual case on a first run
over past data), the report places them by this run's segments and says so, since the reader asked about
this run. Campaign results are an extra of the report: when they cannot be computed the run
still succeeds, and a note says why.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from segmint._workspace import Workspace
from segmint.exceptions import SegmintError
from segmint.measure.campaigns import NO_SEGMENT, CampaignResults

__all__ = ["campaign_section"]


def campaign_section(
    ws: Workspace, segmentation: str | None, run_id: str | None = None
) -> tuple[dict[str, Any] | None, str]:
    """(the results as JSON, or None; a note, or "")."""
    if "campaign_contacts" not in ws.tables():
        return None, ""
    try:
        found = ws.campaigns(segmentation=segmentation)
        if segmentation and run_id and _none_placed(found):
            placed = ws.campaigns(segmentation=segmentation, run=run_id)
            note = (
                f"No run of '{segmentation}' existed when these campaigns were sent, so their "
                f"contacts are placed by the segments of this run ({run_id})."
            )
            return replace(placed, notes=(note, *placed.notes)).to_dict(), ""
        return found.to_dict(), ""
    except SegmintError as exc:
        return None, f"Campaign results were left out of the report: {exc.problem}"


def _none_placed(found: CampaignResults) -> bool:
    """No contact got a segment (from the file or from a run active at send time)."""
    rows = found.segment_channel
    return bool(rows) and all(r.segment == NO_SEGMENT for r in rows)
