"""Representative quotes: which texts stand for a segment (or a topic), and how a text is shown.

A quote should read like the segment's typical voice on what sets it apart, so the picker goes
topic by topic (the caller's order: over-represented topics first) and takes, among the
topic's texts whose sentiment is closest to the segment's mean (the closer half), the one the
topic model weighs highest. Texts are shown through :func:`quote_text`, which is also how a
stored quote can be matched with the text it came from (for example when a person's data is
erased).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from segmint.privacy.quotes import quote_text
from segmint.store.results import Quote

__all__ = ["pick_quotes"]


def _ranked(pool: pd.DataFrame, mean: float | None) -> np.ndarray:
    """Row positions of ``pool`` in quoting order: the closer half to ``mean`` by highest
    topic weight, then the other rows, closest first (with no ``mean`` or nothing scored:
    every row by weight; ties keep the input order)."""
    weight = pool["topic_weight"].to_numpy(dtype=float, na_value=-np.inf)
    by_weight = np.argsort(-weight, kind="stable")
    if mean is None or not pool["sentiment"].notna().any():
        return by_weight
    distance = (pool["sentiment"] - mean).abs().to_numpy(dtype=float, na_value=np.inf)
    near = distance[by_weight] <= np.median(distance[np.isfinite(distance)])
    rest = by_weight[~near]
    return np.concatenate([by_weight[near], rest[np.argsort(distance[rest], kind="stable")]])


def pick_quotes(
    frame: pd.DataFrame,
    mean: float | None,
    topics: Sequence[int],
    n: int,
    *,
    per_topic: int = 1,
    fill: bool = True,
) -> list[Quote]:
    """Up to ``n`` quotes from ``frame`` (columns text, sentiment, topic, topic_weight):
    ``per_topic`` from each of ``topics`` in order, then (``fill``) any text in the same
    order. Identical quotes count once; empty texts are never quoted. Only the texts looked
    at are formatted, so a segment of 100,000 texts costs a few sorts."""
    if n <= 0 or frame.empty:
        return []
    topic = frame["topic"].to_numpy(dtype=float, na_value=np.nan)
    texts = frame["text"].to_numpy(dtype=object)
    seen: set[str] = set()
    used = np.zeros(len(frame), dtype=bool)
    out: list[Quote] = []

    def take(rows: np.ndarray, k: int) -> None:
        got = 0
        for i in rows:
            if len(out) >= n or got >= k:
                return
            if used[i]:
                continue
            used[i] = True
            text = quote_text(texts[i])
            if text and text not in seen:
                seen.add(text)
                out.append(_quote(text, frame.iloc[i]))
                got += 1

    for t in topics:
        rows = np.flatnonzero(topic == t)
        take(rows[_ranked(frame.iloc[rows], mean)], per_topic)
    if fill:
        take(_ranked(frame, mean), n)
    return out


def _quote(text: str, row: pd.Series) -> Quote:
    sentiment, topic = row["sentiment"], row["topic"]
    return Quote(
        text=text,
        sentiment=None if pd.isna(sentiment) else float(sentiment),
        topic=None if pd.isna(topic) else int(topic),
    )
