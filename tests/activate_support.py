"""A small workspace for export tests: given customers (as a frame, raw or cleaned) and their
segments, it holds a segment run exactly as `segmint run` stores one (runs, segmentations with
a SegmentationResult, segment_assignments), without fitting anything."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from segmint.store import Store
from segmint.store._store import RunRecord
from segmint.store.results import Plan, Profiles, SegmentationResult, SegmentProfile


def make_workspace(
    path: Path,
    customers: pd.DataFrame,
    segments: dict[str, str],
    *,
    segmentation: str = "seg",
    names: dict[str, str] | None = None,
    plans: dict[str, Plan] | None = None,
) -> Store:
    """A workspace at ``path`` whose run ``0001-segment`` puts customer id -> segment label.

    ``customers`` columns are canonical customer columns (others are left NULL); ``names``
    maps labels to display names (default: the label); ``plans`` are the segments' targeting
    plans (message templates included), by label (default: none)."""
    store = Store(path)
    store.ensure("customers")
    cols = list(customers.columns)
    store.db.register("_incoming", customers)
    store.db.execute(
        f"INSERT INTO customers ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _incoming"
    )
    store.db.unregister("_incoming")
    names = names or {}
    labels = sorted(set(segments.values()))
    profiles = Profiles(
        segmentation=segmentation,
        method="rules",
        segments=[
            SegmentProfile(
                label=lab,
                name=names.get(lab, lab),
                size=sum(1 for v in segments.values() if v == lab),
            )
            for lab in labels
        ],
    )
    result = SegmentationResult(
        name=segmentation,
        method="rules",
        n_customers=len(segments),
        profiles=profiles,
        targeting=plans or {},
    )
    with store.transaction():
        run = store.record_run(RunRecord(kind="segment"))
        store.ensure("segmentations")
        store.ensure("segment_assignments")
        store.db.execute(
            "INSERT INTO segmentations VALUES (?, ?, 'rules', '{}', ?)",
            [run.run_id, segmentation, result.dumps()],
        )
        assign = pd.DataFrame(
            {
                "run_id": run.run_id,
                "segmentation": segmentation,
                "customer_id": list(segments),
                "segment": list(segments.values()),
                "segment_name": [names.get(v, v) for v in segments.values()],
            }
        )
        store.db.register("_assign", assign)
        store.db.execute("INSERT INTO segment_assignments SELECT * FROM _assign")
        store.db.unregister("_assign")
    return store
