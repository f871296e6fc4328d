"""The feature table as a pandas frame, and giving freed heap memory back between steps.

The frame is what segment runs fit and assign, so customers who objected to profiling
(``consent_profiling`` false, :func:`segmint.privacy.consent.objections`) are left out here,
once for ``segmint run`` and ``segmint update``; :func:`objected` counts them for the run's
record and output.
"""

from __future__ import annotations

from contextlib import suppress

import pandas as pd
import pyarrow as pa

from segmint._workspace import Workspace
from segmint.privacy.consent import objections

__all__ = ["OBJECTED", "feature_frame", "objected", "objected_note", "shaped", "trim_heap"]

#: the key of a segment run's ``row_counts`` that counts the customers left out
OBJECTED = "objected_to_profiling"


def feature_frame(ws: Workspace, columns: list[str] | None = None) -> pd.DataFrame:
    """The feature table as pandas, through Arrow (Ibis' own ``to_pandas`` is 10× slower).

    The frame matches Ibis' conversion: dates become ``datetime64[s]`` and an integer column
    without any value holds ``None`` objects (profiles then treat it as an empty category, not
    as a numeric column of NaN). ``columns``: only these (and the id). The timestamps (``last_order_at``) stay: rules read them
    (``last_order_at within 90 days``); profiles and clustering take only numbers and
    categories. Customers who objected to profiling are not in it.
    """
    t = ws.table("customer_features")
    out = objections(ws.store)
    if out is not None:
        t = t.filter(t.customer_id.notin(out.customer_id))
    if columns is not None:  # scoring reads only the model's columns
        t = t.select("customer_id", *[c for c in columns if c != "customer_id"])
    return shaped(t.to_pyarrow())


def shaped(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """Feature rows (Arrow, or a frame read from it) as the run's frame: dates as
    ``datetime64[s]``, an all-empty integer column as ``None`` objects, indexed by customer_id."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    else:
        # one copy into Arrow's own memory first: DuckDB frees a fetched record batch only
        # as a whole, so one column converted without a copy (the ids, a text column) kept
        # every column of its batch alive next to the frame (about 230 MB on 1M customers)
        table = table.combine_chunks()
    dates = [f.name for f in table.schema if pa.types.is_date(f.type)]
    empty_ints = [
        name
        for name, col in zip(table.column_names, table.columns, strict=True)
        if pa.types.is_integer(col.type) and len(col) and col.null_count == len(col)
    ]
    # split_blocks + self_destruct: each column is freed as soon as it is converted, so the
    # Arrow table and the frame do not both stay in memory (the table is unusable after)
    df = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del table
    for name in dates:
        df[name] = df[name].astype("datetime64[s]")
    for name in empty_ints:
        df[name] = pd.Series([None] * len(df), index=df.index, dtype=object)
    return df.set_index("customer_id")


def objected(ws: Workspace) -> int:
    """How many customers of the feature table objected to profiling (left out of the frame)."""
    out = objections(ws.store)
    if out is None:
        return 0
    t = ws.table("customer_features")
    return int(t.filter(t.customer_id.isin(out.customer_id)).count().execute())


def objected_note(n: int) -> str | None:
    """The run's note about the customers left out, or None when there are none."""
    if not n:
        return None
    return (
        f"{n:,} customer{'s' if n != 1 else ''} left out: they objected to profiling "
        "(consent_profiling = false)."
    )


def trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    pandas and numpy free their large temporaries between the steps of a run, but glibc keeps
    much of that memory in its heap (measured: about 230 MB after the value step on 1M
    customers); the next step's temporaries then stack on top of it. Elsewhere (macOS,
    musl) there is no such call and nothing happens.
    """
    import ctypes
    import ctypes.util

    with suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
