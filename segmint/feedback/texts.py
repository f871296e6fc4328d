"""Every text analysed at once: language, then sentiment and topics for the texts in English.

The order matters: language detection runs first so that a confidently non-English text is
neither scored by the English lexicon nor pushed into an English topic (its ``sentiment`` is
NaN and its ``topic`` ``<NA>``). Texts of undetermined language (``und``: short slang, emoji)
are analysed as English; on the airline tweets they are English by inspection.

When the texts are too few or too alike for topics (:func:`fit_topics` raises
:class:`ModelError`), language and sentiment still come back: ``model`` is ``None``, every
``topic`` is ``<NA>`` and a :class:`SegmintWarning` says why.

>>> import pandas as pd
>>> texts = pd.Series(["Flight delayed 3 hours", "Lost my bag", "Great crew, thanks!",
...                    "Le vol était en retard"] * 5, index=range(100, 120))
>>> result = analyze_texts(texts, topics=2)
>>> result.texts.loc[103, ["language", "sentiment_label"]].tolist()
['fr', nan]
>>> list(result.topics_frame().columns)
['topic', 'name', 'terms', 'n_texts', 'share', 'examples']
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError, SegmintWarning
from segmint.feedback.language import UNDETERMINED, detect_language
from segmint.feedback.sentiment import score_sentiment
from segmint.feedback.topics import TopicModel, fit_topics

__all__ = ["TextAnalysis", "analyze_texts"]

_NONE = "\x00"  # stands for a missing text while the texts are made distinct
COLUMNS = ["language", "language_score", "sentiment", "sentiment_label", "topic", "topic_weight"]


@dataclass
class TextAnalysis:
    """Per-text results (:attr:`texts`, aligned to the input index) and the topic model."""

    texts: pd.DataFrame
    model: TopicModel | None
    source: pd.Series  # the input texts, for example quotes

    def topics_frame(self) -> pd.DataFrame:
        """One row per topic: topic, name, terms, n_texts and share (counted in
        :attr:`texts`), and up to 3 example texts."""
        columns = ["topic", "name", "terms", "n_texts", "share", "examples"]
        if self.model is None:
            return pd.DataFrame(columns=columns)
        counts = self.texts["topic"].value_counts()
        total = max(int(counts.sum()), 1)
        english = self.source[_analysed(self.texts)]
        rows = [
            (t.topic, t.name, t.terms, int(counts.get(t.topic, 0)),
             int(counts.get(t.topic, 0)) / total, [english.iloc[i] for i in t.examples])
            for t in self.model.topics
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)


def _analysed(frame: pd.DataFrame) -> np.ndarray:
    """Texts analysed as English: ``en``, or ``und`` with something to read."""
    english = frame["language"].isin(["en", UNDETERMINED]).to_numpy()
    return english & frame["sentiment"].notna().to_numpy()


def analyze_texts(
    texts: pd.Series, *, topics: int | Literal["auto"] = "auto", random_state: int = 0
) -> TextAnalysis:
    """Language, sentiment and topic of every text in ``texts`` (see the module docstring)."""
    values = [t if isinstance(t, str) else None for t in texts]
    # language and sentiment of each distinct text once (reviews and survey comments repeat);
    # topics see every text, so a frequent text weighs as often as it was written
    codes, distinct = pd.factorize(pd.Series([_NONE if v is None else v for v in values],
                                             dtype=object))  # fmt: skip
    unique = [None if u == _NONE else str(u) for u in distinct]
    language = detect_language(unique)
    english = language["language"].isin(["en", UNDETERMINED]).to_numpy()
    per_text = pd.concat([language, score_sentiment(unique, scored=english)], axis=1)
    frame = per_text.iloc[codes].reset_index(drop=True)
    frame["topic"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["topic_weight"] = np.nan
    model = _topics(frame, values, topics, random_state)
    if model is not None:
        rows = np.flatnonzero(_analysed(frame))
        frame.loc[rows, "topic"] = model.fitted["topic"].to_numpy()
        frame.loc[rows, "topic_weight"] = model.fitted["topic_weight"].to_numpy()
    frame.index = texts.index
    return TextAnalysis(frame[COLUMNS], model, texts)


def _topics(
    frame: pd.DataFrame, values: list[str | None], topics: int | Literal["auto"], seed: int
) -> TopicModel | None:
    english = [values[i] for i in np.flatnonzero(_analysed(frame))]
    try:
        return fit_topics(english, topics, random_state=seed)
    except ModelError as err:
        warnings.warn(f"No topics: {err.problem}", SegmintWarning, stacklevel=3)
        return None
