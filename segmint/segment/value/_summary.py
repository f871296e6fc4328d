"""The repeat-purchase summary as a pandas frame, from order lines in any form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.features.basic import resolve_as_of
from segmint.features.repeat import Unit, repeat_summary

__all__ = ["summary_from_orders"]


def summary_from_orders(
    orders: pd.DataFrame | ir.Table,
    *,
    as_of: str | date | datetime | None = None,
    unit: Unit = "weeks",
    holdout_end: str | date | datetime | None = None,
) -> pd.DataFrame:
    """The summary of :func:`segmint.features.repeat.repeat_summary`, indexed by customer_id.

    ``orders`` are canonical order lines (customer_id, ordered_at, amount, status) as a pandas
    frame or an Ibis table. ``attrs`` records the unit and the as-of time, which the value
    models read.
    """
    table = ibis.memtable(orders) if isinstance(orders, pd.DataFrame) else orders
    if "status" not in table.columns:
        table = table.mutate(status=ibis.literal("paid"))
    when = resolve_as_of(table, as_of)
    end = resolve_as_of(table, holdout_end) if holdout_end is not None else None
    frame = repeat_summary(table, when, unit=unit, holdout_end=end).to_pandas()
    frame = frame.set_index("customer_id")
    frame.attrs.update(_attrs(when, unit, end))
    return frame


def _attrs(as_of: datetime, unit: str, holdout_end: datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {"unit": unit, "as_of": as_of.isoformat()}
    if holdout_end is not None:
        out["holdout_end"] = holdout_end.isoformat()
    return out
