"""Firmographic features (M5, B2B): industry, company size and annual revenue, from ``customers``.

They are empty for consumer shops; key-variable ranking later flags such constant columns.

>>> import ibis, pandas as pd
>>> firms = ibis.memtable(pd.DataFrame({"customer_id": ["C1"], "industry": ["retail"]}))
>>> firmographic_features(firms).features
['industry']
"""

from __future__ import annotations

import ibis.expr.types as ir

from segmint.features._common import FeaturePart

__all__ = ["FIRMOGRAPHIC", "firmographic_features"]

FIRMOGRAPHIC = ("industry", "company_size", "annual_revenue")


def firmographic_features(customers: ir.Table) -> FeaturePart:
    """The firmographic columns ``customers`` has, unchanged."""
    names = [n for n in FIRMOGRAPHIC if n in customers.columns]
    return FeaturePart(customers.select("customer_id", *names))
