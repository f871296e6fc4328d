"""Value standardizers: phones → E.164, countries → ISO alpha-2, e-mails (Python and SQL)."""

from __future__ import annotations

import duckdb
import pytest

from segmint.clean.standardize import (
    EMAIL_SQL,
    EMAIL_VALID_SQL,
    Standardized,
    standardize_countries,
    standardize_emails,
    standardize_phones,
)

# ---------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------

VALID_PHONES = [
    # Germany, national forms with the country as region hint
    ("030 1234567", "DE", "+49301234567"),
    ("030/1234567", "DE", "+49301234567"),
    ("030-123 45 67", "DE", "+49301234567"),
    ("(030) 1234567", "DE", "+49301234567"),
    ("030.1234567", "DE", "+49301234567"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("  0151-234 567 89  ", "de", "+4915123456789"),
    # Germany, international forms (no region needed; a conflicting hint is ignored)
    ("+49 30 1234567", None, "+49301234567"),
    ("+49 (0)30 1234567", None, "+49301234567"),
    ("+49-30-1234567", "US", "+49301234567"),
    ("0049 30 1234567", None, "+49301234567"),
    ("0049 (0)30 1234567", None, "+49301234567"),
    ("(0049) 30 1234567", None, "+49301234567"),
    ("00 49 151 23456789", None, "+4915123456789"),
    ("+4915123456789", None, "+4915123456789"),
    ("tel:+49-30-1234567", None, "+49301234567"),
    ("tel:+49-30-1234567;ext=12", None, "+49301234567"),
    ("Tel: 0049 30 1234567", None, "+49301234567"),
    # United Kingdom
    ("020 7946 0958", "GB", "+442079460958"),
    ("(020) 7946 0958", "GB", "+442079460958"),
    ("+44 20 7946 0958", None, "+442079460958"),
    ("+44 (0) 20 7946 0958", None, "+442079460958"),
    ("0044 20 7946 0958", None, "+442079460958"),
    ("07911 123456", "GB", "+447911123456"),
    ("+44 7911 123456", None, "+447911123456"),
    # United States
    ("(202) 555-0173", "US", "+12025550173"),
    ("202.555.0173", "US", "+12025550173"),
    ("202-555-0173", "US", "+12025550173"),
    ("1 (202) 555-0173", "US", "+12025550173"),
    ("+1 202-555-0173", None, "+12025550173"),
    ("+1 202-555-0173 ext. 123", None, "+12025550173"),
    ("202-555-0173 x45", "US", "+12025550173"),
    ("202 555 0173 extension 9", "US", "+12025550173"),
    ("001 202 555 0173", None, "+12025550173"),
    ("1-800-FLOWERS", "US", "+18003569377"),
    # Other countries
    ("+353 1 234 5678", None, "+35312345678"),
    ("01 23 45 67 89", "FR", "+33123456789"),
    ("+33 6 12 34 56 78", None, "+33612345678"),
]


@pytest.mark.parametrize(("raw", "country", "expected"), VALID_PHONES)
def test_phone_valid(raw: str, country: str | None, expected: str) -> None:
    result = standardize_phones([(raw, country)])[(raw, country)]
    assert result == Standardized(expected, None)
    assert result.ok


INVALID_PHONES = [
    ("12", "DE", "for region DE"),
    ("030 12", "DE", "for region DE"),
    ("07700 900123", "GB", "for region GB"),  # Ofcom drama range: not a real number
    ("+49 123", None, "+49"),
    ("+1 555 555 5555", None, "+1"),
    ("+49 30 12345678901234567", None, "too long"),
    ("+999 1234567", None, "unknown country calling code"),
    ("abc", "DE", "no digits"),
    ("n/a", "GB", "no digits"),
    ("030 1234567", None, "no country given"),
    ("0151 23456789", "XX", "no country given"),
]


@pytest.mark.parametrize(("raw", "country", "reason_part"), INVALID_PHONES)
def test_phone_invalid_has_reason(raw: str, country: str | None, reason_part: str) -> None:
    result = standardize_phones([(raw, country)])[(raw, country)]
    assert result.value is None
    assert result.reason is not None
    assert reason_part in result.reason
    assert result.reason.startswith(("not a phone number", "national number", "unknown"))


def test_phone_reason_names_region() -> None:
    result = standardize_phones([("12", "DE")])[("12", "DE")]
    assert result.reason is not None
    assert result.reason.startswith("not a phone number for region DE")


def test_phone_empty_is_missing_not_invalid() -> None:
    results = standardize_phones([(None, "DE"), ("", None), ("   ", "GB")])
    assert all(r == Standardized(None, None) for r in results.values())
    assert len(results) == 3


def test_phone_default_region() -> None:
    pairs = [("030 1234567", None), ("020 7946 0958", "GB"), ("+1 202-555-0173", None)]
    results = standardize_phones(pairs, default_region="DE")
    assert results[("030 1234567", None)].value == "+49301234567"
    # the row's own country wins over the default
    assert results[("020 7946 0958", "GB")].value == "+442079460958"
    assert results[("+1 202-555-0173", None)].value == "+12025550173"


def test_phone_country_hint_accepts_names_and_bad_codes_fall_back() -> None:
    results = standardize_phones(
        [("030 1234567", "Germany"), ("030 1234567", "XX"), ("020 7946 0958", "United Kingdom")],
        default_region="DE",
    )
    assert results[("030 1234567", "Germany")].value == "+49301234567"
    assert results[("030 1234567", "XX")].value == "+49301234567"
    assert results[("020 7946 0958", "United Kingdom")].value == "+442079460958"


def test_phone_keys_are_the_input_pairs() -> None:
    pairs = [("030 1234567", "DE"), ("030 1234567", "DE"), ("+49 30 1234567", None)]
    results = standardize_phones(iter(pairs))
    assert list(results) == [("030 1234567", "DE"), ("+49 30 1234567", None)]


def test_phones_100k_distinct() -> None:
    pairs: list[tuple[str | None, str | None]] = []
    for i in range(25_000):
        pairs.append((f"030 {1_000_000 + i}", "DE"))
        pairs.append((f"+44 20 7946 {i:05d}", None))
        pairs.append((f"(202) 555-{i:04d} x{i // 9999}", "US"))
        pairs.append((f"0049 151 {10_000_000 + i}", None))
    assert len(set(pairs)) == 100_000
    # speed is measured in bench/ (clean standardizes every phone), not timed here
    results = standardize_phones(pairs)
    assert len(results) == 100_000
    assert results[("030 1000000", "DE")].value == "+49301000000"


# ---------------------------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------------------------

# Every country spelling of the UCI Online Retail data set.
ONLINE_RETAIL = {
    "United Kingdom": "GB",
    "France": "FR",
    "Australia": "AU",
    "Netherlands": "NL",
    "Germany": "DE",
    "Norway": "NO",
    "EIRE": "IE",
    "Switzerland": "CH",
    "Spain": "ES",
    "Poland": "PL",
    "Portugal": "PT",
    "Italy": "IT",
    "Belgium": "BE",
    "Lithuania": "LT",
    "Japan": "JP",
    "Iceland": "IS",
    "Denmark": "DK",
    "Cyprus": "CY",
    "Sweden": "SE",
    "Austria": "AT",
    "Israel": "IL",
    "Finland": "FI",
    "Greece": "GR",
    "Singapore": "SG",
    "Lebanon": "LB",
    "United Arab Emirates": "AE",
    "Saudi Arabia": "SA",
    "Czech Republic": "CZ",
    "Canada": "CA",
    "Brazil": "BR",
    "USA": "US",
    "Bahrain": "BH",
    "Malta": "MT",
    "RSA": "ZA",
}


def test_countries_online_retail() -> None:
    results = standardize_countries(ONLINE_RETAIL)
    got = {k: v.value for k, v in results.items()}
    assert got == ONLINE_RETAIL
    assert all(v.reason is None for v in results.values())


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("Channel Islands", "not a single country (Jersey JE / Guernsey GG)"),
        ("European Community", "a region, not a country"),
        ("EU", "a region, not a country"),
        ("Unspecified", "country not given"),
        ("Unknown", "country not given"),
        ("unspecified ", "country not given"),
    ],
)
def test_countries_online_retail_non_countries(raw: str, reason: str) -> None:
    assert standardize_countries([raw])[raw] == Standardized(None, reason)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # codes
        ("DE", "DE"),
        ("de", "DE"),
        (" gb ", "GB"),
        ("DEU", "DE"),
        ("gbr", "GB"),
        ("USA", "US"),
        ("276", "DE"),
        ("826", "GB"),
        ("076", "BR"),
        ("76", "BR"),
        ("NA", "NA"),  # Namibia, not "n/a"
        # official and common names, any case and spacing
        ("germany", "DE"),
        ("GERMANY", "DE"),
        ("  United   Kingdom ", "GB"),
        ("United Kingdom of Great Britain and Northern Ireland", "GB"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("Korea, Republic of", "KR"),
        ("Republic of Korea", "KR"),
        ("Iran, Islamic Republic of", "IR"),
        ("Viet Nam", "VN"),
        ("Czechia", "CZ"),
        ("Russian Federation", "RU"),
        ("Kingdom of the Netherlands", "NL"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("Cote d’Ivoire", "CI"),
        ("Bolivia", "BO"),
        ("Taiwan", "TW"),
        ("Türkiye", "TR"),
        # aliases
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("Northern Ireland", "GB"),
        ("U.S.A.", "US"),
        ("u.s.a", "US"),
        ("America", "US"),
        ("Eire", "IE"),
        ("Republic of Ireland", "IE"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("RSA", "ZA"),
        ("Korea", "KR"),
        ("South Korea", "KR"),
        ("Russia", "RU"),
        ("Czech Republic", "CZ"),
        ("Vietnam", "VN"),
        ("Iran", "IR"),
        ("Turkey", "TR"),
        ("Turkiye", "TR"),
        ("TÜRKIYE", "TR"),
        ("Deutschland", "DE"),
        ("Österreich", "AT"),
    ],
)
def test_countries_valid(raw: str, expected: str) -> None:
    assert standardize_countries([raw])[raw] == Standardized(expected, None)


@pytest.mark.parametrize(
    "raw",
    ["Narnia", "Germny", "Untied Kingdom", "Frnace", "Europa Land", "XX", "ZZZ", "999", "G B"],
)
def test_countries_never_fuzzy(raw: str) -> None:
    assert standardize_countries([raw])[raw] == Standardized(None, "unknown country name")


def test_countries_empty_is_missing() -> None:
    results = standardize_countries([None, "", "   "])
    assert all(v == Standardized(None, None) for v in results.values())


def test_countries_many_values() -> None:
    values = [f"Country {i}" for i in range(20_000)] + list(ONLINE_RETAIL)
    results = standardize_countries(values)
    assert results["Country 7"].reason == "unknown country name"
    assert results["EIRE"].value == "IE"


# ---------------------------------------------------------------------------------------------
# E-mails
# ---------------------------------------------------------------------------------------------

EMAILS: list[tuple[str | None, str | None]] = [
    # (raw, expected standardized value or None when invalid/empty)
    ("alice@example.com", "alice@example.com"),
    ("  Alice@Example.COM ", "alice@example.com"),
    ("\tbob.smith@mail.example.co.uk\n", "bob.smith@mail.example.co.uk"),
    ("\u00a0carol@example.org\u00a0", "carol@example.org"),
    ("first.last+tag@sub.example.de", "first.last+tag@sub.example.de"),
    ("o'brien@example.ie", "o'brien@example.ie"),
    ("user_name-1@my-domain.io", "user_name-1@my-domain.io"),
    ("x@y.museum", "x@y.museum"),
    ("123@456.example.com", "123@456.example.com"),
    ("a{b}|c@example.com", "a{b}|c@example.com"),
    ("weird#$%&*/=?^`~!@example.net", "weird#$%&*/=?^`~!@example.net"),
    ("info@xn--mnchen-3ya.de", "info@xn--mnchen-3ya.de"),
    ("plainaddress", None),
    ("@example.com", None),
    ("alice@", None),
    ("alice@example", None),
    ("alice@@example.com", None),
    ("alice@bob@example.com", None),
    ("alice smith@example.com", None),
    ("alice@exa mple.com", None),
    ("alice@example.c", None),
    ("alice@example.c0m", None),
    ("alice@example.123", None),
    ("alice@example..com", None),
    ("alice@.example.com", None),
    ("alice@-example.com", None),
    ("alice@example-.com", None),
    (".alice@example.com", None),
    ("alice.@example.com", None),
    ("al..ice@example.com", None),
    ("alice@example.com.", None),
    ("alice(at)example.com", None),
    ("Alice <alice@example.com>", None),
    ("müller@example.de", None),
    ("alice@exämple.de", None),
    ("alice,bob@example.com", None),
    ('"quoted"@example.com', None),
    ("alice@example.com\nbob@example.com", None),
    ("a@b.co", "a@b.co"),
    ("a" * 64 + "@" + "b" * 185 + ".com", "a" * 64 + "@" + "b" * 185 + ".com"),
    ("a" * 64 + "@" + "b" * 190 + ".com", None),
    ("", None),
    ("   ", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), EMAILS)
def test_email_python(raw: str | None, expected: str | None) -> None:
    result = standardize_emails([raw])[raw]
    assert result.value == expected
    blank = raw is None or not raw.strip()
    if expected is None and not blank:
        assert result.reason, raw
    else:
        assert result.reason is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("plainaddress", "no @"),
        ("a@@b.de", "more than one @"),
        ("a b@c.de", "contains spaces"),
        ("@x.de", "nothing before the @"),
        ("x@", "nothing after the @"),
        ("a@b", "no dot in the domain"),
        ("a@b.c", "top-level domain is not two or more letters"),
        ("a@b.c1", "top-level domain is not two or more letters"),
        ("a..b@c.de", "not a valid e-mail address"),
    ],
)
def test_email_reasons(raw: str, reason: str) -> None:
    assert standardize_emails([raw])[raw] == Standardized(None, reason)


