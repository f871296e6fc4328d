"""Where the monitor reads two runs' customer-level tables: the assignments and the snapshots.

The run records, segmentations and thresholds are always in the workspace store; the rows
per customer live wherever the workspace's data does (the embedded file, or an engine such as
Spark: :mod:`segmint.monitor.engine`). Migration and drift are Ibis expressions over these
two tables, so one implementation serves both and only aggregates leave the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from segmint.store import Store

__all__ = ["RunTables", "StoreTables"]


class RunTables(Protocol):
    """The customer-level tables of a workspace's runs."""

    def assignments(self) -> ir.Table:
        """``segment_assignments``: run_id, segmentation, customer_id, segment, segment_name."""
        ...

    def snapshot(self, run_id: str) -> ir.Table:
        """The features run ``run_id`` segmented on (SegmintError when it kept none)."""
        ...


class StoreTables:
    """The embedded workspace: both tables in the store's own file."""

    def __init__(self, store: Store):
        self.store = store

    def assignments(self) -> ir.Table:
        return self.store.table("segment_assignments")

    def snapshot(self, run_id: str) -> ir.Table:
        from segmint.store.snapshots import read_snapshot

        return read_snapshot(self.store, run_id)
