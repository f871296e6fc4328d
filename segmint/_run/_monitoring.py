"""The run report's monitoring section: this run compared with the workspace's previous one.

A scheduled ``segmint run`` is read by someone who asks "what changed since last time?", so
the report answers with the same comparison as ``segmint monitor`` (:func:`compare_runs`,
thresholds from the spec's ``monitoring:``), plus each segmentation's sizes over every run.
A first run has nothing to compare with: no section, and a note saying that the next report
will have one. The comparison is an extra of the report: when it cannot be made the run
still succeeds (its segments are stored already) and a note says why; parts that cannot be
computed (feature drift for a run made before feature snapshots were kept) are notes inside
the section, as ``segmint monitor`` gives them.

Cost, measured on a 100,000-customer sample shop (two runs half a year apart; RFM, k-means
and value tiers; 2 busy cores): 8.3–9.0 s of a 118 s run, about 5 s of it the feature drift
(every feature is tested, since the drift table ranks them all); ``segmint/_run/README.md``.
"""

from __future__ import annotations

from segmint._workspace import Workspace
from segmint.exceptions import SegmintError
from segmint.monitor.compare import compare_runs, segment_runs
from segmint.monitor.migration import sizes_over_runs
from segmint.spec.model import MonitoringSpec
from segmint.store.results import MonitoringResult

__all__ = ["FIRST_RUN_NOTE", "monitoring_section"]

FIRST_RUN_NOTE = (
    "This is the workspace's first segment run: from the next run on, the report has a "
    "Monitoring section saying what changed since the run before (segmint monitor does too)."
)


def monitoring_section(
    ws: Workspace, run_id: str, thresholds: MonitoringSpec | None = None
) -> tuple[MonitoringResult | None, str]:
    """(run ``run_id`` compared with the segment run before it, or None; a note, or "")."""
    runs = segment_runs(ws.store)
    earlier = runs[: runs.index(run_id)] if run_id in runs else []
    if not earlier:
        return None, FIRST_RUN_NOTE
    try:
        data = compare_runs(ws.store, earlier[-1], run_id, thresholds=thresholds).to_dict()
        for s in data["segmentations"]:
            s["history"] = sizes_over_runs(ws.store, s["name"])
    except SegmintError as exc:
        return None, f"The monitoring section was left out of the report: {exc.problem}"
    return MonitoringResult.from_json(data), ""
