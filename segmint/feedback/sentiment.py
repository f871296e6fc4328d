"""Sentiment per text with VADER, an English lexicon model that needs no training.

VADER (Hutto & Gilbert, ICWSM 2014) was chosen because its lexicon ships inside the
``vaderSentiment`` wheel (nothing is downloaded at run time, nothing is trained on the user's
data) and it was built for short social-media text: it reads capitals, "!!!", negations,
"but" and emoji. It costs about 0.1 ms per tweet in pure Python.

``sentiment`` is VADER's compound score (-1..1); ``sentiment_label`` uses the VADER authors'
thresholds: ``positive`` at compound >= 0.05, ``negative`` at <= -0.05, ``neutral`` between.
A text is not scored (NaN and ``None``) when it is empty, or when :mod:`language` found it to
be confidently non-English: the lexicon would call a French complaint neutral.

Known weak spots (measured examples in docs/text.md): words that are positive in general but
neutral in complaints ("support", "help", "please", "thanks" in "thanks for nothing"),
sarcasm, domain words with no lexicon entry ("delayed", "cancelled", "lost" bags score 0 or
weakly), and negations that span clauses.

>>> scores = score_sentiment(["I love this phone", "Worst service ever.", "It is a phone", ""])
>>> scores.sentiment_label.tolist()[:3], bool(scores.sentiment.isna().iloc[3])
(['positive', 'negative', 'neutral'], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["NEGATIVE_AT", "POSITIVE_AT", "score_sentiment", "sentiment_label"]

#: VADER's published thresholds on the compound score
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_label(compound: float) -> str | None:
    """The label of one compound score (``None`` for NaN).

    >>> [sentiment_label(x) for x in (0.05, 0.0, -0.05, float("nan"))]
    ['positive', 'neutral', 'negative', None]
    """
    if np.isnan(compound):
        return None
    if compound >= POSITIVE_AT:
        return "positive"
    return "negative" if compound <= NEGATIVE_AT else "neutral"


def score_sentiment(
    texts: Sequence[str | None], *, scored: Sequence[bool] | None = None
) -> pd.DataFrame:
    """One row per text: ``sentiment`` (compound, NaN when not scored) and ``sentiment_label``.

    ``scored`` (optional, one flag per text) leaves out the texts flagged False, e.g. the
    non-English ones. The frame has a plain 0..n-1 index in the order of ``texts``.
    """
    polarity = _analyzer().polarity_scores
    values = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        if isinstance(text, str) and text.strip() and (scored is None or scored[i]):
            values[i] = polarity(text)["compound"]
    labels = [sentiment_label(v) for v in values]
    return pd.DataFrame({"sentiment": values, "sentiment_label": labels})
