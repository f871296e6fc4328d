"""Rule input: a pandas frame or an Ibis table, seen as one Ibis table plus a way to run it.

A pandas frame (index ``customer_id``) becomes ``ibis.memtable`` on a private in-memory DuckDB
connection (time zone UTC), so pandas input runs through the very same compiled expression as
a workspace table; results keep the frame's row order. An Ibis table runs on its own backend
and must have a ``customer_id`` column; results come back ordered by ``customer_id``.

>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [30, 40]}, index=pd.Index(["a", "b"], name="customer_id"))
>>> with rule_input(frame, "RulesSegmenter.fit") as data:
...     data.run(old=data.table.age > 35).old.tolist()
[False, True]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.exceptions import ModelError

__all__ = ["ROW", "RuleInput", "rule_input"]

#: hidden row-number column that keeps a pandas frame's order
ROW = "__segmint_row"


@dataclass
class RuleInput:
    """The input as an Ibis ``table``; :meth:`run` evaluates expressions over it in input order."""

    table: ir.Table
    backend: Any
    order: str

    def execute(self, expr: ir.Table) -> pd.DataFrame:
        frame: pd.DataFrame = (
            self.backend.execute(expr) if self.backend is not None else expr.execute()
        )
        return frame

    def run(self, **values: ir.Value) -> pd.DataFrame:
        """``customer_id`` and the named ``values`` per row, in input order."""
        keys = ["customer_id"] if self.order == "customer_id" else ["customer_id", self.order]
        expr = self.table.select(*keys, **values).order_by(self.order)
        return self.execute(expr).drop(columns=[ROW], errors="ignore")


def _pandas_table(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    if frame.index.name == "customer_id":
        if "customer_id" in frame.columns:
            raise ModelError(
                f"{where} got a frame with customer_id both as index and as a column.",
                fix="drop one of them: frame.reset_index(drop=True) or frame.drop(columns=…).",
            )
        out = frame.reset_index()
    elif "customer_id" in frame.columns:
        out = frame.reset_index(drop=True)
    else:
        out = frame.rename_axis("customer_id").reset_index()
    out.columns = [str(c) for c in out.columns]
    out[ROW] = range(len(out))
    return out


@contextmanager
def rule_input(X: Any, where: str) -> Iterator[RuleInput]:
    """Open ``X`` (pandas frame or Ibis table) for rule evaluation; ``where`` names the caller."""
    if isinstance(X, pd.DataFrame):
        con = ibis.duckdb.connect()
        try:
            con.raw_sql("SET TimeZone = 'UTC'")
            yield RuleInput(ibis.memtable(_pandas_table(X, where)), con, ROW)
        finally:
            con.disconnect()
    elif isinstance(X, ir.Table):
        if "customer_id" not in X.columns:
            raise ModelError(
                f"{where} expects a customer_id column in the Ibis table; found "
                f"{', '.join(X.columns) or 'no columns'}.",
                fix="select or rename the customer key as customer_id.",
            )
        yield RuleInput(X, None, "customer_id")
    else:
        raise ModelError(
            f"{where} expects a pandas DataFrame (index customer_id) or an Ibis table with a "
            f"customer_id column. Got {type(X).__name__}.",
            fix="pass ws.table('customer_features') or a DataFrame of features.",
        )
