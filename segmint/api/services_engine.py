"""Customer-level reads of the server as Ibis expressions, so they run where the rows live.

On an embedded workspace they run in DuckDB; on a Spark workspace (``segmint serve --engine
spark``) in Spark, and only what the answer holds comes back to the server: counts per table
and per segment, one page of members, one customer's rows, the feature rows of the customers a
scoring request names, or the member list a user downloads. Which run and segmentation exist is
checked in the driver's system tables first (:func:`segmint.api.services.get_segmentation`),
so an unknown one is a 404 before the engine is asked anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from segmint.api import services
from segmint.api.services import NotFound
from segmint.api.state import AppState
from segmint.exceptions import EngineError
from segmint.store.csvsafe import frame_to_csv_text

__all__ = [
    "MAX_PAGE",
    "compare_runs",
    "customer",
    "feature_rows",
    "list_tables",
    "members_csv",
    "members_page",
    "segment_sizes",
    "source",
]

#: the most members one page holds
MAX_PAGE = 1000


def source(state: AppState) -> Any:
    """Where customer rows are read: the Spark workspace, or this thread's embedded one."""
    return state.engine if state.engine is not None else state.workspace()


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Spark failing under a query (a lost executor, a deleted Parquet folder) is a 503 with
    Spark's first line, as DuckDB's I/O errors are; anything else stays a bug."""
    try:
        yield
    except ImportError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise EngineError(
            f"Spark could not answer the query: {text}",
            fix="check that the Spark workspace's tables are still where they were written, "
            "then try again.",
        ) from None


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    with _engine_errors():
        return [{k: _plain(v) for k, v in row.items()} for row in expr.to_pyarrow().to_pylist()]


def _count(expr: ir.Table) -> int:
    with _engine_errors():
        return int(expr.count().to_pyarrow().as_py())


def _plain(value: Any) -> Any:
    """A JSON value: NaN → null, dates as ISO text, decimals as floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _has(src: Any, name: str) -> bool:
    return name in src.tables()


def _assignments(src: Any, run_id: str, name: str) -> ir.Table:
    if not _has(src, "segment_assignments"):
        raise NotFound(f"Run '{run_id}' has no segment assignments.")
    t = src.table("segment_assignments")
    return t.filter((t.run_id == run_id) & (t.segmentation == name))


# -- tables ------------------------------------------------------------------------------------


def list_tables(state: AppState) -> list[dict[str, Any]]:
    """Every table with its row count: on Spark the engine's tables counted there, and the
    driver's system tables (runs, results, models, …) that the engine does not hold."""
    meta = services.list_tables(state.workspace())
    if state.engine is None:
        return meta
    engine = [{"name": t, "rows": _count(state.engine.table(t))} for t in state.engine.tables()]
    held = {t["name"] for t in engine}
    return sorted(engine + [t for t in meta if t["name"] not in held], key=lambda t: t["name"])


# -- a segmentation's members ------------------------------------------------------------------


def segment_sizes(state: AppState, run_id: str, name: str) -> dict[str, Any]:
    """Customers per segment of one segmentation, counted in the engine; segments in the
    result's order, each with its current display name."""
    result = services.get_segmentation(state.workspace(), run_id, name)
    t = _assignments(source(state), run_id, name)
    counted = {
        str(r["segment"]): int(r["customers"])
        for r in _rows(t.group_by("segment").agg(customers=t.count()))
    }
    names = result.names()
    segments = [
        {
            "segment": s.label,
            "name": names.get(s.label, s.label),
            "customers": counted.pop(s.label, 0),
        }
        for s in result.profiles.segments
    ]
    segments += [  # assigned but not profiled (none today; shown rather than dropped)
        {"segment": label, "name": names.get(label, label), "customers": n}
        for label, n in sorted(counted.items())
    ]
    return {
        "run_id": run_id,
        "segmentation": name,
        "customers": sum(s["customers"] for s in segments),
        "segments": segments,
    }


def _members(state: AppState, run_id: str, name: str, label: str | None) -> ir.Table:
    if label is None:  # 404 for an unknown run, segmentation or segment
        services.get_segmentation(state.workspace(), run_id, name)
    else:
        services.check_segment(state.workspace(), run_id, name, label)
    t = _assignments(source(state), run_id, name)
    if label is not None:
        t = t.filter(t.segment == label)
    return t.select("customer_id", "segment", "segment_name")


