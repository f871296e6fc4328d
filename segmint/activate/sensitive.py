"""Names that an ad platform may read as sensitive: health conditions or financial status.

Meta flags custom audiences whose name or contents suggest "specific health conditions (e.g.
arthritis, diabetes) or financial status (e.g. credit score, high income)": since
2 September 2025 a flagged audience cannot be used in new campaigns and running ones lose
delivery (Marketing API, Customer File Custom Audiences; Meta's Business Help Centre page on
flagged custom audiences, :data:`SOURCE`). Google's personalized-advertising policy restricts
the same categories. segmint checks the names of exported segments and the file name against
the terms below, and warns (the export still happens; the warning is kept in the log). The
list is deliberately short and literal: Meta's four examples plus common words for the same
categories, a word match, case-insensitive, so a marketer can see why a name was flagged and
rename it. Meta publishes no full term list; its review also reads the audience's contents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segmint.activate.exporters import Exporter

__all__ = ["FINANCIAL", "HEALTH", "RULE", "SOURCE", "sensitive_terms"]

#: Meta Business Help Centre: how to resolve flagged custom audiences (linked from the
#: Marketing API's Customer File Custom Audiences page, which states the rule)
SOURCE = "https://www.facebook.com/business/help/1055828013359808"
#: the rule with its examples, in Meta's developer documentation
RULE = "https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences"

#: words that suggest a health condition
HEALTH = (
    "health",
    "medical",
    "medication",
    "pharmacy",
    "prescription",
    "diabetes",
    "diabetic",
    "cancer",
    "pregnant",
    "pregnancy",
    "fertility",
    "ivf",
    "hiv",
    "aids",
    "std",
    "depression",
    "anxiety",
    "mental",
    "therapy",
    "disability",
    "disabled",
    "obese",
    "obesity",
    "weight loss",
    "addiction",
    "rehab",
    "alcoholism",
    "illness",
    "disease",
    "patient",
    "chronic",
    "arthritis",
    "asthma",
    "allergy",
    "allergies",
    "hearing loss",
    "incontinence",
    "erectile",
    "menopause",
    "dementia",
    "alzheimer",
    "adhd",
    "autism",
)
#: words that suggest financial status
FINANCIAL = (
    "debt",
    "indebted",
    "bankrupt",
    "bankruptcy",
    "credit score",
    "bad credit",
    "poor credit",
    "low income",
    "low-income",
    "high income",
    "high-income",
    "poor",
    "poverty",
    "broke",
    "payday",
    "loan",
    "loans",
    "overdraft",
    "insolvent",
    "insolvency",
    "foreclosure",
    "welfare",
    "benefits claimant",
    "unemployed",
    "wealthy",
    "rich",
    "affluent",
    "net worth",
    "salary",
    "financial hardship",
    "struggling financially",
)


def _pattern(terms: Sequence[str]) -> re.Pattern[str]:
    words = sorted(terms, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, words)) + r")(?![a-z0-9])")


_HEALTH, _FINANCIAL = _pattern(HEALTH), _pattern(FINANCIAL)


def sensitive_terms(names: Sequence[str], exporter: Exporter | None = None) -> list[str]:
    """One warning per name that holds a term of :data:`HEALTH` or :data:`FINANCIAL`.

    Only ad audiences are checked (an e-mail list's name is not shown to a platform's ad
    review). ``exporter`` None checks anyway.

    >>> sensitive_terms(["Champions", "Diabetic shoppers"])[0][:60]
    "'Diabetic shoppers' holds 'diabetic', which suggests a healt"
    """
    if exporter is not None and exporter.audience != "ads":
        return []
    out = []
    for name in names:
        text = name.casefold().replace("_", " ")
        for pattern, what in ((_HEALTH, "a health condition"), (_FINANCIAL, "financial status")):
            found = pattern.search(text)
            if found:
                out.append(
                    f"{name!r} holds {found.group(1)!r}, which suggests {what}: Meta restricts "
                    f"audiences whose name or contents suggest {what} and may reject or limit "
                    f"this one ({SOURCE}). Rename the segment or the file before uploading."
                )
    return out
