"""Customer attributes (M4, M5): the extra columns a customers source had, as features.

Import keeps every column it cannot map to the canonical model as a typed extra column of
``customers`` (Hillstrom's ``history``, ``mens``; Wholesale's ``fresh``, ``detergents_paper``).
They are the customer's own attributes, so they join the feature table under their imported
(snake_case) name: rules can test them (``history > 500``), clustering can use them
(``features: [history, mens]``) and profiles show them. A customers-only workspace segments on
them alone. An integer column that holds a few category codes (Wholesale's ``channel``:
1 = Horeca, 2 = Retail) joins as text, so it is read as a category (:func:`code_columns`);
every other attribute joins unchanged.

Only types the later stages read are taken (numbers, text, true/false, dates); an attribute
whose name another family already writes (an extra ``frequency`` column next to the order
features) is left out, and :func:`attribute_columns` says which ones are in.

>>> import ibis, pandas as pd
>>> people = ibis.memtable(pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
...     "country": ["DE", "FR", "DE"], "history": [142.4, 30.0, 99.5], "mens": [1, 0, 1],
...     "channel": [1, 2, 2], "_row": [1, 2, 3]}))
>>> part = attribute_features(people)
>>> part.features, part.table.schema()["channel"].is_string()
(['history', 'mens', 'channel'], True)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis.expr.types as ir

from segmint.features._common import FeaturePart
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = ["MAX_CODES", "attribute_columns", "attribute_features", "code_columns"]

_KNOWN = {*CANONICAL["customers"].names, *(c.name for c in LINEAGE)}
#: an integer attribute with at most this many distinct values, other than a 0/1 flag, is a code
MAX_CODES = 5
#: integer columns checked per query (a 500-column customers file in one query ran out of memory)
CODE_BATCH = 50


def attribute_columns(customers: ir.Table, reserved: Iterable[str] = ()) -> list[str]:
    """The extra columns of ``customers`` usable as features, in table order."""
    taken = set(reserved)
    schema = customers.schema()
    return [
        n
        for n in customers.columns
        if n not in _KNOWN and n not in taken and _usable(schema[n]) and not n.startswith("_")
    ]


def _usable(dtype: object) -> bool:
    return any(
        getattr(dtype, f"is_{k}")() for k in ("numeric", "string", "boolean", "date", "timestamp")
    )


def attribute_features(
    customers: ir.Table, reserved: Iterable[str] = (), *, reference: ir.Table | None = None
) -> FeaturePart:
    """The customers' extra columns (except ``reserved`` names); integer category codes
    (:func:`code_columns`) as text, everything else unchanged. ``reference``: the customers
    whose values decide which integers are codes (default: ``customers``)."""
    names = attribute_columns(customers, reserved)
    codes = set(code_columns(customers if reference is None else reference, names))
    cols = [customers[n].cast("string").name(n) if n in codes else customers[n] for n in names]
    return FeaturePart(customers.select("customer_id", *cols))


def code_columns(customers: ir.Table, names: Iterable[str]) -> list[str]:
    """The integer columns among ``names`` whose values read as category codes, not amounts:
    2 to :data:`MAX_CODES` distinct values, other than a 0/1 flag (one small query).

    Wholesale's ``channel`` (1 = Horeca, 2 = Retail) is a code: its mean, and a segment with
    "high channel", mean nothing, so it becomes a category ("mostly Channel 2") that clustering
    on numbers leaves out. Hillstrom's ``mens`` (0/1) stays a number, whose mean is a share,
    and its ``recency`` (1–12 months) an amount. A rule compares a code as text:
    ``channel = '2'``.
    """
    schema = customers.schema()
    ints = [n for n in names if schema[n].is_integer()]
    if not ints:
        return []
    row: dict[str, Any] = {}
    for start in range(0, len(ints), CODE_BATCH):  # each distinct count holds a hash table
        stats: dict[str, ir.Value] = {}
        for i, n in enumerate(ints[start : start + CODE_BATCH], start=start):
            col = customers[n]
            stats |= {f"n_{i}": col.nunique(), f"lo_{i}": col.min(), f"hi_{i}": col.max()}
        row |= customers.aggregate(**stats).to_pyarrow().to_pylist()[0]
    return [
        n
        for i, n in enumerate(ints)
        if 1 < row[f"n_{i}"] <= MAX_CODES and not (row[f"lo_{i}"] >= 0 and row[f"hi_{i}"] <= 1)
    ]
