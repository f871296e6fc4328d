"""A plain CSV of the segment: every contact field, the segment and the consent columns.

For a tool segmint has no format for, or for a person. Nothing is hashed and nobody is left
out for consent (the consent columns are in the file, so whoever uses it can filter); a row
needs only its customer id. Several segments go into one file, one row per customer.
"""

from segmint.activate.exporters._base import Column, Exporter

EXPORTER = Exporter(
    name="csv",
    title="CSV (every contact field)",
    audience="file",
    columns=(
        Column("customer_id", "customer_id"),
        Column("segment", "segment"),
        Column("segment_name", "segment_name"),
        Column("email", "email", exact=True),
        Column("phone", "phone", exact=True),
        Column("first_name", "first_name"),
        Column("last_name", "last_name"),
        Column("country", "country", exact=True),
        Column("region", "region"),
        Column("city", "city"),
        Column("postal_code", "postal_code"),
        Column("gender", "gender", exact=True),
        Column("birth_year", "birth_year", exact=True),
        Column("consent_email", "consent_email", exact=True),
        Column("consent_sms", "consent_sms", exact=True),
        Column("consent_ads", "consent_ads", exact=True),
    ),
    identifier="customer_id IS NOT NULL",
    identifier_words="a customer id",
    source="https://www.rfc-editor.org/rfc/rfc4180",
    segment_column="segment_name",
    template_columns=("message_subject", "message_body"),
)
