"""What each segment's customers wrote: sentiment with a confidence interval, topic mix and the
topics over-represented against the population, complaint themes and representative quotes.

Reviews, survey answers and posts validate a segmentation (do the "Price sensitive" customers
complain about prices?), so the summary sits beside the profiles and reads the per-text columns
the ``feedback`` stage computed (language, sentiment, topic). Definitions (also in
``segmint/profile/README.md``):

* the **population** is every text whose customer has a segment in this segmentation; texts of
  other customers (or with no customer id) are counted (``n_unlabelled``) and left out of the
  segments *and* of the population, so lifts compare segments with the segmentation's own
  customers, as the profiles' lifts do;
* **mean sentiment** over the scored texts (non-English texts are not scored) with a 95 %
  interval: t-interval, cluster-robust by customer (CR1; t with G − 1 degrees of freedom for G
  customers). With one text per customer it *is* the ordinary t-interval
  ``mean ± t(0.975, n − 1) · s / √n``; a customer who writes many texts counts as one cluster,
  so the interval does not pretend their texts are independent;
* **share negative** = negative texts / scored texts;
* **topic mix**: the segment's texts per topic / its texts with a topic; **lift** = that share /
  the population's share; a topic is **over-represented** when lift ≥ :data:`MIN_RATIO`, its
  share ≥ :data:`MIN_SHARE`, at least :data:`MIN_TEXTS` of the segment's texts are in it and a
  one-sided binomial test of that count against the population share gives p <
  :data:`MAX_P` (not corrected for the number of topics); at most :data:`MAX_OVER`, by lift;
* **complaint themes**: the same rule on the segment's negative texts against all negative
  texts of the population;
* **quotes**: one text per topic, over-represented topics first (by lift), then the segment's
  most common topics, then any text: among a topic's texts the half closest to the segment's
  mean sentiment, and of those the one with the highest topic weight. Identical texts are
  quoted once; e-mail addresses and long digit runs (phone, card numbers) are masked and a
  quote is cut at :data:`segmint.privacy.quotes.MAX_QUOTE_CHARS` (:func:`quote_text`). A quote carries the text, its
  sentiment and topic, never a customer id.

>>> import pandas as pd
>>> texts = pd.DataFrame({"customer_id": ["a", "b", "c"], "text": ["Great", "Late again", "Ok"],
...     "language": "en", "sentiment": [0.6, -0.4, 0.1],
...     "sentiment_label": ["positive", "negative", "positive"],
...     "topic": pd.array([0, 1, 0], dtype="Int64"), "topic_weight": [0.9, 0.8, 0.2]})
>>> topics = pd.DataFrame({"topic": [0, 1], "name": ["great · ok", "late · again"]})
>>> s = summarize_feedback(texts, pd.Series({"a": "A", "b": "B", "c": "A"}), topics)
>>> [(g.label, g.n_texts, round(g.sentiment_mean, 2)) for g in s.segments]
[('A', 2, 0.35), ('B', 1, -0.4)]
>>> [q.text for q in s.segments[0].quotes]
['Great', 'Ok']
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from segmint.exceptions import InputError
from segmint.privacy.quotes import quote_text
from segmint.profile._feedback_quotes import pick_quotes
from segmint.profile.stats import MAX_OVER, MIN_RATIO, MIN_SHARE
from segmint.store.results import (
    FeedbackSummary,
    FeedbackTopic,
    SegmentFeedback,
    TopicShare,
)

__all__ = [
    "MAX_P",
    "MIN_TEXTS",
    "TEXT_COLUMNS",
    "mean_interval",
    "quote_text",
    "summarize_feedback",
]

#: the per-text columns the summary reads (``segmint.feedback.analyze_texts`` computes them)
TEXT_COLUMNS = ("customer_id", "text", "language", "sentiment", "sentiment_label", "topic")
#: a topic needs at least this many of the segment's texts to be called over-represented
MIN_TEXTS = 10
#: … and its excess must be unlikely by chance (one-sided binomial test)
MAX_P = 0.05
#: example texts kept per topic
N_EXAMPLES = 3


def mean_interval(
    values: np.ndarray, groups: np.ndarray, level: float = 0.95
) -> tuple[float | None, list[float | None]]:
    """The mean of ``values`` and its ``level`` interval, cluster-robust by ``groups``
    (CR1, t with G − 1 degrees of freedom; the plain t-interval when every group has one
    value; a missing group is a group of its own). No interval with fewer than two groups.

    >>> m, ci = mean_interval(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 2]))
    >>> m, [round(v, 3) for v in ci]
    (2.0, [-0.484, 4.484])
    """
    n = len(values)
    if n == 0:
        return None, []
    mean = float(values.mean())
    codes, _ = pd.factorize(pd.Series(groups))
    unknown = codes < 0  # a text without a customer id is its own cluster
    codes[unknown] = codes.max(initial=-1) + 1 + np.arange(int(unknown.sum()))
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        return mean, []
    sums = np.bincount(codes, weights=values - mean, minlength=n_groups)
    se = float(np.sqrt(n_groups / (n_groups - 1) * float(sums @ sums) / n**2))
    half = float(sps.t.ppf(0.5 + level / 2, n_groups - 1)) * se
    return mean, [mean - half, mean + half]


def _prepare(texts: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    missing = [c for c in TEXT_COLUMNS if c not in texts.columns]
    if missing:
        raise InputError(
            f"The feedback texts need the columns {', '.join(TEXT_COLUMNS)}; "
            f"missing: {', '.join(missing)}.",
            where="summarize_feedback(texts=…)",
            fix="pass the per-text frame of segmint.feedback.analyze_texts joined with the "
            "feedback's customer_id and text.",
        )
    keyed = labels[~labels.index.duplicated()]
    keyed.index = keyed.index.astype("string")
    frame = pd.DataFrame(index=texts.index)
    frame["customer"] = texts["customer_id"].astype("string")
    frame["segment"] = frame["customer"].map(keyed.dropna().astype(str))
    frame["text"] = texts["text"].astype("string").fillna("")
    frame["language"] = texts["language"].astype("string")
    frame["sentiment"] = pd.to_numeric(texts["sentiment"], errors="coerce").astype(float)
    frame["negative"] = texts["sentiment_label"].astype("string").eq("negative").fillna(False)
    frame["topic"] = pd.to_numeric(texts["topic"], errors="coerce").astype("Int64")
    weight = texts["topic_weight"] if "topic_weight" in texts.columns else np.nan
    frame["topic_weight"] = pd.to_numeric(pd.Series(weight, index=texts.index), errors="coerce")
    return frame


def _over(shares: list[TopicShare], n_total: int) -> list[TopicShare]:
    """The rule of the module docstring, highest lift first."""
    out = []
    for t in shares:
        if t.lift is None or t.share is None or t.population_share is None:
            continue
        if t.lift < MIN_RATIO or t.share < MIN_SHARE or t.n_texts < MIN_TEXTS:
            continue
        test = sps.binomtest(t.n_texts, n_total, t.population_share, alternative="greater")
        if test.pvalue < MAX_P:
            out.append(t)
    return sorted(out, key=lambda t: (-(t.lift or 0.0), t.topic))[:MAX_OVER]


def _mix(
    topics: pd.Series, population: pd.Series, names: Mapping[int, str]
) -> tuple[list[TopicShare], list[TopicShare]]:
    """The topic mix of ``topics`` against ``population`` (both: one topic per text, NA
    dropped), largest share first, and its over-represented topics."""
    mine = topics.dropna().astype(int).value_counts()
    pop = population.dropna().astype(int).value_counts()
    total, pop_total = int(mine.sum()), int(pop.sum())
    shares = []
    for topic, n in sorted(mine.items(), key=lambda kv: (-kv[1], kv[0])):
        pop_share = pop.get(topic, 0) / pop_total if pop_total else None
        share = n / total
        shares.append(
            TopicShare(
                topic=int(topic),
                name=names.get(int(topic), f"Topic {topic}"),
                n_texts=int(n),
                share=share,
                population_share=pop_share,
                lift=share / pop_share if pop_share else None,
            )
        )
    return shares, _over(shares, total)


def _segment(
    label: str, seg: pd.DataFrame, pop: pd.DataFrame, names: Mapping[int, str], quotes: int
) -> SegmentFeedback:
    scored = seg[seg["sentiment"].notna()]
    mean, ci = mean_interval(scored["sentiment"].to_numpy(), scored["customer"].to_numpy())
    mix, over = _mix(seg["topic"], pop["topic"], names)
    negative = pop["negative"] & pop["sentiment"].notna()
    mine = seg["negative"] & seg["sentiment"].notna()
    _, themes = _mix(seg.loc[mine, "topic"], pop.loc[negative, "topic"], names)
    lifted = [t.topic for t in over]
    order = lifted + [t.topic for t in mix if t.topic not in lifted]
    return SegmentFeedback(
        label=label,
        n_texts=len(seg),
        n_scored=len(scored),
        n_customers=int(seg["customer"].nunique()),
        sentiment_mean=mean,
        sentiment_ci=ci,
        share_negative=float(scored["negative"].mean()) if len(scored) else None,
        topics=mix,
        over_represented=over,
        complaint_themes=themes,
        quotes=pick_quotes(seg, mean, order, quotes),
    )


def _topics(topics: pd.DataFrame | None, frame: pd.DataFrame) -> list[FeedbackTopic]:
    if topics is None or "topic" not in topics.columns:
        return []
    out = []
    for row in topics.to_dict("records"):
        topic = int(row["topic"])
        terms = row.get("terms")
        share = row.get("share")
        examples = pick_quotes(frame, None, [topic], N_EXAMPLES, per_topic=N_EXAMPLES, fill=False)
        out.append(
            FeedbackTopic(
                topic=topic,
                name=str(row.get("name") or f"Topic {topic}"),
                terms=[str(t) for t in terms] if isinstance(terms, list | tuple) else [],
                n_texts=int(row.get("n_texts") or int(frame["topic"].eq(topic).sum())),
                share=float(share) if share is not None and pd.notna(share) else None,
                examples=[q.text for q in examples],
            )
        )
    return out


def summarize_feedback(
    texts: pd.DataFrame, labels: pd.Series, topics: pd.DataFrame | None, *, quotes: int = 3
) -> FeedbackSummary:
    """Per segment of ``labels`` (customer id → segment label): what its customers' ``texts``
    say (see the module docstring). ``topics`` is the topic model's table (topic, name,
    terms, n_texts, share; None or empty when no topics were found: topics are then called
    "Topic 3"). Every segment of ``labels`` is listed, largest first, also one
    whose customers wrote nothing."""
    frame = _prepare(texts, labels)
    names = (
        {int(t): str(n) for t, n in zip(topics["topic"], topics["name"], strict=True)}
        if topics is not None and {"topic", "name"} <= set(topics.columns)
        else {}
    )
    pop = frame[frame["segment"].notna()]
    scored = pop[pop["sentiment"].notna()]
    mean, ci = mean_interval(scored["sentiment"].to_numpy(), scored["customer"].to_numpy())
    sizes = labels.dropna().astype(str).value_counts()
    order = sorted(sizes.index, key=lambda s: (-sizes[s], s))
    english = pop["language"].fillna("").str.lower().eq("en")
    return FeedbackSummary(
        n_texts=len(pop),
        n_scored=len(scored),
        n_not_english=int((~english & pop["sentiment"].isna()).sum()),
        n_unlabelled=len(frame) - len(pop),
        sentiment_mean=mean,
        sentiment_ci=ci,
        share_negative=float(scored["negative"].mean()) if len(scored) else None,
        topics=_topics(topics, frame),
        segments=[
            _segment(label, pop[pop["segment"] == label], pop, names, quotes) for label in order
        ],
    )
