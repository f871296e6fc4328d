"""CDNOW purchase logs (Fader & Hardie): customer_id, date (yyyymmdd), number_of_cds,
dollar_value, whitespace-separated. The sample file adds a second id column."""

from __future__ import annotations

from segmint.ingest.formats._base import SourceFormat

CDNOW = SourceFormat(
    family="cdnow",
    entity="orders",
    title="CDNOW purchase log",
    signature=("customer_id", "date", "number_of_cds", "dollar_value"),
    aliases={
        "customer_id": ("customer_id",),
        "ordered_at": ("date",),
        "quantity": ("number_of_cds",),
        "amount": ("dollar_value",),
    },
    derive={"currency": "'USD'"},
    min_score=0.75,
)
FORMATS = (CDNOW,)
