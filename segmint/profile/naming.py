"""Plain-language segment names from the strongest traits ("Frequent high spenders, mostly app").

A *trait* is a numeric feature with |lift| ≥ :data:`MIN_LIFT` or an over-represented category
held by at least :data:`MIN_CATEGORY_SHARE` of the segment (strength log2 of its ratio). Each
trait is worded through :data:`VOCABULARY` (first matching pattern on the feature name):

* ``adj`` words go in front ("recent", "frequent", "new"), ``noun`` words are the head ("high
  spenders", "deal seekers"; a second noun becomes its ``alt`` tail form), ``tail`` words follow
  after commas ("mostly app", "with children"), ``range`` shows the segment's interquartile
  range ("aged 25–34");
* share-like features (``channel_share_app``, ``category_share_grocery``) read "mostly app" when
  the segment mean is ≥ 0.5, else "more app"; other features read "with high <label>", where
  the label is the feature catalog's plain one ("variation in days between orders") or, for an
  extra customer attribute, its header in words ("Detergents paper"): never the raw column name;
  a 0/1 column (mean in 0–1, median 0 or 1) reads by its share: "mostly Mens", "with few
  Womens".

A name uses the 3 strongest traits, fewer while it is longer than 60 characters. Names are
deterministic and unique: segments (largest first) that share a name get more traits, then a
number "(2)". Names given by the user (``fixed``) are kept and never reused.

>>> from segmint.features.catalog import label
from segmint.profile._types import SegmentProfile
>>> p = SegmentProfile("1", "", 10, 0.1, lift={"frequency": 1.2, "monetary_total": 0.9,
...     "channel_share_app": 0.8}, means={"channel_share_app": 0.7})
>>> name_segments([p])
{'1': 'Frequent high spenders, mostly app'}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from segmint.features.catalog import label
from segmint.profile._types import SegmentProfile
from segmint.segment.base import UNASSIGNED

__all__ = ["MAX_LENGTH", "MIN_LIFT", "VOCABULARY", "Trait", "Word", "name_segments", "traits"]

MIN_LIFT = 0.3
MIN_CATEGORY_SHARE = 0.3
MAX_LENGTH = 60
START_TRAITS = 3
MAX_TRAITS = 6


@dataclass(frozen=True)
class Word:
    """How one direction of a feature reads: ``slot`` is adj, noun, tail or range."""

    slot: str
    text: str
    alt: str = ""


@dataclass(frozen=True)
class Trait:
    strength: float
    word: Word
    key: str


_SHARE = r"(?:^|_)(?:share|pct|percent|ratio|frac|fraction|mix)(?:_|$)"
_STRIP = {"share", "pct", "percent", "ratio", "frac", "fraction", "mix", "channel", "category",
          "cat", "of", "orders", "lines", "by", "spend", "topic"}  # fmt: skip

#: (pattern on the lower-case feature name, high wording, low wording); first match wins
VOCABULARY: list[tuple[str, Word | None, Word | None]] = [
    (r"recency", Word("adj", "lapsed"), Word("adj", "recent")),
    (
        r"^(frequency|n_orders|orders|order_count|num_orders|purchases)$",
        Word("adj", "frequent"),
        Word("adj", "occasional"),
    ),
    (r"tenure", Word("adj", "long-standing"), Word("adj", "new")),
    (
        r"discount",
        Word("noun", "deal seekers", "deal-driven"),
        Word("noun", "full-price buyers", "full price"),
    ),
    (
        r"(avg|mean|average)_?order_?value|aov|basket",
        Word("noun", "big-basket buyers", "big baskets"),
        Word("noun", "small-basket buyers", "small baskets"),
    ),
    (
        r"monetary|revenue|spend|clv|lifetime_value",
        Word("noun", "high spenders", "high spend"),
        Word("noun", "low spenders", "low spend"),
    ),
    (r"return", Word("tail", "frequent returns"), None),
    (r"p_alive|prob_alive|alive", Word("adj", "active"), Word("adj", "at-risk")),
    (r"churn", Word("adj", "at-risk"), Word("adj", "loyal")),
    # what they wrote (the text family): a topic is what they write about
    (r"^topic_.+_share$", Word("tail", "mostly about {token}"), None),
    (r"^sentiment_mean$", Word("adj", "happy"), Word("adj", "unhappy")),
    (r"^negative_share$", Word("tail", "often negative"), None),
    (r"^rating_mean$", Word("adj", "high-rating"), Word("adj", "low-rating")),
    (_SHARE, Word("tail", "mostly {token}"), None),
    (r"^age(_years)?$", Word("range", "aged {range}"), Word("range", "aged {range}")),
    (r"income|salary", Word("adj", "high-income"), Word("adj", "low-income")),
    (r"children|kids", Word("tail", "with children"), Word("tail", "without children")),
    (r"household", Word("tail", "large households"), Word("tail", "small households")),
    (
        r"event|page_view|session|visit|click|open|engage",
        Word("adj", "engaged"),
        Word("adj", "disengaged"),
    ),
]


def range_features(columns: list[str]) -> list[str]:
    """Columns whose names are worded as an interquartile range (they need quartiles)."""
    pats = [p for p, hi, _ in VOCABULARY if hi is not None and hi.slot == "range"]
    return [c for c in columns if any(re.search(p, c.lower()) for p in pats)]


def _num(x: float) -> str:
    return str(round(x)) if abs(x) >= 10 else f"{x:.2g}"


def _word(feature: str, lift: float, mean: float, quartiles: tuple[float, float] | None) -> Word:
    name = feature.lower()
    for pattern, high, low in VOCABULARY:
        if re.search(pattern, name):
            word = high if lift > 0 else low
            if word is None:
                return Word("", "")
            if word.slot == "range":
                if quartiles is None:
                    return Word("", "")
                lo, hi = (_num(q) for q in quartiles)
                return Word("tail", word.text.format(range=lo if lo == hi else f"{lo}–{hi}"))
            if "{token}" in word.text:
                token = " ".join(t for t in name.split("_") if t and t not in _STRIP)
                text = word.text if mean >= 0.5 else word.text.replace("mostly", "more")
                return Word(word.slot, text.format(token=token or name))
            return word
    return Word("tail", f"with {'high' if lift > 0 else 'low'} {label(feature)}")


def _is_flag(mean: float, median: float | None) -> bool:
    """A 0/1 column (Hillstrom's ``mens``): its mean is a share and its median 0 or 1."""
    return 0.0 <= mean <= 1.0 and median in (0.0, 1.0)


def _flag_word(feature: str, lift: float, mean: float) -> Word:
    """'mostly Mens' / 'more Mens' / 'with few Womens' / 'with fewer Womens', by the share."""
    if lift > 0:
        return Word("tail", f"{'mostly' if mean >= 0.5 else 'more'} {label(feature)}")
    return Word("tail", f"with {'few' if mean < 0.2 else 'fewer'} {label(feature)}")


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def traits(
    profile: SegmentProfile, quartiles: dict[str, tuple[float, float]] | None = None
) -> list[Trait]:
    """The segment's traits, strongest first (ties by feature name)."""
    out: list[Trait] = []
    for feature, lift in profile.lift.items():
        if not math.isfinite(lift) or abs(lift) < MIN_LIFT:
            continue
        mean = profile.means.get(feature, math.nan)
        word = _word(feature, lift, mean, (quartiles or {}).get(feature))
        if word.text.startswith("with ") and _is_flag(mean, profile.medians.get(feature)):
            word = _flag_word(feature, lift, mean)
        if word.slot:
            out.append(Trait(abs(lift), word, feature))
    for item in profile.over_represented:
        if item["share"] < MIN_CATEGORY_SHARE:
            continue
        value: Any = item["value"]
        col = label(str(item["column"]))
        if isinstance(value, bool):
            text = col if value else f"no {col}"
        else:
            coded = _is_number(value)  # "mostly region 3", not "mostly 3"
            text = f"{'mostly' if item['share'] >= 0.5 else 'often'} "
            text += f"{col} {value}" if coded else str(value)
        out.append(Trait(math.log2(item["lift"]), Word("tail", text), f"{item['column']}={value}"))
    out.sort(key=lambda t: (-t.strength, t.key))
    seen: set[str] = set()
    unique = []
    for t in out:
        if t.word.text not in seen:
            seen.add(t.word.text)
            unique.append(t)
    return unique


def compose(chosen: list[Trait]) -> str:
    """Adjectives + head noun, then tails: "Recent frequent high spenders, mostly app"."""
    adjs = [t.word.text for t in chosen if t.word.slot == "adj"]
    nouns = [t.word for t in chosen if t.word.slot == "noun"]
    tails: list[str] = []
    for t in chosen:
        if t.word.slot == "tail":
            tails.append(t.word.text)
        elif t.word.slot == "noun" and t.word is not nouns[0]:
            tails.append(t.word.alt or t.word.text)
    head = nouns[0].text if nouns else "customers"
    # what they write: "Customers writing mostly about delays", not "Mostly about delays customers"
    if not adjs and not nouns and tails and any(w in tails[0] for w in (" about ", " negative")):
        return _capital(f"customers writing {', '.join(tails)}")
    if not adjs and not nouns and tails and tails[0].startswith(("mostly ", "more ", "often ")):
        adjs = [tails.pop(0)]  # "Mostly app customers"
    text = " ".join([*adjs, head])
    if tails:
        text += (" " if text == "customers" else ", ") + ", ".join(tails)
    return _capital(text)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _name(ts: list[Trait], count: int) -> str:
    if not ts:
        return "Typical customers"
    k = min(count, len(ts))
    text = compose(ts[:k])
    while len(text) > MAX_LENGTH and k > 1:
        k -= 1
        text = compose(ts[:k])
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1].rstrip() + "…"


