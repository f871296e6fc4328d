"""The feature step of ``segmint update``: rebuild only the rows the new data changed.

:mod:`segmint.features.incremental` puts the next feature table together from the last one
and the affected customers' rebuilt rows. This module decides whether that is allowed (the
table in the workspace must be the one the last features run wrote, with nothing imported
or cleaned since but the update's own runs), materializes the result, and records it as a
features run like :meth:`segmint.Workspace.features` does, so snapshots, drift and the next
update see an ordinary features run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis

from segmint._workspace import Workspace
from segmint.features import build_features, check_families, resolve_as_of
from segmint.features.incremental import affected_customers, refresh_features
from segmint.ingest.finite import require_finite
from segmint.store import CANONICAL, RunRecord

__all__ = ["Refreshed", "refresh"]

TEMP = "_segmint_refreshed_features"


@dataclass
class Refreshed:
    """What the feature step did: ``rebuilt`` customers of ``customers`` (all of them on a
    full rebuild), and why a full rebuild was needed (``reason``, empty when incremental)."""

    run_id: str
    as_of: str
    customers: int
    rebuilt: int
    reason: str = ""

    @property
    def incremental(self) -> bool:
        return not self.reason


def refresh(ws: Workspace, new_runs: list[str], as_of: Any = None) -> Refreshed:
    """The feature table after the runs ``new_runs`` (imports and their clean), incremental
    where it can be; recorded as a features run."""
    store = ws.store
    present = set(ws.tables())
    tables = {name: store.table(name) for name in CANONICAL if name in present}
    for name in tables:
        require_finite(store.db, name, step="features")
    when = resolve_as_of(tables.get("orders"), as_of)
    last = _last_features_run(ws, new_runs)
    spec = last["spec"] if isinstance(last, dict) else {}
    families = spec.get("families")
    top = int(spec.get("top_categories", 8))
    reason = last if isinstance(last, str) else ""
    rebuilt = -1
    expr: Any = None
    if not reason:
        old = datetime.fromisoformat(str(spec["as_of"]))
        changed = _changed(tables, new_runs)
        affected = affected_customers(tables, changed, old, when)
        store.db.execute(f"DROP TABLE IF EXISTS {TEMP}")
        store.ibis.create_table(TEMP, affected, temp=True)
        ids = store.ibis.table(TEMP)
        refreshed = refresh_features(
            tables,
            store.table("customer_features"),
            ids,
            old=old,
            new=when,
            families=families,
            top_categories=top,
        )
        if isinstance(refreshed, str):
            reason = refreshed
        else:
            rebuilt = int(ids.count().execute())
            store.db.execute(f"DROP TABLE IF EXISTS {TEMP}_rows")
            store.ibis.create_table(f"{TEMP}_rows", refreshed, temp=True)
            expr = store.ibis.table(f"{TEMP}_rows")
    if reason:
        expr = build_features(tables, when, families=families, top_categories=top)
    chosen = check_families(families)
    run = RunRecord(
        kind="features",
        spec={
            "as_of": when.isoformat(),
            "families": chosen,
            "top_categories": top,
            "features": [c for c in expr.columns if c != "customer_id"],
            "incremental": {"rebuilt": rebuilt, "reason": reason or None},
        },
    )
    with store.transaction():
        store.reserve_run(run)
        store.replace_table("customer_features", expr)
        require_finite(store.db, "customer_features", step="features", key="customer_id", nan=False)
        n = store.count("customer_features")
        run.row_counts = {"customers": n}
        store.record_run(run)
    store.db.execute(f"DROP TABLE IF EXISTS {TEMP}_rows")
    store.db.execute(f"DROP TABLE IF EXISTS {TEMP}")
    return Refreshed(run.run_id, when.isoformat(), n, n if reason else rebuilt, reason)


def _last_features_run(ws: Workspace, new_runs: list[str]) -> dict[str, Any] | str:
    """The last features run, or why its table cannot be the base of an incremental step."""
    runs = ws.runs()
    feats = [i for i, r in enumerate(runs) if r["kind"] == "features"]
    if not feats or "customer_features" not in ws.tables():
        return "the workspace has no feature table yet"
    last = runs[feats[-1]]
    later = [
        r["run_id"]
        for r in runs[feats[-1] + 1 :]
        if r["kind"] in ("ingest", "clean") and r["run_id"] not in new_runs
    ]
    if later:
        return (
            f"data was imported or cleaned after the last features run ({', '.join(later)}), "
            "so every customer's row is rebuilt"
        )
    if not (last.get("spec") or {}).get("as_of"):
        return "the last features run recorded no as-of date"
    return last


def _changed(tables: dict[str, Any], new_runs: list[str]) -> Any:
    """Customer ids with a row written by one of ``new_runs`` (any customer-keyed table)."""
    parts = [
        t.filter(t._run_id.isin(new_runs), t.customer_id.notnull()).select(
            t.customer_id.cast("string").name("customer_id")
        )
        for t in tables.values()
        if "customer_id" in t.columns and "_run_id" in t.columns
    ]
    if not parts:
        return ibis.memtable({"customer_id": []}, schema={"customer_id": "string"})
    return ibis.union(*parts, distinct=True)
