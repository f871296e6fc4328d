"""Meta Custom Audiences: a customer list (CSV) uploaded in Ads Manager's Audiences.

Meta matches on its own hashes of what its users gave it, so a value matches only when it
is normalized byte for byte as Meta's "Hashing and Normalizing Data" table says (Marketing
API, Customer File Custom Audiences). The rules, as SQL over the export's contacts:

========== =================================================================================
header     normalized as
========== =================================================================================
email      trimmed, lower-cased (contacts does both)
phone      digits only with the country code, no ``+``: the contact's E.164 number without
           its ``+`` (``+1 800 5550101`` → ``18005550101``). Google keeps the ``+``, so the
           two platforms' phone hashes differ and are never reused for each other
fn, ln     lower-cased, punctuation removed, one space between words, Unicode NFC. Meta
           accepts special characters only in names and recommends the Roman-alphabet form
           for the best match, so a name written in Latin letters loses its accents
           (``Zoë`` → ``zoe``, ``Łukasz`` → ``lukasz``, ``Straße`` → ``strasse``); a name in
           another script (``Дмитрий``, ``李小龍``) is kept in it, lower-cased, as UTF-8
ct         a-z only: accents removed, then anything else (spaces, digits, punctuation)
           dropped (``São Paulo`` → ``saopaulo``); a city in another script is left empty
st         US: the 2-letter ANSI code in lowercase, from a code or a full state name
           (``New York`` → ``ny``), else empty; elsewhere the region as a-z only, like ct
zip        lowercase without white space; US: the first 5 digits (a 3- or 4-digit US zip
           lost its leading zeros in a spreadsheet and gets them back)
country    ISO 3166-1 alpha-2, lowercase
doby       the 4-digit year of birth, 1900 to this year
gen        ``m`` or ``f``
extern_id  the customer id, never hashed (Meta keeps the mapping 90 days per ad account)
========== =================================================================================

Every column but ``extern_id`` is SHA-256 (lowercase hex) when hashed. ``madid`` (mobile
advertiser id) is left out: segmint holds no device ids, and an always-empty column is a gap
Meta's upload page asks to avoid. A row needs an e-mail, a phone, or a first and last name
with a zip, a city or a birth year.
"""

from segmint.activate.exporters._base import Column, Exporter

#: Latin letters that have no accent to strip (Unicode does not decompose them)
_ROMAN = (
    ("ß", "ss"),
    ("æ", "ae"),
    ("œ", "oe"),
    ("ø", "o"),
    ("ł", "l"),
    ("đ", "d"),
    ("ð", "d"),
    ("þ", "th"),
    ("ı", "i"),
)

#: US states, DC and the inhabited territories: ANSI/FIPS 5-2 alpha codes by name
US_STATES = {
    "alabama": "al",
    "alaska": "ak",
    "arizona": "az",
    "arkansas": "ar",
    "california": "ca",
    "colorado": "co",
    "connecticut": "ct",
    "delaware": "de",
    "districtofcolumbia": "dc",
    "washingtondc": "dc",
    "florida": "fl",
    "georgia": "ga",
    "hawaii": "hi",
    "idaho": "id",
    "illinois": "il",
    "indiana": "in",
    "iowa": "ia",
    "kansas": "ks",
    "kentucky": "ky",
    "louisiana": "la",
    "maine": "me",
    "maryland": "md",
    "massachusetts": "ma",
    "michigan": "mi",
    "minnesota": "mn",
    "mississippi": "ms",
    "missouri": "mo",
    "montana": "mt",
    "nebraska": "ne",
    "nevada": "nv",
    "newhampshire": "nh",
    "newjersey": "nj",
    "newmexico": "nm",
    "newyork": "ny",
    "northcarolina": "nc",
    "northdakota": "nd",
    "ohio": "oh",
    "oklahoma": "ok",
    "oregon": "or",
    "pennsylvania": "pa",
    "rhodeisland": "ri",
    "southcarolina": "sc",
    "southdakota": "sd",
    "tennessee": "tn",
    "texas": "tx",
    "utah": "ut",
    "vermont": "vt",
    "virginia": "va",
    "washington": "wa",
    "westvirginia": "wv",
    "wisconsin": "wi",
    "wyoming": "wy",
    "americansamoa": "as",
    "guam": "gu",
    "northernmarianaislands": "mp",
    "puertorico": "pr",
    "virginislands": "vi",
    "usvirginislands": "vi",
}