def name_segments(
    profiles: list[SegmentProfile],
    *,
    quartiles: dict[str, dict[str, tuple[float, float]]] | None = None,
    fixed: dict[str, str] | None = None,
) -> dict[str, str]:
    """A unique name per segment label; ``fixed`` names (set by the user) win unchanged."""
    fixed = dict(fixed or {})
    taken = set(fixed.values())
    auto = [p for p in profiles if p.label not in fixed]
    found = {p.label: traits(p, (quartiles or {}).get(p.label)) for p in auto}
    count = dict.fromkeys(found, START_TRAITS)
    names: dict[str, str] = {}
    for _ in range(MAX_TRAITS):
        names = {
            p.label: UNASSIGNED if p.label == UNASSIGNED else _name(found[p.label], count[p.label])
            for p in auto
        }
        clash = [
            lab for lab, nm in names.items()
            if nm in taken or sum(v == nm for v in names.values()) > 1
        ]  # fmt: skip
        if not clash:
            break
        for lab in clash:
            count[lab] += 1
    out = dict(fixed)
    for p in auto:  # largest first: the first keeps the plain name
        base, name, n = names[p.label], names[p.label], 1
        while name in taken:
            n += 1
            suffix = f" ({n})"
            name = base[: MAX_LENGTH - len(suffix)] + suffix
        taken.add(name)
        out[p.label] = name
    return out
