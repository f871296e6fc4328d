"""Value standardizers: phone numbers → E.164, countries → ISO 3166-1 alpha-2, e-mails.

Each function works on the *distinct* values of a column: the caller fetches them from DuckDB,
maps them here and joins the mapping back, so a column of ten million rows with ten thousand
distinct phone numbers costs ten thousand parses. Every result is a :class:`Standardized`: the
standardized value, or ``None`` with a short human ``reason`` when the value is invalid. A
missing value (``None`` or blank) is not invalid: it maps to ``Standardized(None, None)``.

E-mails are cheap enough to standardize in SQL: :data:`EMAIL_SQL` and :data:`EMAIL_VALID_SQL`
are DuckDB templates (fill them with ``str.format(col='"email"')``) and
:func:`standardize_emails` applies the very same rules in Python.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
import pycountry
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

__all__ = [
    "EMAIL_SQL",
    "EMAIL_VALID_SQL",
    "Standardized",
    "standardize_countries",
    "standardize_emails",
    "standardize_phones",
]


@dataclass(frozen=True)
class Standardized:
    """One standardized value: ``value`` is ``None`` when invalid or empty; ``reason`` says why."""

    value: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the value is usable (standardized, not invalid, not empty)."""
        return self.value is not None


_EMPTY = Standardized(None, None)

# ---------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------

# The first character of the number itself: "+" or a digit (phonenumbers skips what precedes
# it, such as "tel:" or "Phone: ").
_LEAD = re.compile(r"[+\d]")
# "00", the ITU international call prefix, in place of "+": "0049 30 1234567", "00 44 20 …".
_DOUBLE_ZERO = re.compile(r"00[\s.-]*(?=[1-9])")
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short (area code missing?)",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.INVALID_LENGTH: "wrong length",
    ValidationResult.TOO_LONG: "too long",
}
_PARSE_TOO_SHORT = (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD)


def _phone_region(country: str | None, default_region: str | None) -> str | None:
    """The region hint for national numbers: the row's country, else the default region."""
    for candidate in (country, default_region):
        if candidate is None:
            continue
        code = candidate.strip().upper()
        if code in phonenumbers.SUPPORTED_REGIONS:
            return code
        # Be lenient with a country column that has not been standardized yet ("Germany").
        found = _lookup_country(candidate)
        if found is not None and found.value in phonenumbers.SUPPORTED_REGIONS:
            return found.value
    return None


