"""Pairwise precision, recall and F1 of a clustering against known truth.

How the identity map is scored on labelled data (Chicago early childhood, PATSTAT, FEBRL-style
people): a *pair* is two records in one cluster; precision is the share of predicted pairs that
are true pairs, recall the share of true pairs that were predicted. This is what the dedupe
library's evaluation script and Splink's ``truth_space_table`` count.

Pairs are counted, never listed: a cluster of ``n`` records holds ``n(n-1)/2`` pairs, so the
predicted, true and shared pair counts are sums of ``C(n, 2)`` over cluster sizes and over the
contingency table (predicted cluster × true cluster). PATSTAT has a true cluster of 293,785
pairs; listing them would cost memory for nothing.

>>> s = pairwise_scores({"a": "1", "b": "1", "c": "2"}, {"a": "x", "b": "x", "c": "x"})
>>> (s.predicted_pairs, s.true_pairs, s.true_positive_pairs)
(1, 3, 1)
>>> round(s.precision, 3), round(s.recall, 3), round(s.f1, 3)
(1.0, 0.333, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PairErrors", "PairScores", "pair_errors", "pairwise_scores"]


@dataclass(frozen=True)
class PairScores:
    """Pairwise scores; counts are pairs of records, not records.

    ``precision`` is 1.0 when nothing was linked (no predicted pair is wrong) and ``recall`` is
    1.0 when the truth has no pairs (none was missed); ``f1`` is 0.0 when both are 0.
    """

    precision: float
    recall: float
    f1: float
    predicted_pairs: int
    true_pairs: int
    true_positive_pairs: int


@dataclass(frozen=True)
class PairErrors:
    """Examples of the two kinds of error, one pair per offending cluster (record ids)."""

    false_pairs: list[tuple[str, str]]  # linked, but different entities in the truth
    missed_pairs: list[tuple[str, str]]  # one entity in the truth, left in two clusters


def _pairs(sizes: np.ndarray) -> int:
    """Sum of C(n, 2) over sizes (Python ints: exact for any size)."""
    n = sizes.astype(np.int64)
    return int((n * (n - 1) // 2).sum())


def pairwise_scores(predicted: Mapping[str, str], truth: Mapping[str, str]) -> PairScores:
    """Score ``predicted`` (record id → cluster id) against ``truth`` (record id → true id).

    The records scored are those of ``truth``. A record missing from ``predicted`` is a cluster
    of its own (as a customer absent from the identity map is its own person); records only in
    ``predicted`` are ignored. Cluster ids are labels: only which records share one matters.

    >>> pairwise_scores({}, {"a": "x", "b": "x"}).recall
    0.0
    """
    records = pd.Index(list(truth), dtype="object")
    true_codes = pd.factorize(pd.Series([truth[r] for r in records], dtype="object"))[0]
    labels = pd.Series(records.map(lambda r: predicted.get(r)), dtype="object")
    pred_codes, uniques = pd.factorize(labels)  # a missing record gets -1
    alone = pred_codes < 0
    pred_codes[alone] = len(uniques) + np.arange(int(alone.sum()))
    pred_codes = pred_codes.astype(np.int64)
    true_codes = true_codes.astype(np.int64)
    predicted_pairs = _pairs(np.bincount(pred_codes)) if len(records) else 0
    true_pairs = _pairs(np.bincount(true_codes)) if len(records) else 0
    cells = pred_codes * (int(true_codes.max(initial=0)) + 1) + true_codes
    shared = _pairs(np.unique(cells, return_counts=True)[1])
    precision = shared / predicted_pairs if predicted_pairs else 1.0
    recall = shared / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, predicted_pairs, true_pairs, shared)


def _frame(predicted: Mapping[str, str], truth: Mapping[str, str]) -> pd.DataFrame:
    records = list(truth)
    return pd.DataFrame(
        {
            "record": records,
            "truth": [truth[r] for r in records],
            "predicted": [predicted.get(r, f"\0{r}") for r in records],
        },
        dtype="object",
    )


def _split_pairs(df: pd.DataFrame, group: str, other: str, limit: int) -> list[tuple[str, str]]:
    """Within each ``group`` cluster spanning several ``other`` clusters: one such pair."""
    firsts = df.drop_duplicates([group, other])
    spans = firsts[firsts.duplicated(group, keep=False)].sort_values([group, "record"])
    out = []
    for _, members in spans.groupby(group, sort=True):
        a, b = members["record"].iloc[:2]
        out.append((str(a), str(b)))
        if len(out) == limit:
            break
    return out


def pair_errors(
    predicted: Mapping[str, str], truth: Mapping[str, str], limit: int = 5
) -> PairErrors:
    """Up to ``limit`` false pairs and missed pairs, for a person to look at.

    One pair per predicted cluster that joins different true entities, and one per true
    entity that the prediction left in several clusters; in linear time, without listing
    pairs. Records are scored as in :func:`pairwise_scores`.

    >>> pair_errors({"a": "1", "b": "1", "c": "2"}, {"a": "x", "b": "y", "c": "y"})
    PairErrors(false_pairs=[('a', 'b')], missed_pairs=[('b', 'c')])
    """
    df = _frame(predicted, truth)
    return PairErrors(
        _split_pairs(df, "predicted", "truth", limit), _split_pairs(df, "truth", "predicted", limit)
    )
