"""HubSpot: a contacts import file (CRM > Contacts > Import), segments as a contact property.

Why these columns: HubSpot matches each header to a contact property by its label and
deduplicates contacts on ``Email``; a contacts file is expected to carry ``First name``,
``Last name`` and ``Email`` (labels as HubSpot spells them). ``Phone number`` is written in
E.164 with its ``+``: no HubSpot rule for the import format of phones was found, and the
international form keeps the country that a national number would lose.

Consent: HubSpot keeps the lawful basis in the default property ``Legal basis for processing
contact's data`` (GDPR setting); where the stored e-mail consent is true the file says
``Freely given consent from contact``, and leaves it blank for a consent assumed with
``--assume-consent``.

Several segments go into one file through the custom contact property ``Segmint segment``
(single-line text, created once in HubSpot or while mapping the import); each row holds its
customer's one segment of the segmentation, written as is, so importing it again replaces
the old value rather than adding to it. An active list "Segmint segment is equal to …" then
holds one group. The rendered message becomes two more custom properties, usable as
personalization tokens.
"""

from segmint.activate.exporters._base import Column, Exporter

EXPORTER = Exporter(
    name="hubspot",
    title="HubSpot contacts import",
    audience="email",
    columns=(
        Column("Email", "email", exact=True),
        Column("First name", "first_name"),
        Column("Last name", "last_name"),
        Column("Phone number", "phone", exact=True),
        Column(
            "Legal basis for processing contact's data",
            "CASE WHEN consent_email IS TRUE THEN 'Freely given consent from contact' END",
            exact=True,
        ),
        Column("Segmint segment", "segment_name"),
    ),
    identifier="email IS NOT NULL",
    identifier_words="a valid e-mail address",
    source="https://knowledge.hubspot.com/import-and-export/set-up-your-import-file",
    segment_column="Segmint segment",
    template_columns=("Segmint message subject", "Segmint message body"),
)