def members_page(
    state: AppState,
    run_id: str,
    name: str,
    label: str | None = None,
    *,
    after: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """One page of a segmentation's (or one segment's) members by customer id: the first
    ``limit`` after the id ``after`` (the previous page's ``next``), and how many there are in
    all. Paged by key, not by offset: each page is a filter and a top-N, which an engine
    answers without numbering every row on one executor."""
    limit = max(1, min(int(limit), MAX_PAGE))
    t = _members(state, run_id, name, label)
    page = t if after is None else t.filter(t.customer_id.cast("string") > after)
    rows = _rows(page.order_by("customer_id").limit(limit))
    return {
        "run_id": run_id,
        "segmentation": name,
        "segment": label,
        "total": _count(t),
        "limit": limit,
        "members": rows,
        "next": str(rows[-1]["customer_id"]) if len(rows) == limit else None,
    }


def members_csv(
    state: AppState, run_id: str, name: str, label: str | None = None
) -> tuple[str, str]:
    """The member list as CSV text (what the user downloads: it has to leave the engine) and
    its file name; the embedded workspace's own :func:`services.members_csv` there."""
    if state.engine is None:
        return services.members_csv(state.workspace(), run_id, name, label)
    t = _members(state, run_id, name, label)
    with _engine_errors():
        frame = t.order_by("customer_id").to_pyarrow().to_pandas()
    part = f"-{services.safe_name(label)}" if label else ""
    return frame_to_csv_text(frame), f"{services.safe_name(name)}{part}-members.csv"


def compare_runs(
    state: AppState, run_a: str, name_a: str, run_b: str, name_b: str
) -> dict[str, Any]:
    """Migration between two segmentations (:func:`services.compare_runs`), the counts per
    pair of segments grouped in the engine on a Spark workspace."""
    if state.engine is None:
        return services.compare_runs(state.workspace(), run_a, name_a, run_b, name_b)
    services.get_segmentation(state.workspace(), run_a, name_a)
    services.get_segmentation(state.workspace(), run_b, name_b)
    a = _assignments(state.engine, run_a, name_a)
    b = _assignments(state.engine, run_b, name_b)
    a = a.select("customer_id", a.segment_name.name("a"))
    b = b.select("customer_id", b.segment_name.name("b"))
    joined = a.join(b, "customer_id")
    counts = joined.group_by(["a", "b"]).agg(n=joined.count())
    with _engine_errors():
        frame = counts.to_pyarrow().to_pandas()
    return services.migration(frame, run_a, name_a, run_b, name_b)


# -- one customer --------------------------------------------------------------------------------


def customer(state: AppState, customer_id: str) -> dict[str, Any]:
    """One customer as the derived tables name them: their feature row, their segment in every
    run, and their value-model results (``customer_values``). NotFound when none has them."""
    src = source(state)
    out: dict[str, Any] = {"customer_id": customer_id, "features": None, "segments": []}
    if _has(src, "customer_features"):
        t = src.table("customer_features")
        found = _rows(t.filter(t.customer_id.cast("string") == customer_id).limit(1))
        out["features"] = found[0] if found else None
    if _has(src, "segment_assignments"):
        t = src.table("segment_assignments")
        out["segments"] = _rows(
            t.filter(t.customer_id.cast("string") == customer_id)
            .select("run_id", "segmentation", "segment", "segment_name")
            .order_by(["run_id", "segmentation"])
        )
    values: list[dict[str, Any]] = []
    if _has(src, "customer_values"):
        t = src.table("customer_values")
        values = _rows(
            t.filter(t.customer_id.cast("string") == customer_id).order_by(
                ["run_id", "segmentation"]
            )
        )
    out["values"] = values
    if out["features"] is None and not out["segments"]:
        raise NotFound(
            f"No customer '{customer_id}' has features or segments in this workspace.",
            fix="use an id as the segment assignments and members list show it.",
        )
    return out


def feature_rows(src: Any, ids: Sequence[str], needed: list[str]) -> pd.DataFrame | None:
    """The ``needed`` feature values of the customers ``ids`` (indexed by customer id), read in
    the engine; None when the workspace has no feature table with those columns."""
    if not _has(src, "customer_features"):
        return None
    t = src.table("customer_features")
    if not all(c in t.columns for c in needed):
        return None
    picked = t.filter(t.customer_id.cast("string").isin(list(ids)))
    picked = picked.select(picked.customer_id.cast("string").name("customer_id"), *needed)
    with _engine_errors():
        frame = picked.to_pyarrow().to_pandas()
    return frame.drop_duplicates("customer_id").set_index("customer_id")
