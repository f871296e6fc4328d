"""Klaviyo: a CSV uploaded to a list (Audience > Lists & Segments > Import contacts).

Why these columns: Klaviyo reads the first column as the profile's identifier, headed
``Email`` (or ``Email Address`` / ``Phone Number``), and maps a column to one of its own
properties when the header is that property's name (``Phone Number``, ``First Name``,
``Last Name``). Consent is imported per row in the columns Klaviyo documents for that,
``Email Marketing Consent`` and ``SMS Marketing Consent``, whose values are a subscription
status; a blank cell means "Never subscribed". segmint writes ``Subscribed`` only where the
customer's stored consent is true, and leaves the cell blank otherwise: a consent assumed with
``--assume-consent`` is not reported to Klaviyo as a subscription, and ``false`` is not turned
into "Unsubscribed", which would claim an earlier opt-in. SMS consent needs a phone number
(E.164, so the country code Klaviyo asks for is in it).

Several segments go into one file through the custom profile property ``segmint_segment`` (the
segment's name); a Klaviyo segment "Properties about someone: segmint_segment equals …" then
picks one group out of the list. The rendered message becomes two more custom properties.
"""

from segmint.activate.exporters._base import Column, Exporter

EXPORTER = Exporter(
    name="klaviyo",
    title="Klaviyo list import",
    audience="email",
    columns=(
        Column("Email", "email", exact=True),
        Column("Phone Number", "phone", exact=True),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column(
            "Email Marketing Consent",
            "CASE WHEN consent_email IS TRUE THEN 'Subscribed' END",
            exact=True,
        ),
        Column(
            "SMS Marketing Consent",
            "CASE WHEN consent_sms IS TRUE AND phone IS NOT NULL THEN 'Subscribed' END",
            exact=True,
        ),
        Column("segmint_segment", "segment_name"),
    ),
    identifier="email IS NOT NULL",
    identifier_words="a valid e-mail address",
    source="https://help.klaviyo.com/hc/en-us/articles/360043841811",
    segment_column="segmint_segment",
    template_columns=("segmint_subject", "segmint_body"),
    notes=(
        "Email Marketing Consent / SMS Marketing Consent: 'Subscribed' where the stored "
        "consent is true, blank (Klaviyo: Never subscribed) otherwise.",
    ),
)
