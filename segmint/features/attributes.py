"""Customer attributes (M4, M5): the extra columns a customers source had, as features.

Import keeps every column it cannot map to the canonical model as a typed extra column of
``customers`` (Hillstrom's ``history``, ``mens``; Wholesale's ``fresh``, ``detergents_paper``).
They are the customer's own attributes, so they join the feature table unchanged, under their
imported (snake_case) name: rules can test them (``history > 500``), clustering can use them
(``features: [history, mens]``) and profiles show them. A customers-only workspace segments on
them alone.

Only types the later stages read are taken (numbers, text, true/false, dates); an attribute
whose name another family already writes (an extra ``frequency`` column next to the order
features) is left out, and :func:`attribute_columns` says which ones are in.

>>> import ibis, pandas as pd
>>> people = ibis.memtable(pd.DataFrame({"customer_id": ["C1"], "country": ["DE"],
...     "history": [142.4], "mens": [1], "_row": [1]}))
>>> attribute_features(people).features
['history', 'mens']
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis.expr.types as ir
import pandas as pd

from segmint.features._common import FeaturePart
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = ["attribute_columns", "attribute_features", "is_code"]

_KNOWN = {*CANONICAL["customers"].names, *(c.name for c in LINEAGE)}
#: an integer attribute with at most this many distinct values, other than a 0/1 flag, is a code
MAX_CODES = 5


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


def attribute_features(customers: ir.Table, reserved: Iterable[str] = ()) -> FeaturePart:
    """The customers' extra columns (except ``reserved`` names), unchanged."""
    return FeaturePart(customers.select("customer_id", *attribute_columns(customers, reserved)))


def is_code(values: pd.Series) -> bool:
    """Whether an attribute's values read as category codes, not amounts.

    Wholesale's ``channel`` (1 = Horeca, 2 = Retail) is a code: its mean is meaningless, so
    zero-config clustering leaves it out (profiles still show it). An integer column with at
    most :data:`MAX_CODES` distinct values is read as codes, except a 0/1 flag (Hillstrom's
    ``mens``), whose mean is a share.

    >>> import pandas as pd
    >>> [is_code(pd.Series(v)) for v in ([1, 2, 2], [0, 1], list(range(1, 13)), [1.5, 2.0])]
    [True, False, False, False]
    """
    if not pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    distinct = set(values.dropna().unique().tolist())
    return 1 < len(distinct) <= MAX_CODES and not distinct <= {0, 1}
