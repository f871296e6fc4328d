"""Google Ads Customer Match and Meta Custom Audiences files, end to end.

Each test builds a workspace with a stored segment run (raw, messy customer values, as a user
imports them), runs the real ``export_audience`` and reads the CSV back. Expected values are
the platforms' published examples (Meta's hash table, Google's API example phone, Google's
template names) and hashes computed here with ``hashlib``, independently of DuckDB.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from segmint.activate.export import export_audience
from segmint.activate.exporters import lookup, sha256_hex
from segmint.activate.sensitive import SOURCE, sensitive_terms
from segmint.exceptions import ExportError
from tests.activate_support import make_workspace

GOOGLE_HEADER = ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
META_HEADER = ["email", "phone", "fn", "ln", "ct", "st", "zip", "country", "doby", "gen"]
META_HEADER += ["extern_id"]
HEX64 = re.compile(r"[0-9a-f]{64}")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def customer(cid: str, **fields: object) -> dict[str, object]:
    return {"customer_id": cid, "consent_ads": True, **fields}


def export(tmp_path: Path, rows: list[dict], to: str, **kw: object) -> tuple[list[str], list[dict]]:
    """Export every row (one segment 'A') to ``to``; the header and the rows read back."""
    frame = pd.DataFrame(rows)
    store = make_workspace(
        tmp_path / f"ws-{to}-{len(list(tmp_path.iterdir()))}",
        frame,
        {str(r["customer_id"]): "A" for r in rows},
    )
    out = tmp_path / f"{to}-{len(list(tmp_path.iterdir()))}.csv"
    kw.setdefault("min_size", 0)
    result = export_audience(
        store, segmentation="seg", segments=["A"], destination=to, out=out, **kw
    )
    store.close()
    with out.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        body = [dict(zip(header, line, strict=True)) for line in reader]
    assert result.rows_written == len(body)
    return header, body


def one(tmp_path: Path, to: str, hashed: bool = False, **fields: object) -> dict[str, str]:
    """The single exported row of one customer."""
    _, body = export(tmp_path, [customer("c1", **fields)], to, hashed=hashed)
    assert len(body) == 1
    return body[0]


# --------------------------------------------------------------------------------------------
# headers, hashing, golden vectors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("to", "expected"), [("google-ads", GOOGLE_HEADER), ("meta", META_HEADER)])
def test_file_header_is_exactly_the_platforms(tmp_path, to, expected):
    header, _ = export(tmp_path, [customer("c1", email="a@example.com")], to)
    assert header == expected


def test_email_golden_vector_is_trimmed_lowercased_and_keeps_gmail_dots(tmp_path):
    raw = " Test.User@Gmail.com "
    for to, col in (("google-ads", "Email"), ("meta", "email")):
        assert one(tmp_path, to, email=raw)[col] == "test.user@gmail.com"
        assert one(tmp_path, to, hashed=True, email=raw)[col] == sha("test.user@gmail.com")


def test_meta_published_hash_examples(tmp_path):
    # Meta's "Hashing" table: hash("sha256", "mary@example.com") and of "15559876543"
    row = one(tmp_path, "meta", hashed=True, email="Mary@Example.com")
    assert row["email"] == "f1904cf1a9d73a55fa5de0ac823c4403ded71afd4c3248d00bdcd0866552bb79"
    # +1 555 … is not an assigned US number (contacts drops it), so the phone example is
    # checked on the hash expression every exporter uses
    expr = sha256_hex("'15559876543'")
    got = duckdb.connect().execute(f"SELECT {expr}").fetchone()
    assert got == ("1ef970831d7963307784fa8688e8fce101a15685d62aa765fed23f3a2c576a4e",)


def test_phone_golden_vector_google_keeps_plus_meta_drops_it(tmp_path):
    # Google Ads API's Customer Match example number
    raw = "+1 800 5550101"
    assert one(tmp_path, "google-ads", phone=raw)["Phone"] == "+18005550101"
    assert one(tmp_path, "meta", phone=raw)["phone"] == "18005550101"
    google = one(tmp_path, "google-ads", hashed=True, phone=raw)["Phone"]
    meta = one(tmp_path, "meta", hashed=True, phone=raw)["phone"]
    assert google == sha("+18005550101")
    assert meta == sha("18005550101")
    assert google != meta


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("(800) 555-0101", "US", "+18005550101"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 1234567", "DE", "+49301234567"),
        ("0151 23456789", "Germany", "+4915123456789"),
        ("01 23 45 67 89", "FR", "+33123456789"),
    ],
)
def test_national_phone_formats_use_the_country_as_region(tmp_path, raw, country, e164):
    rows = [customer("c1", phone=raw, country=country)]
    _, google = export(tmp_path, rows, "google-ads", hashed=False)
    _, meta = export(tmp_path, rows, "meta", hashed=True)
    assert google[0]["Phone"] == e164
    assert meta[0]["phone"] == sha(e164[1:])


def test_upper_case_emails_with_spaces_and_tabs(tmp_path):
    rows = [
        customer("c1", email="\tANA@EXAMPLE.DE  "),
        customer("c2", email="  Bob.Smith@Example.COM\t"),
        customer("c3", email="not an e-mail"),
    ]
    _, google = export(tmp_path, rows, "google-ads", hashed=True)
    assert [r["Email"] for r in google] == [sha("ana@example.de"), sha("bob.smith@example.com")]
    _, meta = export(tmp_path, rows, "meta", hashed=False)
    assert [r["email"] for r in meta] == ["ana@example.de", "bob.smith@example.com"]


def test_google_names_keep_accents_lowercase_and_nfc(tmp_path):
    # Google's own template row: zoë, pérez
    rows = [
        customer("c1", email="a@x.com", first_name="  Zoë ", last_name="Pérez"),
        customer("c2", email="b@x.com", first_name="Zoe\u0308", last_name="PE\u0301REZ"),
        customer("c3", email="c@x.com", first_name="Mary  Ann", last_name="O'Brien"),
    ]
    _, plain = export(tmp_path, rows, "google-ads", hashed=False)
    assert [(r["First Name"], r["Last Name"]) for r in plain] == [
        ("zoë", "pérez"),
        ("zoë", "pérez"),
        ("mary ann", "o'brien"),
    ]
    _, hashed = export(tmp_path, rows, "google-ads", hashed=True)
    assert hashed[0]["First Name"] == hashed[1]["First Name"] == sha("zoë")
    assert hashed[0]["Last Name"] == sha("pérez")


def test_meta_names_roman_letters_no_punctuation_other_scripts_kept(tmp_path):
    cases = [
        ("Zoë", "O'Brien-Pérez", "zoe", "obrienperez"),
        ("Łukasz", "Straße", "lukasz", "strasse"),
        ("Mary  Ann", "Ørsted", "mary ann", "orsted"),
        ("Дмитрий", "李小龍", "дмитрий", "李小龍"),  # й keeps its breve: a letter, not an accent
        ("Émilie", "NGUYỄN", "emilie", "nguyen"),
    ]
    rows = [
        customer(f"c{i}", email=f"p{i}@example.com", first_name=f, last_name=ln)
        for i, (f, ln, _, _) in enumerate(cases)
    ]
    _, plain = export(tmp_path, rows, "meta", hashed=False)
    assert [(r["fn"], r["ln"]) for r in plain] == [(f, ln) for _, _, f, ln in cases]
    _, hashed = export(tmp_path, rows, "meta", hashed=True)
    assert [r["fn"] for r in hashed] == [sha(f) for _, _, f, _ in cases]


def test_meta_location_birth_year_gender(tmp_path):
    rows = [
        customer(
            "c1",
            email="a@example.com",
            country="US",
            region="New York",
            city="New York",
            postal_code="02134-1234",
            gender="Female",
            birth_date="1985-05-01",
        ),
        customer(
            "c2",
            email="b@example.com",
            country="us",
            region=" ca ",
            city="San Francisco",
            postal_code="2134",
            gender="male",
            birth_date="1899-12-31",
        ),
        customer(
            "c3",
            email="c@example.com",
            country="GB",
            region="Greater London",
            city="London",
            postal_code="SW1A 1AA",
            gender="x",
        ),
        customer(
            "c4",
            email="d@example.com",
            country="BR",
            region="São Paulo",
            city="São Paulo",
            postal_code="01310-100",
        ),
        customer("c5", email="e@example.com", country="US", region="Bavaria", city="東京"),
    ]
    _, plain = export(tmp_path, rows, "meta", hashed=False)
    got = [(r["ct"], r["st"], r["zip"], r["country"], r["doby"], r["gen"]) for r in plain]
    assert got == [
        ("newyork", "ny", "02134", "us", "1985", "f"),
        ("sanfrancisco", "ca", "02134", "us", "", "m"),
        ("london", "greaterlondon", "sw1a1aa", "gb", "", ""),
        ("saopaulo", "saopaulo", "01310-100", "br", "", ""),
        ("", "", "", "us", "", ""),  # not a US state; a city in another script
    ]
    _, hashed = export(tmp_path, rows, "meta", hashed=True)
    assert hashed[0]["st"] == sha("ny")
    assert hashed[0]["country"] == sha("us")
    assert hashed[0]["doby"] == sha("1985")
    assert hashed[0]["gen"] == sha("f")
    assert hashed[0]["zip"] == sha("02134")


def test_hashed_and_plain_columns(tmp_path):
    rows = [
        customer(
            "c1",
            email="a@example.com",
            phone="+1 800 5550101",
            first_name="Alex",
            last_name="Quinn",
            country="US",
            postal_code="94045",
            region="CA",
            city="Mountain View",
            gender="m",
            birth_date="1990-01-01",
        ),
        customer("c2", email="b@example.com"),  # missing fields stay empty, never sha256("")
    ]
    _, google = export(tmp_path, rows, "google-ads")  # ad platforms: hashed by default
    for col in ("Email", "Phone", "First Name", "Last Name"):
        assert HEX64.fullmatch(google[0][col])
    assert (google[0]["Country"], google[0]["Zip"]) == ("US", "94045")  # never hashed
    assert google[1] == {
        "Email": sha("b@example.com"),
        "Phone": "",
        "First Name": "",
        "Last Name": "",
        "Country": "",
        "Zip": "",
    }
    _, meta = export(tmp_path, rows, "meta")
    for col in META_HEADER[:-1]:
        assert HEX64.fullmatch(meta[0][col]), col
    assert meta[0]["extern_id"] == "c1"  # never hashed
    assert [meta[1][c] for c in META_HEADER[1:-1]] == [""] * 9
    _, plain = export(tmp_path, rows, "meta", hashed=False)
    assert not any(HEX64.fullmatch(v) for r in plain for v in r.values())
    with pytest.raises(ExportError, match="plain text"):
        export(tmp_path, rows, "mailchimp", hashed=True)


def test_rows_without_a_usable_identifier_are_counted(tmp_path):
    rows = [
        customer("c1", email="a@example.com"),
        customer("c2", first_name="Ana", last_name="Lopez", country="ES", postal_code="28001"),
        customer("c3", first_name="Ana", last_name="Lopez"),  # a name alone matches nobody
        customer("c4", city="Madrid"),
    ]
    frame = pd.DataFrame(rows)
    store = make_workspace(tmp_path / "ws", frame, {r["customer_id"]: "A" for r in rows})
    google = export_audience(
        store,
        segmentation="seg",
        segments=["A"],
        destination="google-ads",
        out=tmp_path / "g.csv",
        min_size=0,
    )
    meta = export_audience(
        store,
        segmentation="seg",
        segments=["A"],
        destination="meta",
        out=tmp_path / "m.csv",
        min_size=0,
    )
    assert google.left_out == {"no consent": 0, "no usable identifier": 2}
    # Meta matches a name with a zip (c2), not a country alone
    assert meta.left_out == {"no consent": 0, "no usable identifier": 2}
    assert (google.rows_written, meta.rows_written) == (2, 2)


# --------------------------------------------------------------------------------------------
# consent and the minimum audience
# --------------------------------------------------------------------------------------------


def _consent_rows(n_yes: int) -> list[dict]:
    rows = [customer(f"y{i:03d}", email=f"yes{i}@example.com") for i in range(n_yes)]
    rows += [customer("n1", email="no1@example.com", consent_ads=False)]
    rows += [customer("n2", email="no2@example.com", consent_ads=False)]
    rows += [customer("u1", email="unknown@example.com", consent_ads=None)]
    return rows


@pytest.mark.parametrize("to", ["google-ads", "meta"])
def test_consent_false_or_missing_is_left_out_and_counted(tmp_path, to):
    rows = _consent_rows(100)
    frame = pd.DataFrame(rows)
    store = make_workspace(tmp_path / "ws", frame, {r["customer_id"]: "A" for r in rows})
    out = tmp_path / "a.csv"
    result = export_audience(
        store, segmentation="seg", segments=["A"], destination=to, out=out, hashed=False
    )
    assert result.left_out == {"no consent": 3, "no usable identifier": 0}
    assert result.rows_written == 100
    text = out.read_text(encoding="utf-8")
    assert "no1@" not in text and "no2@" not in text and "unknown@" not in text
    members = {
        r[0]
        for r in store.db.execute(
            "SELECT customer_id FROM export_members WHERE export_id = ?", [result.export_id]
        ).fetchall()
    }
    assert members == {f"y{i:03d}" for i in range(100)}

    # --assume-consent: a missing value counts as consent, a refusal never does
    assumed = export_audience(
        store,
        segmentation="seg",
        segments=["A"],
        destination=to,
        out=tmp_path / "b.csv",
        hashed=False,
        assume_consent=True,
    )
    assert assumed.left_out == {"no consent": 2, "no usable identifier": 0}
    assert assumed.assume_consent is True
    text = (tmp_path / "b.csv").read_text(encoding="utf-8")
    assert "unknown@example.com" in text and "no1@" not in text and "no2@" not in text


@pytest.mark.parametrize("to", ["google-ads", "meta"])
def test_audience_under_100_is_refused_unless_lowered(tmp_path, to):
    rows = _consent_rows(99)  # 99 with consent, 3 without: 102 in the segment
    frame = pd.DataFrame(rows)
    store = make_workspace(tmp_path / "ws", frame, {r["customer_id"]: "A" for r in rows})
    with pytest.raises(ExportError) as err:
        export_audience(
            store, segmentation="seg", segments=["A"], destination=to, out=tmp_path / "a.csv"
        )
    assert "at least 100" in str(err.value) and "99" in str(err.value)
    assert "--min-size" in str(err.value)
    assert not (tmp_path / "a.csv").exists()
    assert lookup(to).min_size == 100
    done = export_audience(
        store,
        segmentation="seg",
        segments=["A"],
        destination=to,
        out=tmp_path / "a.csv",
        min_size=50,
    )
    assert done.rows_written == 99


# --------------------------------------------------------------------------------------------
# sensitive names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "warns"), [("meta", True), ("google-ads", True), ("mailchimp", False)]
)
def test_sensitive_segment_name_warns_for_ad_platforms_only(tmp_path, to, warns):
    rows = [customer(f"c{i}", email=f"c{i}@example.com", consent_email=True) for i in range(3)]
    frame = pd.DataFrame(rows)
    store = make_workspace(
        tmp_path / "ws",
        frame,
        {r["customer_id"]: "A" for r in rows},
        names={"A": "Diabetic shoppers"},
    )
    result = export_audience(
        store,
        segmentation="seg",
        segments=["Diabetic shoppers"],
        destination=to,
        out=tmp_path / "a.csv",
        min_size=0,
    )
    if warns:
        assert len(result.warnings) == 1
        assert "'diabetic'" in result.warnings[0] and SOURCE in result.warnings[0]
    else:
        assert result.warnings == []


@pytest.mark.parametrize(
    "name", ["Arthritis care", "diabetes box", "Good credit score", "High income buyers"]
)
def test_meta_published_examples_are_flagged(name):
    # the four examples Meta's Custom Audiences page gives for the September 2025 rule
    assert len(sensitive_terms([name], lookup("meta"))) == 1


def test_plain_names_are_not_flagged():
    assert (
        sensitive_terms(["Champions", "Loyal regulars", "Richmond shoppers"], lookup("meta")) == []
    )


def test_the_same_segment_gives_the_same_bytes_sorted_by_customer(tmp_path):
    """An export is reproducible (same rows, same order: by customer id), so its SHA-256 in the
    log identifies the content; 20,000 rows are enough for DuckDB's threads to interleave if
    the order were left to the scan."""
    n = 20_000
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)][::-1],
            "email": [f"user{i}@example.com" for i in range(n)],
            "consent_ads": True,
        }
    )
    store = make_workspace(tmp_path / "ws", frame, dict.fromkeys(frame["customer_id"], "A"))
    done = [
        export_audience(
            store, segmentation="seg", segments=["A"], destination=to, out=tmp_path / f"{to}{i}.csv"
        )
        for to in ("google-ads", "meta")
        for i in range(2)
    ]
    assert done[0].sha256 == done[1].sha256 and done[2].sha256 == done[3].sha256
    with (tmp_path / "meta0.csv").open(newline="") as f:
        ids = [row["extern_id"] for row in csv.DictReader(f)]
    assert ids == sorted(ids) and len(ids) == n


def test_nobody_matchable_says_so_instead_of_suggesting_consent(tmp_path):
    """An orders-only workspace (no e-mails or phones, no consent): assuming consent would not
    help, so the refusal names the missing contact fields."""
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(150)], "country": "GB"})
    store = make_workspace(tmp_path / "ws", frame, dict.fromkeys(frame["customer_id"], "A"))
    with pytest.raises(ExportError) as info:
        export_audience(
            store, segmentation="seg", segments=["A"], destination="google-ads", out=tmp_path / "g"
        )
    assert "none of them has an e-mail" in info.value.problem
    assert not (tmp_path / "g").exists()
