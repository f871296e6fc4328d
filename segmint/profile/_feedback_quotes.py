"""Representative quotes: which texts stand for a segment (or a topic), and how a text is shown.

A quote should read like the segment's typical voice on what sets it apart, so the picker goes
topic by topic (the caller's order: over-represented topics first) and takes, among the
topic's texts whose sentiment is closest to the segment's mean (the closer half), the one the
topic model weighs highest. Texts are shown through :func:`quote_text`, which is also how a
stored quote can be matched with the text it came from (for example when a person's data is
erased).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from segmint.store.results import Quote

__all__ = ["MAX_QUOTE_CHARS", "pick_quotes", "quote_text"]

#: a quote longer than this is cut at a word boundary and ends with "…"
MAX_QUOTE_CHARS = 240
_SPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: a run of digits and separators (phone, card and account numbers when it holds 7+ digits)
_DIGITS = re.compile(r"\+?\(?\d[\d\s().\/-]{5,}\d")


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    return "[number]" if sum(c.isdigit() for c in run) >= 7 else run


def quote_text(text: str | None, max_chars: int = MAX_QUOTE_CHARS) -> str:
    """``text`` as a quote shows it: whitespace collapsed, e-mail addresses and long digit
    runs masked, cut at a word boundary after at most ``max_chars`` characters.

    >>> quote_text("Call me  on +44 20 7946 0958 or mail a.b@example.com")
    'Call me on [number] or mail [e-mail]'
    >>> quote_text("word " * 100, max_chars=20)
    'word word word word…'
    """
    out = _SPACE.sub(" ", str(text or "")).strip()
    out = _DIGITS.sub(_mask_digits, _EMAIL.sub("[e-mail]", out))
    if len(out) <= max_chars:
        return out
    cut = out[:max_chars].rsplit(" ", 1)[0] if " " in out[:max_chars] else out[:max_chars]
    return cut.rstrip(" ,;:.-") + "…"


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
