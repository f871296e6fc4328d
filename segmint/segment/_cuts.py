"""Comparisons against fitted cut points as Ibis expressions that agree with numpy's.

Segmenters that fit on a pandas sample score every customer in the engine by comparing a
column with the cut points they learned (RFM's score edges, the value tiers' lowest CLV).
numpy's ``x >= t`` is False when x is NaN; SQL engines disagree: a NULL makes the comparison
NULL, and DuckDB and Spark order NaN above every number, so ``NaN >= t`` is TRUE there.
These helpers turn NaN into NULL and a NULL
comparison into FALSE, so the engine labels every row exactly as ``predict`` does.

Columns are cast to float64 first, as the pandas paths do (``astype(float)``); cut points are
float64 literals, which both DuckDB and Spark read back to the same double.

>>> import ibis, pandas as pd
>>> t = ibis.memtable(pd.DataFrame({"x": [1.0, float("nan"), None, 3.0]}))
>>> t.select(hit=compare(t.x, ">=", 2.0)).to_pandas()["hit"].tolist()
[False, False, False, True]
"""

from __future__ import annotations

import math
import operator

import ibis
import ibis.expr.types as ir

from segmint.exceptions import ModelError

__all__ = ["compare", "number", "require_columns"]


def number(column: ir.Value) -> ir.FloatingValue:
    """``column`` as float64 with NaN as NULL (a missing number, as numpy compares it)."""
    x = column.cast("float64")
    if not column.type().is_floating():  # integers and decimals have no NaN
        return x
    return ibis.ifelse(x.isnan(), ibis.null("float64"), x)


_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def compare(column: ir.Value, op: str, cut: float) -> ir.BooleanValue:
    """``column <op> cut`` (op one of >=, >, <=, <) as numpy computes it: never NULL, and
    False for a NULL or NaN value and for a NaN cut."""
    if math.isnan(cut):
        return ibis.literal(False)
    hit = _OPS[op](number(column), ibis.literal(float(cut), type="float64"))
    return hit.fill_null(False)


def require_columns(table: ir.Table, columns: list[str], owner: str) -> None:
    """ModelError naming the columns ``owner.to_ibis`` needs and ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ModelError(
            f"{owner}.to_ibis() needs the column(s) {', '.join(map(repr, missing))}. "
            f"The table has: {', '.join(table.columns) or 'no columns'}.",
            fix="compute the same columns in the engine that the model was fitted on.",
        )
