"""Profiles of segments (M10) and key variables (M3); ranking (M11) lives in ``rank``; what
each segment's customers wrote (sentiment, topics, quotes) in ``feedback``.

>>> import pandas as pd
>>> from segmint.segment.base import Segmentation
>>> X = pd.DataFrame({"frequency": [1, 2, 1, 20, 25, 30]}, index=list("abcdef"))
>>> p = profile(X, Segmentation("demo", "rules", pd.Series(list("LLLHHH"), index=X.index)))
>>> [s.name for s in p.segments]
['Frequent customers', 'Occasional customers']
"""

from segmint.profile._profile import profile
from segmint.profile._types import Profiles, SegmentProfile
from segmint.profile.feedback import quote_text, summarize_feedback
from segmint.profile.keyvars import key_variables
from segmint.profile.rank import Ranking, rank

__all__ = [
    "Profiles",
    "Ranking",
    "SegmentProfile",
    "key_variables",
    "profile",
    "quote_text",
    "rank",
    "summarize_feedback",
]
