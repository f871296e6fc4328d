"""Google Ads Customer Match: a customer list (CSV) uploaded in Google Ads' Audience manager.

Headers exactly ``Email, Phone, First Name, Last Name, Country, Zip`` (Google's template;
English headers are required). Identifiers are normalized as Google's formatting guidelines
say and then SHA-256-hashed as lowercase hex:

========== =================================================================================
header     normalized as
========== =================================================================================
Email      trimmed, lower-cased (contacts does both). Gmail dots are kept: removing them is
           a rule of enhanced conversions and Campaign Manager 360, not of Customer Match
Phone      E.164 with its ``+`` (``+1 800 5550101`` → ``+18005550101``), from the cleaned
           phone and the customer's country. Meta's phone has no ``+``: the two hashes
           differ and are never reused for each other
First Name lower-cased, trimmed, one space between words, Unicode NFC; accents kept
Last Name  (``Zoë Pérez`` → ``zoë``, ``pérez``, as in Google's own template)
Country    ISO 3166-1 alpha-2, never hashed
Zip        the postal code as given (trimmed), never hashed
========== =================================================================================

A row matches on an e-mail, a phone, or the whole mailing address (first and last name,
country and zip together: Google ignores a partial address).
"""

from segmint.activate.exporters._base import Column, Exporter

#: names: lower-cased in NFC, so ``é`` typed as e + combining accent hashes like ``é``
FIRST, LAST = "lower(nfc_normalize(first_name))", "lower(nfc_normalize(last_name))"

EXPORTER = Exporter(
    name="google-ads",
    title="Google Ads Customer Match",
    audience="ads",
    columns=(
        Column("Email", "email", hash=True, exact=True),
        Column("Phone", "phone", hash=True, exact=True),
        Column("First Name", FIRST, hash=True),
        Column("Last Name", LAST, hash=True),
        Column("Country", "country", exact=True),
        Column("Zip", "postal_code"),
    ),
    identifier="email IS NOT NULL OR phone IS NOT NULL OR (first_name IS NOT NULL AND "
    "last_name IS NOT NULL AND country IS NOT NULL AND postal_code IS NOT NULL)",
    identifier_words="an e-mail, a phone, or first name, last name, country and zip together",
    source="https://support.google.com/google-ads/answer/7659867",
    min_size=100,
    hashable=True,
    notes=(
        "Upload in Google Ads: Tools > Shared library > Audience manager > Customer lists.",
        "Country and Zip are never hashed (Google hashes only Email, Phone and names).",
    ),
)
