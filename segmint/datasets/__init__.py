"""Deterministic synthetic shop data with planted customer segments (demos, tests, benchmarks).

>>> from segmint.datasets import make_retail
>>> sample = make_retail(300, seed=7)
>>> sorted(sample.personas)
['Bargain Hunters', 'Champions', 'Families', 'Lapsed', 'Young Professionals']
"""

from __future__ import annotations

from segmint.datasets._retail import RetailSample, make_retail, write_orders_parquet, write_retail

__all__ = ["RetailSample", "make_retail", "write_orders_parquet", "write_retail"]
