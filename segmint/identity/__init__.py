"""Identity resolution: which customer records are one person (``segmint dedupe``).

Between ``clean`` and ``features``: Splink links the cleaned customer records within and
across sources (a Shopify customer, a Mailchimp subscriber, a HubSpot contact), and the
identity map (``customer_id → person_id``) lets every later stage work on persons.
:func:`link_frame` links a table of records without a workspace, on a private DuckDB or on a
SparkSession (Splink's Spark backend). See docs/identity.md.
"""

from segmint.identity.fields import DEFAULT_THRESHOLD, IdentityOptions
from segmint.identity.frames import FrameLinks, link_frame
from segmint.identity.link import DedupeResult, dedupe, recluster
from segmint.identity.review import (
    Explanation,
    PairExplanation,
    clusters,
    decide,
    explain,
    explain_pair,
    review_queue,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "DedupeResult",
    "Explanation",
    "FrameLinks",
    "IdentityOptions",
    "PairExplanation",
    "clusters",
    "decide",
    "dedupe",
    "explain",
    "explain_pair",
    "link_frame",
    "recluster",
    "review_queue",
]
