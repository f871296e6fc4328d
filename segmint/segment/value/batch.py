"""Value predictions for any batch of summary rows: what an engine runs per partition.

Expected purchases (MBG/NBD, BG/NBD, Pareto/NBD) need the Gauss hypergeometric function ₂F₁,
which SQL lacks, so the per-customer values cannot be Ibis expressions. Each customer's values
depend only on their own summary row and the fitted parameters, though, so they can be
computed batch by batch where the data live (Spark's ``mapInPandas``; one batch on DuckDB)
and equal the fit's ``values_`` for the same rows. A :class:`ValueScorer` holds just what
that needs (the two fitted models, horizon, discounting, margin, unit): small to ship to
executors, unlike the segmenter with its per-customer results.

>>> from segmint.datasets import make_retail
>>> from segmint.segment.value import ValueSegmenter, summary_from_orders
>>> summary = summary_from_orders(make_retail(300, seed=2).orders, as_of="2024-12-31")
>>> seg = ValueSegmenter().fit(summary)
>>> scorer = seg.scorer()
>>> part = scorer(summary.iloc[:50].reset_index())  # customer_id as a column, as Spark gives
>>> list(part.columns)
['customer_id', 'expected_purchases', 'p_alive', 'expected_aov', 'clv']
>>> bool((part.set_index("customer_id") == seg.values_.iloc[:50]).all().all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.exceptions import ModelError
from segmint.segment.value.clv import MONTH_DAYS, VALUE_COLUMNS, TransactionModel, clv
from segmint.segment.value.gammagamma import GammaGammaModel

__all__ = ["BATCH_INPUT", "ValueScorer"]

#: the summary columns a batch must hold (besides the key), as the summary builds them
BATCH_INPUT = ("frequency", "recency", "T", "monetary_value")


@dataclass(frozen=True)
class ValueScorer:
    """A picklable function from a batch of summary rows to their values.

    Called with a pandas frame holding ``key`` (a column, or the index) and the columns of
    :data:`BATCH_INPUT` (numbers; frequency whole), it returns a frame with ``key`` and the
    :data:`~segmint.segment.value.clv.VALUE_COLUMNS` as float64, one row per input row, in
    order (an empty batch gives an empty frame). A row that breaks the summary's rules (e.g.
    recency > T, a missing value) raises ModelError, as ``predict`` does.
    """

    purchases: TransactionModel
    spend: GammaGammaModel
    horizon_days: float
    discount_rate: float
    margin: float
    unit: str
    key: str = "customer_id"

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(batch, pd.DataFrame):
            raise ModelError(
                f"ValueScorer scores a pandas DataFrame of summary rows. Got {type(batch).__name__}.",
                fix="pass each batch as a DataFrame (Spark's mapInPandas gives them so).",
            )
        frame = batch.set_index(self.key) if self.key in batch.columns else batch
        missing = [c for c in BATCH_INPUT if c not in frame.columns]
        if missing:
            raise ModelError(
                f"A batch of summary rows needs the column(s) {', '.join(missing)}. "
                f"Got: {', '.join(map(str, batch.columns)) or 'no columns'}.",
                fix=f"select {self.key}, {', '.join(BATCH_INPUT)} from the repeat-purchase "
                "summary (segmint.features.repeat.repeat_summary).",
            )
        values = clv(
            self.purchases,
            self.spend,
            frame,
            horizon_days=self.horizon_days,
            discount_rate=self.discount_rate,
            margin=self.margin,
            step_days=MONTH_DAYS,
            unit=self.unit,
        )
        out = values.astype("float64").rename_axis(self.key).reset_index()
        return out[[self.key, *VALUE_COLUMNS]]

    def schema(self, table: ir.Table) -> ibis.Schema:
        """The output's schema for batches of ``table`` (its key type, then float64 values)."""
        if self.key not in table.columns:
            raise ModelError(
                f"The summary table has no {self.key!r} column to key the values by. "
                f"It has: {', '.join(table.columns)}.",
                fix=f"score the repeat-purchase summary, keyed by {self.key}.",
            )
        return ibis.schema(
            {self.key: table[self.key].type(), **dict.fromkeys(VALUE_COLUMNS, "float64")}
        )