def _roman(sql: str) -> str:
    """Lower-cased Latin text without accents, the undecomposable letters spelled out."""
    out = f"strip_accents(lower(nfc_normalize({sql})))"
    for letter, spelled in _ROMAN:
        out = f"replace({out}, '{letter}', '{spelled}')"
    return out


def _letters(sql: str) -> str:
    """a-z only (Meta's rule for city and non-US state); NULL when nothing is left."""
    return f"nullif(regexp_replace({_roman(sql)}, '[^a-z]', '', 'g'), '')"


def _name(sql: str) -> str:
    """Meta's fn/ln: lowercase, no punctuation, Roman letters when the name is Latin."""
    low = f"lower(nfc_normalize({sql}))"
    # a letter outside the Latin script: keep the script (Meta accepts UTF-8 names)
    chosen = f"CASE WHEN regexp_matches({low}, '[^\\p{{Latin}}\\P{{L}}]') THEN {low} ELSE {_roman(sql)} END"
    kept = f"regexp_replace({chosen}, '[^\\p{{L}}\\p{{M}}\\p{{N}} ]', '', 'g')"
    return f"nullif(trim(regexp_replace({kept}, ' +', ' ', 'g')), '')"


def _state() -> str:
    """US: the ANSI code from a code or a name (one map lookup); elsewhere a-z only."""
    key = _letters("region")
    pairs = {**US_STATES, **{code: code for code in US_STATES.values()}}
    lookup = "MAP {" + ", ".join(f"'{k}': '{v}'" for k, v in pairs.items()) + "}"
    return f"CASE WHEN country = 'US' THEN map_extract_value({lookup}, {key}) ELSE {key} END"


def _zip() -> str:
    digits = "regexp_replace(postal_code, '[^0-9]', '', 'g')"
    us = (
        f"CASE WHEN length({digits}) >= 5 THEN left({digits}, 5) "
        f"WHEN length({digits}) >= 3 THEN lpad({digits}, 5, '0') END"
    )
    other = "nullif(regexp_replace(lower(postal_code), '\\s', '', 'g'), '')"
    return f"CASE WHEN country = 'US' THEN {us} ELSE {other} END"


FN, LN, CT, ST, ZIP = _name("first_name"), _name("last_name"), _letters("city"), _state(), _zip()
PHONE = "ltrim(phone, '+')"
DOBY = (
    "CASE WHEN TRY_CAST(birth_year AS INTEGER) BETWEEN 1900 AND year(current_date) "
    "THEN CAST(CAST(birth_year AS INTEGER) AS VARCHAR) END"
)

EXPORTER = Exporter(
    name="meta",
    title="Meta Custom Audiences",
    audience="ads",
    columns=(
        Column("email", "email", hash=True, exact=True),
        Column("phone", PHONE, hash=True, exact=True),
        Column("fn", FN, hash=True),
        Column("ln", LN, hash=True),
        Column("ct", CT, hash=True, exact=True),
        Column("st", ST, hash=True, exact=True),
        Column("zip", ZIP, hash=True),
        Column("country", "lower(country)", hash=True, exact=True),
        Column("doby", DOBY, hash=True, exact=True),
        Column("gen", "gender", hash=True, exact=True),
        Column("extern_id", "customer_id"),
    ),
    # on the stored fields (normalizing them again per row would double the cost): a name
    # that normalizes to nothing still counts, the file then just holds less for that row
    identifier="email IS NOT NULL OR phone IS NOT NULL OR (first_name IS NOT NULL AND "
    "last_name IS NOT NULL AND (postal_code IS NOT NULL OR city IS NOT NULL OR "
    "birth_year IS NOT NULL))",
    identifier_words="an e-mail, a phone, or first and last name with a zip, city or birth year",
    source="https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences",
    min_size=100,
    hashable=True,
    notes=(
        "Upload in Ads Manager: Audiences > Create audience > Custom audience > Customer list.",
        "madid is left out: segmint holds no mobile advertiser ids.",
    ),
)
