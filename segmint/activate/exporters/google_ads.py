"""Google Ads Customer Match: a customer list (CSV) uploaded in Google Ads' Audience manager.

Headers exactly ``Email, Phone, First Name, Last Name, Country, Zip``. Identifiers are
normalized as Google's formatting guidelines say (trimmed, lower-cased; names keep their
accents; the phone in E.164 with its ``+``) and SHA-256-hashed as lowercase hex; Country
(ISO alpha-2) and Zip are never hashed. Gmail dots are kept: removing them is a rule of
enhanced conversions, not of Customer Match. A row matches on an e-mail, a phone, or the
whole address (first and last name, country and zip together).
"""

from segmint.activate.exporters._base import Column, Exporter

EXPORTER = Exporter(
    name="google-ads",
    title="Google Ads Customer Match",
    audience="ads",
    columns=(
        Column("Email", "email", hash=True, exact=True),
        Column("Phone", "phone", hash=True, exact=True),
        Column("First Name", "lower(first_name)", hash=True),
        Column("Last Name", "lower(last_name)", hash=True),
        Column("Country", "country", exact=True),
        Column("Zip", "postal_code"),
    ),
    identifier="email IS NOT NULL OR phone IS NOT NULL OR (first_name IS NOT NULL AND "
    "last_name IS NOT NULL AND country IS NOT NULL AND postal_code IS NOT NULL)",
    identifier_words="an e-mail, a phone, or first name, last name, country and zip together",
    source="https://support.google.com/google-ads/answer/7659867",
    min_size=100,
    hashable=True,
)
