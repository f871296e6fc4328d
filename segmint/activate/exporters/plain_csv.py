"""A plain CSV of the segment: its columns, then every contact field, consent included.

For a tool segmint has no format for, or for a person. Nothing is hashed and nobody is left
out for consent (the consent columns are in the file, so whoever uses it can filter); a row
needs only its customer id. Several segments go into one file, one row per customer, with
``segment`` (label) and ``segment_name``.

The contact columns are :data:`segmint.activate.contacts.CONTACT_COLUMNS`, in that order and
under those names, so a field added to the normalized contacts is in this file too. Values
the normalization made platform-safe (a validated e-mail, an E.164 phone, an ISO country,
``m``/``f``, a 4-digit year, ``true``/``false``) are written exactly; names, places, ids and
segment names go behind the spreadsheet formula guard.
"""

from segmint.activate.contacts import CONTACT_COLUMNS
from segmint.activate.exporters._base import Column, Exporter

#: contact columns whose values cannot start a formula except as the platform defines them
_EXACT = {
    "email",
    "phone",
    "country",
    "gender",
    "birth_year",
    "consent_email",
    "consent_sms",
    "consent_ads",
}

EXPORTER = Exporter(
    name="csv",
    title="CSV (every contact field)",
    audience="file",
    columns=(
        Column("customer_id", "customer_id"),
        Column("segment", "segment"),
        Column("segment_name", "segment_name"),
        *(Column(name, name, exact=name in _EXACT) for name in CONTACT_COLUMNS),
    ),
    identifier="customer_id IS NOT NULL",
    identifier_words="a customer id",
    source="https://www.rfc-editor.org/rfc/rfc4180",
    segment_column="segment_name",
    template_columns=("message_subject", "message_body"),
)
