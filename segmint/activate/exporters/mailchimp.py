"""Mailchimp: a contacts CSV imported into an audience, each customer tagged with its segment.

Why these columns: ``Email Address`` is the one field Mailchimp requires (one address per
contact, no spaces around it: the normalized, validated e-mail); ``First Name`` and
``Last Name`` are the audience's default text fields; ``Tags`` is mapped to tags during the
import. Several segments go into one file: each customer's tag is its segment's name, so one
import tags every group. Mailchimp splits a ``Tags`` cell at commas, so a segment name that
holds a comma is written in double quotes (``"Loyal, high value"``), which keeps it one tag.

Mailchimp asks for the contacts' status (subscribed or not) once per import, and
accepts only contacts who gave permission; the file therefore holds only customers whose
e-mail consent is true (or assumed with ``--assume-consent``, which the export log records).
"""

from segmint.activate.exporters._base import Column, Exporter

#: Mailchimp splits a Tags cell at commas; a name with a comma goes in double quotes
TAG_SQL = (
    "CASE WHEN contains(segment_name, ',') "
    "THEN '\"' || replace(segment_name, '\"', '') || '\"' ELSE segment_name END"
)

EXPORTER = Exporter(
    name="mailchimp",
    title="Mailchimp audience import",
    audience="email",
    columns=(
        Column("Email Address", "email", exact=True),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Tags", TAG_SQL),
    ),
    identifier="email IS NOT NULL",
    identifier_words="a valid e-mail address",
    source="https://mailchimp.com/help/format-guidelines-for-your-import-file/",
    segment_column="Tags",
    template_columns=("Message Subject", "Message Body"),
)
