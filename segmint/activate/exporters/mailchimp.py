"""Mailchimp: a contacts CSV imported into an audience, segments as tags.

Columns ``Email Address, First Name, Last Name, Tags``; plain text. Several segments go into
one file: each customer's segment name is its tag, so one import tags every group.
"""

from segmint.activate.exporters._base import Column, Exporter

EXPORTER = Exporter(
    name="mailchimp",
    title="Mailchimp audience import",
    audience="email",
    columns=(
        Column("Email Address", "email", exact=True),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Tags", "segment_name"),
    ),
    identifier="email IS NOT NULL",
    identifier_words="a valid e-mail address",
    source="https://mailchimp.com/help/import-contacts-mailchimp/",
    segment_column="Tags",
    template_columns=("Message Subject", "Message Body"),
)
