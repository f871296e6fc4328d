"""Deterministic synthetic data with known truth (demos, tests, benchmarks).

A shop with planted customer segments (``make_retail``) and people recorded more than once,
FEBRL-style, for identity resolution (``people_with_duplicates``).

>>> from segmint.datasets import make_retail
>>> sample = make_retail(300, seed=7)
>>> sorted(sample.personas)
['Bargain Hunters', 'Champions', 'Families', 'Lapsed', 'Young Professionals']
"""

from __future__ import annotations

from segmint.datasets._duplicates import people_with_duplicates
from segmint.datasets._retail import RetailSample, make_retail, write_orders_parquet, write_retail

__all__ = [
    "RetailSample",
    "make_retail",
    "people_with_duplicates",
    "write_orders_parquet",
    "write_retail",
]
