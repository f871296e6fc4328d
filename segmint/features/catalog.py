"""The feature catalog: every feature (or pattern of features) with its family, type, unit, meaning.

The catalog section of ``docs/features.md`` is generated from this module
(``python -m segmint.features.catalog``) and a test keeps the two equal. Patterns such as
``cat_<slug>_share`` stand for one column per top value; :func:`lookup` finds the entry of any
column ``build_features`` writes.

>>> lookup("cat_home_share").name
'cat_<slug>_share'
>>> FEATURE_CATALOG["recency_days"].family, FEATURE_CATALOG["recency_days"].kind
('behavioral', 'numeric')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segmint.features.basic import BASIC_FEATURES

__all__ = [
    "FAMILIES",
    "FEATURE_CATALOG",
    "Family",
    "FeatureInfo",
    "label",
    "lookup",
    "render_markdown",
]

KINDS = ("numeric", "categorical", "boolean", "timestamp")


@dataclass(frozen=True)
class Family:
    name: str
    tables: tuple[str, ...]
    module: str
    description: str


@dataclass(frozen=True)
class FeatureInfo:
    name: str
    family: str
    kind: str
    unit: str
    meaning: str
    #: how the feature reads in names and pages ("days since last purchase"); patterns hold
    #: ``<slug>``/``<name>``, filled in by :func:`label`
    label: str = ""

    @property
    def is_pattern(self) -> bool:
        return "<" in self.name

    def matches(self, column: str) -> bool:
        if not self.is_pattern:
            return column == self.name
        parts = re.split(r"<[a-z]+>", self.name)
        return re.fullmatch("[0-9a-z_]+".join(map(re.escape, parts)), column) is not None


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "behavioral",
            ("orders", "events"),
            "behavior.py",
            "What customers do: RFM, tenure, timing, mix, discounts, returns, web events.",
        ),
        Family(
            "demographic",
            ("customers",),
            "demographics.py",
            "Who they are: age, income, household; how they may be reached (contact, consent).",
        ),
        Family("geographic", ("customers",), "geography.py", "Where they live."),
        Family(
            "psychographic",
            ("feedback",),
            "psychographic.py",
            "What they think: ratings and survey (Likert) answers.",
        ),
        Family(
            "text",
            ("feedback_texts",),
            "text.py",
            "What their words say: sentiment and topics of their reviews, answers and posts "
            "(`segmint feedback analyze`).",
        ),
        Family(
            "firmographic",
            ("customers",),
            "firmographic.py",
            "The company behind a B2B customer.",
        ),
        Family(
            "attributes",
            ("customers",),
            "attributes.py",
            "Every extra column of `customers` (one the canonical model has no place for, e.g. "
            "Hillstrom's `history`, `mens`), unchanged and under its imported snake_case name; "
            "a name another family writes is left out.",
        ),
    )
}

_SHARE = "share (0–1)"
_MONEY = "currency units"
_BASIC_KIND = {"first_order_at": "timestamp", "last_order_at": "timestamp"}
_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    *(
        (name, "behavioral", _BASIC_KIND.get(name, "numeric"), unit, meaning)
        for name, (unit, meaning) in BASIC_FEATURES.items()
    ),
    ("interpurchase_mean_days", "behavioral", "numeric", "days",
     "mean gap between consecutive distinct orders (needs 2 orders)"),
    ("interpurchase_std_days", "behavioral", "numeric", "days",
     "sample standard deviation of those gaps (needs 3 orders)"),
    ("revenue_last_90d", "behavioral", "numeric", _MONEY,
     "net revenue in the 90 days up to the as-of time"),
    ("revenue_prev_90d", "behavioral", "numeric", _MONEY,
     "net revenue in the 90 days before those"),
    ("discount_share", "behavioral", "numeric", _SHARE,
     "purchase lines with a discount > 0 / purchase lines"),
    ("discount_rate", "behavioral", "numeric", _SHARE,
     "discount / (amount + discount), over purchase lines"),
    ("return_rate", "behavioral", "numeric", "returns per purchase line",
     "lines marked returned / purchase lines"),
    ("cat_<slug>_share", "behavioral", "numeric", _SHARE,
     "spend in this category / spend (one column per top category)"),
    ("cat_other_share", "behavioral", "numeric", _SHARE,
     "spend outside the top categories (or without one) / spend"),
    ("channel_<slug>_share", "behavioral", "numeric", _SHARE,
     "spend in this channel / spend (one column per top channel)"),
    ("channel_other_share", "behavioral", "numeric", _SHARE,
     "spend outside the top channels (or without one) / spend"),
    ("events_<slug>", "behavioral", "numeric", "events",
     "identified events with this name (one column per top event name)"),
    ("events_total", "behavioral", "numeric", "events", "all identified events"),
    ("age", "demographic", "numeric", "years",
     "full years from birth_date to the as-of date, else the age column"),
    ("income", "demographic", "numeric", "currency units per year", "annual income"),
    ("income_band", "demographic", "categorical", "",
     "<25k, 25k-50k, 50k-75k, 75k-100k, 100k-150k or 150k+ (lower bound included)"),
    ("gender", "demographic", "categorical", "", "gender as given"),
    ("education", "demographic", "categorical", "", "highest education level"),
    ("children", "demographic", "numeric", "children", "children in the household"),
    ("household_size", "demographic", "numeric", "people", "people in the household"),
    ("consent_email", "demographic", "boolean", "", "may be e-mailed (missing = no)"),
    ("consent_sms", "demographic", "boolean", "", "may get SMS (missing = no)"),
    ("consent_ads", "demographic", "boolean", "", "may be in ad audiences (missing = no)"),
    ("has_email", "demographic", "boolean", "", "an e-mail address with an @ is on file"),
    ("has_phone", "demographic", "boolean", "", "a non-blank phone number is on file"),
    ("country", "geographic", "categorical", "", "ISO 3166-1 alpha-2 country code"),
    ("region", "geographic", "categorical", "", "state, province or region"),
    ("city", "geographic", "categorical", "", "city"),
    ("urban_rural", "geographic", "categorical", "", "urban, suburban or rural"),
    ("rating_mean", "psychographic", "numeric", "points", "mean rating over feedback rows"),
    ("feedback_count", "psychographic", "numeric", "answers", "feedback rows (0 if none)"),
    ("survey_<name>", "psychographic", "numeric", "points",
     "mean answer to the survey item `<name>` (a numeric extra column of feedback)"),
    ("sentiment_mean", "text", "numeric", "score (−1…1)",
     "mean VADER sentiment of the customer's scored (English) texts"),
    ("negative_share", "text", "numeric", _SHARE, "texts scored negative / texts scored"),
    ("topic_<slug>_share", "text", "numeric", _SHARE,
     "texts on this topic / texts with a topic (one column per topic, named by its top two "
     "terms)"),
    ("industry", "firmographic", "categorical", "", "industry (B2B)"),
    ("company_size", "firmographic", "numeric", "employees", "number of employees (B2B)"),
    ("annual_revenue", "firmographic", "numeric", "currency units per year",
     "company annual revenue (B2B)"),
)  # fmt: skip

#: plain labels, in the words a marketer would use
_LABELS: dict[str, str] = {
    "recency_days": "days since last purchase",
    "frequency": "orders",
    "monetary_total": "total spend",
    "avg_order_value": "average order value",
    "tenure_days": "days since first purchase",
    "first_order_at": "first purchase",
    "last_order_at": "last purchase",
    "interpurchase_mean_days": "days between orders",
    "interpurchase_std_days": "variation in days between orders",
    "revenue_last_90d": "spend in the last 90 days",
    "revenue_prev_90d": "spend in the 90 days before",
    "discount_share": "discounted purchases",
    "discount_rate": "discount rate",
    "return_rate": "returns",
    "cat_<slug>_share": "<slug> share of spend",
    "cat_other_share": "other categories' share of spend",
    "channel_<slug>_share": "<slug> channel share of spend",
    "channel_other_share": "other channels' share of spend",
    "events_<slug>": "<slug> events",
    "events_total": "web and app events",
    "age": "age",
    "income": "income",
    "income_band": "income band",
    "gender": "gender",
    "education": "education",
    "children": "children",
    "household_size": "household size",
    "consent_email": "e-mail consent",
    "consent_sms": "SMS consent",
    "consent_ads": "ads consent",
    "has_email": "e-mail on file",
    "has_phone": "phone on file",
    "country": "country",
    "region": "region",
    "city": "city",
    "urban_rural": "urban or rural",
    "rating_mean": "average rating",
    "feedback_count": "feedback answers",
    "survey_<name>": "survey: <name>",
    "sentiment_mean": "average sentiment",
    "negative_share": "negative texts",
    "topic_<slug>_share": "talks about <slug>",
    "industry": "industry",
    "company_size": "company size",
    "annual_revenue": "company revenue",
}

FEATURE_CATALOG: dict[str, FeatureInfo] = {
    r[0]: FeatureInfo(*r, label=_LABELS[r[0]]) for r in _ROWS
}


def lookup(column: str) -> FeatureInfo:
    """The catalog entry of a feature column (exact names first, then patterns)."""
    if column in FEATURE_CATALOG:
        return FEATURE_CATALOG[column]
    for info in FEATURE_CATALOG.values():
        if info.is_pattern and info.matches(column):
            return info
    raise KeyError(f"'{column}' is not a feature in segmint.features.catalog")


#: the value models' per-customer outputs (segment/value/clv.py VALUE_COLUMNS), which join the
#: feature frame in a run; their headers in words would read "Clv", "P alive"
_VALUE_OUTPUTS = {
    "expected_purchases": "expected purchases",
    "p_alive": "P(alive)",
    "expected_aov": "expected order value",
    "clv": "CLV",
}


def label(column: str) -> str:
    """How a feature column reads in segment names and pages: the catalog's plain label, with
    a pattern's value filled in; any other column (an extra customer attribute, a value-model
    output) reads as its header in words.

    >>> label("interpurchase_std_days"), label("cat_home_garden_share")
    ('variation in days between orders', 'home garden share of spend')
    >>> label("mens"), label("Delicassen"), label("detergents_paper"), label("clv")
    ('Mens', 'Delicassen', 'Detergents paper', 'CLV')
    >>> label("survey_q_price_sensitive")  # a survey item's "q_" / "q12_" prefix is dropped
    'survey: price sensitive'
    """
    if column in _VALUE_OUTPUTS:
        return _VALUE_OUTPUTS[column]
    try:
        info = lookup(column)
    except KeyError:
        return header_label(column)
    if not info.is_pattern:
        return info.label
    prefix, _, suffix = re.split(r"(<[a-z]+>)", info.name)
    value = column[len(prefix) : len(column) - len(suffix)]
    if prefix == "survey_":
        value = re.sub(r"^q\d*_(?=.)", "", value)
    return re.sub(r"<[a-z]+>", value.replace("_", " "), info.label)


def header_label(column: str) -> str:
    """A column header in words: ``Detergents_Paper`` → 'Detergents paper', ``mens`` → 'Mens'
    (the ``c_`` that import puts before a header starting with a digit is dropped)."""
    text = re.sub(r"[_\s]+", " ", re.sub(r"^c_(?=\d)", "", column)).strip().lower()
    return text[:1].upper() + text[1:] if text else column


def render_markdown() -> str:
    """The catalog section of ``docs/features.md``."""
    out = [
        "<!-- generated by python -m segmint.features.catalog; a test keeps it equal -->",
        "",
    ]
    for fam in FAMILIES.values():
        tables = ", ".join(f"`{t}`" for t in fam.tables)
        out += [
            f"### {fam.name} (`features/{fam.module}`, from {tables})",
            "",
            fam.description,
            "",
        ]
        rows = [
            f"| `{f.name}` | {_md(f.label)} | {f.kind} | {f.unit} | {f.meaning} |"
            for f in FEATURE_CATALOG.values()
            if f.family == fam.name
        ]
        if rows:
            out += ["| feature | label | type | unit | meaning |", "|---|---|---|---|---|", *rows]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return f"`{text}`" if "<" in text else text


if __name__ == "__main__":  # pragma: no cover - python -m segmint.features.catalog
    print(render_markdown(), end="")