def test_email_sql_agrees_with_python() -> None:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INTEGER, e VARCHAR)")
        con.executemany(
            "INSERT INTO t VALUES (?, ?)", [[i, raw] for i, (raw, _) in enumerate(EMAILS)]
        )
        rows = con.execute(
            f"SELECT i, {EMAIL_SQL.format(col='e')}, {EMAIL_VALID_SQL.format(col='e')} "
            "FROM t ORDER BY i"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == len(EMAILS) >= 30
    python = standardize_emails(raw for raw, _ in EMAILS)
    for i, cleaned, valid in rows:
        raw = EMAILS[i][0]
        result = python[raw]
        assert valid is (result.value is not None), (raw, valid, result)
        assert valid is (EMAILS[i][1] is not None), raw
        if valid:
            assert cleaned == result.value
        if raw is None:
            assert cleaned is None


def test_email_sql_with_quoted_identifier() -> None:
    sql = (
        f"SELECT {EMAIL_SQL.format(col=chr(34) + 'E-Mail' + chr(34))}, "
        f"{EMAIL_VALID_SQL.format(col=chr(34) + 'E-Mail' + chr(34))} "
        "FROM (SELECT ' X@Y.DE ' AS \"E-Mail\")"
    )
    con = duckdb.connect()
    try:
        assert con.execute(sql).fetchall() == [("x@y.de", True)]
    finally:
        con.close()