def _standardize_phone(raw: str | None, region: str | None) -> Standardized:
    if raw is None:
        return _EMPTY
    text = str(raw).strip()
    if not text:
        return _EMPTY
    lead = _LEAD.search(text)
    if lead is None:
        return Standardized(None, "not a phone number (no digits)")
    start = lead.start()
    international = text[start] == "+"
    if not international and _DOUBLE_ZERO.match(text, start):
        text = "+" + _DOUBLE_ZERO.sub("", text[start:], count=1)
        international = True
    where = "" if international or region is None else f" for region {region}"
    try:
        number = phonenumbers.parse(text, None if international else region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            if international:
                return Standardized(None, "unknown country calling code")
            return Standardized(
                None, "national number but no country given (add a country or a default region)"
            )
        if exc.error_type == NumberParseException.TOO_LONG:
            return Standardized(None, f"not a phone number{where}: too long")
        if exc.error_type in _PARSE_TOO_SHORT:
            return Standardized(None, f"not a phone number{where}: too short")
        return Standardized(None, f"not a phone number{where}")
    if phonenumbers.is_valid_number(number):
        return Standardized(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    detail = _POSSIBLE_REASONS.get(phonenumbers.is_possible_number_with_reason(number))
    if international:
        where = f" for country code +{number.country_code}"
    if detail:
        return Standardized(None, f"not a phone number{where}: {detail}")
    return Standardized(None, f"not a phone number{where}")


def standardize_phones(
    pairs: Iterable[tuple[str | None, str | None]], default_region: str | None = None
) -> dict[tuple[str | None, str | None], Standardized]:
    """Map distinct ``(raw phone, country)`` pairs to E.164 (``+4930123456``).

    The country (ISO alpha-2; a country name is accepted too) is the region hint for national
    numbers such as ``030 1234567``; without one, ``default_region`` is used. Numbers written
    internationally (``+49 …``, ``0049 …``, ``tel:+49-…``) parse without a region. Spaces, dots,
    dashes, slashes, parentheses, a ``(0)`` trunk prefix and extensions (``ext. 12``, ``x12``)
    are understood; the extension is not part of E.164 and is dropped. A number that
    ``phonenumbers`` cannot parse or does not consider valid maps to ``None`` with a reason.
    """
    out: dict[tuple[str | None, str | None], Standardized] = {}
    regions: dict[str | None, str | None] = {}
    for pair in pairs:
        if pair in out:
            continue
        raw, country = pair
        if country not in regions:
            regions[country] = _phone_region(country, default_region)
        out[pair] = _standardize_phone(raw, regions[country])
    return out


# ---------------------------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------------------------

#: Common spellings that are not ISO 3166 names or codes. Keys are compared after
#: :func:`_country_key` (case, accents, dots and extra spaces do not matter).
COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states of america": "US",
    "america": "US",
    "eire": "IE",
    "republic of ireland": "IE",
    "holland": "NL",
    "the netherlands": "NL",
    "rsa": "ZA",
    "korea": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "czech republic": "CZ",
    "vietnam": "VN",
    "iran": "IR",
    "turkey": "TR",
    "turkiye": "TR",
    "uae": "AE",
    "the gambia": "GM",
    "ivory coast": "CI",
    "cape verde": "CV",
    "swaziland": "SZ",
    "macedonia": "MK",
    "burma": "MM",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "brunei": "BN",
    "micronesia": "FM",
    "macau": "MO",
    "east timor": "TL",
    # Native names often found in shop exports.
    "deutschland": "DE",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "espana": "ES",
    "italia": "IT",
    "nederland": "NL",
    "belgique": "BE",
    "belgie": "BE",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "polska": "PL",
    "cesko": "CZ",
    "brasil": "BR",
    "mexico": "MX",
}

#: Values that are recognisably not one country: they map to ``None`` with this reason.
COUNTRY_REJECTS: dict[str, str] = {
    "channel islands": "not a single country (Jersey JE / Guernsey GG)",
    "european community": "a region, not a country",
    "european union": "a region, not a country",
    "eu": "a region, not a country",
    "europe": "a region, not a country",
    "unspecified": "country not given",
    "unknown": "country not given",
    "not specified": "country not given",
    "n/a": "country not given",
    "none": "country not given",
}

_UNKNOWN_COUNTRY = "unknown country name"
_COUNTRY_TABLE: dict[str, Standardized] | None = None


def _country_key(value: str) -> str:
    """Case, accent, whitespace and punctuation-spacing insensitive lookup key."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").casefold()
    return " ".join(text.split())


def _country_table() -> dict[str, Standardized]:
    """Every accepted spelling → result; built once, on first use."""
    global _COUNTRY_TABLE
    if _COUNTRY_TABLE is not None:
        return _COUNTRY_TABLE
    table: dict[str, Standardized] = {}
    for country in pycountry.countries:
        code = Standardized(country.alpha_2)
        numeric = str(country.numeric)
        spellings = [country.alpha_2, country.alpha_3, numeric, numeric.lstrip("0")]
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                spellings.append(name)
                # "Korea, Republic of" is also written "Republic of Korea".
                if ", " in name:
                    head, _, tail = name.partition(", ")
                    spellings.append(f"{tail} {head}")
        for spelling in spellings:
            table.setdefault(_country_key(spelling), code)
    for alias, alpha_2 in COUNTRY_ALIASES.items():
        table[_country_key(alias)] = Standardized(alpha_2)
    for alias, reason in COUNTRY_REJECTS.items():
        table[_country_key(alias)] = Standardized(None, reason)
    _COUNTRY_TABLE = table
    return table


def _lookup_country(value: str) -> Standardized | None:
    """The result for a non-blank value, or ``None`` when the spelling is unknown."""
    table = _country_table()
    key = _country_key(value)
    found = table.get(key)
    if found is None and "." in key:
        # "U.S.A", "U. K." — dotted abbreviations without the last dot or with spaces.
        found = table.get(key.replace(" ", "").replace(".", ""))
    if found is None and key.startswith("the "):
        found = table.get(key[4:])
    return found


def standardize_countries(values: Iterable[str | None]) -> dict[str | None, Standardized]:
    """Map distinct country values to ISO 3166-1 alpha-2 codes (``GB``, ``US``, ``DE``).

    Accepted: alpha-2, alpha-3 and numeric codes, official and common English names (any
    case, accents and extra whitespace ignored) and the aliases in :data:`COUNTRY_ALIASES`
    (``UK``, ``EIRE``, ``RSA``, ``Holland`` …). Nothing is guessed: an unknown spelling maps to
    ``None`` with the reason ``"unknown country name"``; values that are not one country
    (``Channel Islands``, ``European Community``, ``Unspecified``) map to ``None`` with a reason
    of their own.
    """
    out: dict[str | None, Standardized] = {}
    for value in values:
        if value in out:
            continue
        if value is None or not str(value).strip():
            out[value] = _EMPTY
            continue
        found = _lookup_country(str(value))
        out[value] = found if found is not None else Standardized(None, _UNKNOWN_COUNTRY)
    return out


# ---------------------------------------------------------------------------------------------
# E-mails
# ---------------------------------------------------------------------------------------------

# Characters trimmed from both ends: space, tab, LF, VT, FF, CR and the no-break space that
# copy-paste from web pages and spreadsheets brings along.
_EMAIL_TRIM = " \t\n\x0b\x0c\r\u00a0"
_EMAIL_TRIM_SQL = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160)"
_EMAIL_MAX = 254

# local@domain.tld: dot-atom local part (no leading, trailing or double dots), domain labels of
# letters, digits and inner hyphens, and a top-level domain of at least two letters. The same
# pattern runs in Python (re.fullmatch) and DuckDB (RE2, regexp_full_match).
_LOCAL_CHARS = "a-z0-9!#$%&'*+/=?^_`{|}~-"
EMAIL_PATTERN = (
    f"[{_LOCAL_CHARS}]+(\\.[{_LOCAL_CHARS}]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{{2,}}"
)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def _sql_fmt(text: str) -> str:
    """Escape text for an SQL string literal inside a ``str.format`` template."""
    return text.replace("'", "''").replace("{", "{{").replace("}", "}}")


#: DuckDB SQL: the trimmed, lower-cased e-mail (NULL stays NULL). ``.format(col='"email"')``.
EMAIL_SQL = f"lower(trim({{col}}, {_EMAIL_TRIM_SQL}))"

#: DuckDB SQL: true when the trimmed, lower-cased value looks like a valid address; false
#: otherwise, also for NULL and blank values. ``.format(col='"email"')``.
EMAIL_VALID_SQL = (
    f"coalesce(length({EMAIL_SQL}) <= {_EMAIL_MAX} "
    f"AND regexp_full_match({EMAIL_SQL}, '{_sql_fmt(EMAIL_PATTERN)}'), false)"
)


def _email_reason(text: str) -> str:
    """Why a trimmed, lower-cased, non-matching address is invalid (most telling first)."""
    if any(ch.isspace() for ch in text):
        return "contains spaces"
    n_at = text.count("@")
    if n_at == 0:
        return "no @"
    if n_at > 1:
        return "more than one @"
    local, domain = text.split("@")
    if not local:
        return "nothing before the @"
    if not domain:
        return "nothing after the @"
    if len(text) > _EMAIL_MAX:
        return f"longer than {_EMAIL_MAX} characters"
    if "." not in domain:
        return "no dot in the domain"
    tld = domain.rsplit(".", 1)[1]
    if len(tld) < 2 or not tld.isascii() or not tld.isalpha():
        return "top-level domain is not two or more letters"
    return "not a valid e-mail address"


def _standardize_email(raw: str | None) -> Standardized:
    if raw is None:
        return _EMPTY
    text = str(raw).strip(_EMAIL_TRIM).lower()
    if not text:
        return _EMPTY
    if len(text) <= _EMAIL_MAX and _EMAIL_RE.fullmatch(text):
        return Standardized(text)
    return Standardized(None, _email_reason(text))


def standardize_emails(values: Iterable[str | None]) -> dict[str | None, Standardized]:
    """Map distinct e-mails to their trimmed, lower-cased form; invalid ones to ``None``.

    The rules are those of :data:`EMAIL_SQL` / :data:`EMAIL_VALID_SQL`: one ``@``, no spaces, a
    dot in the domain and a top-level domain of at least two letters.
    """
    out: dict[str | None, Standardized] = {}
    for value in values:
        if value not in out:
            out[value] = _standardize_email(value)
    return out
