"""Topics in texts: TF-IDF + NMF, the number of topics chosen by stability.

Why these: TF-IDF + non-negative matrix factorisation (scikit-learn) gives additive topics that
read as lists of terms, is deterministic for a fixed seed, and fits 100,000 short texts in
seconds on one core (no embeddings model to download). Each text gets the topic with the
largest weight; ``topic_weight`` is that topic's share of the text's weights (0..1), and a
text with no vocabulary term has no topic (``<NA>``).

The number of topics (``n_topics="auto"``) is the most stable k across subsamples
(Greene et al. 2014; see :mod:`segmint.feedback.topic_stability`); the scores per k stay in
:attr:`TopicModel.selection`, and the final model is fitted once on all texts.

Text cleaning for readable topics: URLs, @handles, HTML entities and numbers are dropped,
``#hashtags`` keep their word, English stop words plus chat filler (``im``, ``amp``, ``just``,
...) are removed, and a term must appear in at least 2 texts (and in at most half of them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from threadpoolctl import threadpool_limits

from segmint.exceptions import ModelError
from segmint.feedback.topic_stability import choose_k, nmf_model, top_terms

__all__ = ["STOP_WORDS", "Topic", "TopicModel", "fit_topics"]

#: example texts kept per topic
EXAMPLES = 3

_FILLER = {"im", "amp", "just", "dont", "don", "ive", "youre", "get", "got", "thats", "cant",
           "u", "ur", "rt", "ll", "ve", "re", "didn", "doesn", "isn", "wasn", "won", "let"}  # fmt: skip
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | _FILLER)
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|&\w+;|\d+")


def _clean(text: str | None) -> str:
    return _NOISE.sub(" ", text.lower()).replace("'", "") if isinstance(text, str) else ""


@dataclass(frozen=True)
class Topic:
    """One topic: its number, a name from its top terms, and how many texts it holds."""

    topic: int
    name: str
    terms: list[str]
    n_texts: int
    share: float
    examples: list[int] = field(default_factory=list)  # positions in the fitted texts


@dataclass
class TopicModel:
    """A fitted TF-IDF + NMF topic model; :meth:`assign` gives each text its topic."""

    vectorizer: TfidfVectorizer
    nmf: NMF
    topics: list[Topic]
    selection: pd.DataFrame  # k, stability (empty when k was given)
    fitted: pd.DataFrame  # :meth:`assign`'s columns for the texts the model was fitted on

    @property
    def n_topics(self) -> int:
        return len(self.topics)

    def assign(self, texts: Sequence[str | None]) -> pd.DataFrame:
        """``topic`` (Int64, ``<NA>`` without a vocabulary term) and ``topic_weight`` (0..1)."""
        x = self.vectorizer.transform([_clean(t) for t in texts])
        with threadpool_limits(limits=1):
            return _assignment(self.nmf.transform(x))


def _assignment(weights: np.ndarray) -> pd.DataFrame:
    total = weights.sum(axis=1)
    best = weights.argmax(axis=1)
    has = total > 0
    topic = pd.array(np.where(has, best, 0), dtype="Int64")
    topic[~has] = pd.NA
    share = np.where(has, weights[np.arange(len(best)), best] / np.where(has, total, 1), np.nan)
    return pd.DataFrame({"topic": topic, "topic_weight": share})


def _vectorize(cleaned: list[str]) -> tuple[TfidfVectorizer, csr_matrix]:
    vectorizer = TfidfVectorizer(
        stop_words=STOP_WORDS,
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
        min_df=2,
        max_df=0.5,
        max_features=5_000,
        sublinear_tf=True,
        dtype=np.float32,
    )
    return vectorizer, vectorizer.fit_transform(cleaned)


def fit_topics(
    texts: Sequence[str | None],
    n_topics: int | Literal["auto"] = "auto",
    *,
    random_state: int = 0,
    k_range: tuple[int, int] = (3, 12),
) -> TopicModel:
    """Fit TF-IDF + NMF topics on ``texts``; ``n_topics="auto"`` chooses k by stability.

    BLAS runs on one thread: the many small NMF fits of the search spent 4× the CPU time
    (22.8 s against 5.7 s on the 9,178 negative airline tweets) with the default threads
    when the 2 cores were shared with other work. ``texts`` may hold ``None`` (no topic).
    """
    with threadpool_limits(limits=1):
        return _fit(texts, n_topics, random_state, k_range)


def _fit(
    texts: Sequence[str | None],
    n_topics: int | Literal["auto"],
    random_state: int,
    k_range: tuple[int, int],
) -> TopicModel:
    cleaned = [_clean(t) for t in texts]
    try:
        vectorizer, x = _vectorize(cleaned)
    except ValueError:  # scikit-learn: empty vocabulary, or no term left after min_df
        raise ModelError(
            f"No topic can be found in {len(texts):,} texts: no word (other than stop words) "
            "appears in 2 of them or more.",
            fix="Give more texts, in English (a term must appear in at least 2 of them).",
        ) from None
    vocabulary = vectorizer.get_feature_names_out()
    if n_topics == "auto":
        if min(x.shape) <= k_range[0]:
            raise ModelError(
                f"Too few texts or terms to choose among {k_range[0]}..{k_range[1]} topics: "
                f"{x.shape[0]:,} texts with {x.shape[1]:,} shared terms.",
                fix="Give more texts, or a fixed number of topics (--topics N).",
            )
        k, selection = choose_k(x, vocabulary, k_range, random_state)
    else:
        k, selection = int(n_topics), pd.DataFrame({"k": [], "stability": []})
        if not 1 <= k < min(x.shape):
            raise ModelError(
                f"The number of topics must be between 1 and {min(x.shape) - 1} here. Got {k}.",
                fix="Use --topics auto, or a smaller number.",
            )
    nmf = nmf_model(k, random_state)
    weights = nmf.fit_transform(x)
    topics = _describe(nmf, weights, vocabulary, x, cleaned)
    return TopicModel(vectorizer, nmf, topics, selection, _assignment(weights))


def _describe(
    nmf: NMF, weights: np.ndarray, vocabulary: np.ndarray, x: csr_matrix, cleaned: list[str]
) -> list[Topic]:
    assigned = _assignment(weights)
    counts = assigned["topic"].value_counts()
    n = max(int(assigned["topic"].notna().sum()), 1)
    topics = []
    for t, terms in enumerate(top_terms(nmf, vocabulary)):
        n_t = int(counts.get(t, 0))
        examples = _examples(assigned, weights, x, cleaned, t)
        topics.append(Topic(t, " · ".join(terms[:3]), terms, n_t, n_t / n, examples))
    return topics


def _examples(
    assigned: pd.DataFrame, weights: np.ndarray, x: csr_matrix, cleaned: list[str], t: int
) -> list[int]:
    """The texts weighing most on topic ``t`` among its texts with 3+ terms, no repeats (a
    one-word text weighs most but says little)."""
    mine = np.flatnonzero((assigned["topic"] == t).fillna(False).to_numpy())
    rich = np.diff(x.indptr)[mine] >= 3
    order = mine[np.lexsort((-weights[mine, t], ~rich))]
    seen: set[str] = set()
    picked: list[int] = []
    for i in order:
        if cleaned[i] not in seen and len(picked) < EXAMPLES:
            seen.add(cleaned[i])
            picked.append(int(i))
    return picked
