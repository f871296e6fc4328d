"""E-mail tool exports (Klaviyo, Mailchimp, HubSpot) and the plain CSV, read back cell by cell.

Each file is read with the csv module (not pandas), so what is asserted is the bytes an import
wizard gets: exact headers, plain (unhashed) values, the formula guard on names but not on
e-mails or E.164 phones, and who is left out for consent or for having no usable e-mail.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.activate.contacts import CONTACT_COLUMNS
from segmint.activate.export import NO_CONSENT, NO_IDENTIFIER, export_audience
from segmint.activate.exporters import lookup
from segmint.cli import app
from segmint.exceptions import ExportError
from tests.activate_support import make_workspace

EMAIL_TOOLS = ("klaviyo", "mailchimp", "hubspot")

HEADERS = {
    "klaviyo": [
        "Email",
        "Phone Number",
        "First Name",
        "Last Name",
        "Email Marketing Consent",
        "SMS Marketing Consent",
        "segmint_segment",
    ],
    "mailchimp": ["Email Address", "First Name", "Last Name", "Tags"],
    "hubspot": [
        "Email",
        "First name",
        "Last name",
        "Phone number",
        "Legal basis for processing contact's data",
        "Segmint segment",
    ],
}
#: (e-mail, first name, last name, phone) column of each destination
FIELDS = {
    "klaviyo": ("Email", "First Name", "Last Name", "Phone Number"),
    "mailchimp": ("Email Address", "First Name", "Last Name", None),
    "hubspot": ("Email", "First name", "Last name", "Phone number"),
}
SEGMENT_COLUMN = {"klaviyo": "segmint_segment", "mailchimp": "Tags", "hubspot": "Segmint segment"}

# customer id: (raw e-mail, first, last, raw phone, country, consent_email, consent_sms, segment)
PEOPLE = {
    "c1": ("  Ana.Souza@Example.COM\t", "Ana", "Souza", "(415) 555-2671", "US", True, True, "A"),
    "c2": (
        "\tZOE.MULLER@EXAMPLE.DE ",
        "Zoë",
        "Müller-Łukasz",
        "030 12345678",
        "DE",
        True,
        False,
        "A",
    ),
    "c3": ("no.consent@example.com", "Nils", "Nej", "020 7946 0958", "GB", False, True, "A"),
    "c4": ("unknown@example.fr", "Inès", "Dupont", "06 12 34 56 78", "FR", None, None, "B"),
    "c5": ("not-an-email", "Olga", "Ivanova", "01 42 68 53 00", "FR", True, True, "B"),
    "c6": ("Eve@Example.com", "=cmd", "+SUM(1)", None, "GB", True, True, "B"),
    "c7": ("Jose.Garcia@Example.ES", "José", "García", "020 7946 0958", "GB", True, None, "C"),
}
EMAILS = {
    "c1": "ana.souza@example.com",
    "c2": "zoe.muller@example.de",
    "c4": "unknown@example.fr",
    "c6": "eve@example.com",
    "c7": "jose.garcia@example.es",
}
PHONES = {"c1": "+14155552671", "c2": "+493012345678", "c4": "+33612345678", "c7": "+442079460958"}
NAMES = {"A": "Champions", "B": "Loyal, high value", "C": "=Top spenders"}


def _customers() -> pd.DataFrame:
    rows = [
        {
            "customer_id": cid,
            "email": e,
            "first_name": f,
            "last_name": ln,
            "phone": p,
            "country": co,
            "consent_email": ce,
            "consent_sms": cs,
        }
        for cid, (e, f, ln, p, co, ce, cs, _) in PEOPLE.items()
    ]
    frame = pd.DataFrame(rows)
    for col in ("consent_email", "consent_sms"):
        frame[col] = frame[col].astype("boolean")
    return frame


@pytest.fixture
def store(tmp_path):
    s = make_workspace(
        tmp_path / "w.duckdb",
        _customers(),
        {cid: p[-1] for cid, p in PEOPLE.items()},
        names=NAMES,
    )
    yield s
    s.close()


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def export(store, tmp_path, to, segments=("A", "B", "C"), **kw):
    out = tmp_path / f"{to}.csv"
    result = export_audience(
        store, segmentation="seg", segments=list(segments), destination=to, out=out, **kw
    )
    header, rows = read(out)
    return result, header, rows


def by_email(rows, to):
    return {r[FIELDS[to][0]]: r for r in rows}


def customer_of(email: str) -> str:
    return next(cid for cid, e in EMAILS.items() if e == email)


@pytest.mark.parametrize("to", EMAIL_TOOLS)
def test_header_is_exactly_the_platforms(store, tmp_path, to):
    _, header, _ = export(store, tmp_path, to)
    assert header == HEADERS[to]
    assert header[0] in ("Email", "Email Address")  # the identifier comes first


@pytest.mark.parametrize("to", EMAIL_TOOLS)
def test_plain_values_normalized_emails_unicode_names_e164_phones(store, tmp_path, to):
    result, _, rows = export(store, tmp_path, to)
    assert not result.hashed
    email, first, last, phone = FIELDS[to]
    got = by_email(rows, to)
    # c1, c2 (messy: spaces, tabs, upper case), c6, c7 consent; c3 said no, c4 unknown, c5 no e-mail
    assert set(got) == {EMAILS[c] for c in ("c1", "c2", "c6", "c7")}
    assert got["zoe.muller@example.de"][first] == "Zoë"
    assert got["zoe.muller@example.de"][last] == "Müller-Łukasz"
    assert got["jose.garcia@example.es"][first] == "José"
    if phone is not None:
        for e, row in got.items():
            assert row[phone] == PHONES.get(customer_of(e), "")
    for row in rows:  # plain text, never a 64-hex digest
        assert "@" in row[email] and len(row[email]) != 64


@pytest.mark.parametrize("to", EMAIL_TOOLS)
def test_consent_false_or_missing_is_left_out_and_counted(store, tmp_path, to):
    result, _, rows = export(store, tmp_path, to)
    assert result.rows_written == len(rows) == 4
    assert result.left_out == {NO_CONSENT: 2, NO_IDENTIFIER: 1}  # c3, c4; c5
    assert "no.consent@example.com" not in by_email(rows, to)

    assumed, _, rows = export(store, tmp_path, to, assume_consent=True)
    got = by_email(rows, to)
    assert "unknown@example.fr" in got  # NULL counts as consent when assumed …
    assert "no.consent@example.com" not in got  # … a False never does
    assert assumed.left_out == {NO_CONSENT: 1, NO_IDENTIFIER: 1}
    assert assumed.assume_consent


def test_klaviyo_consent_columns_say_subscribed_only_for_stored_consent(store, tmp_path):
    _, _, rows = export(store, tmp_path, "klaviyo", assume_consent=True)
    got = by_email(rows, "klaviyo")
    mail, sms = "Email Marketing Consent", "SMS Marketing Consent"
    assert got["ana.souza@example.com"][mail] == "Subscribed"
    assert got["ana.souza@example.com"][sms] == "Subscribed"
    assert got["zoe.muller@example.de"][sms] == ""  # consent_sms false: left blank
    assert got["eve@example.com"][sms] == ""  # SMS consent but no phone
    assert got["jose.garcia@example.es"][sms] == ""  # consent_sms unknown
    assert got["unknown@example.fr"][mail] == ""  # assumed, not reported as subscribed


def test_hubspot_legal_basis_only_for_stored_consent(store, tmp_path):
    _, _, rows = export(store, tmp_path, "hubspot", assume_consent=True)
    got = by_email(rows, "hubspot")
    basis = "Legal basis for processing contact's data"
    assert got["ana.souza@example.com"][basis] == "Freely given consent from contact"
    assert got["unknown@example.fr"][basis] == ""


@pytest.mark.parametrize("to", EMAIL_TOOLS)
def test_several_segments_in_one_file(store, tmp_path, to):
    result, _, rows = export(store, tmp_path, to)
    assert result.segments == ["A", "B", "C"]
    column = SEGMENT_COLUMN[to]
    assert lookup(to).segment_column == column
    got = {customer_of(e): r[column] for e, r in by_email(rows, to).items()}
    quoted = '"Loyal, high value"' if to == "mailchimp" else "Loyal, high value"
    # c7's segment name starts with '=': guarded like any text from the data
    assert got == {"c1": "Champions", "c2": "Champions", "c6": quoted, "c7": "'=Top spenders"}

    one, _, rows = export(store, tmp_path, to, segments=["Champions"])
    assert {r[column] for r in rows} == {"Champions"} and one.rows_written == 2


def test_mailchimp_tags_with_a_comma_stay_one_tag_in_the_raw_file(store, tmp_path):
    export(store, tmp_path, "mailchimp")
    raw = (tmp_path / "mailchimp.csv").read_text(encoding="utf-8")
    # the cell holds "Loyal, high value" in double quotes; CSV doubles them inside its own quotes
    assert '"""Loyal, high value"""' in raw


@pytest.mark.parametrize("to", EMAIL_TOOLS)
def test_formula_names_neutralized_emails_and_phones_exact(store, tmp_path, to):
    _, _, rows = export(store, tmp_path, to)
    email, first, last, phone = FIELDS[to]
    eve = by_email(rows, to)["eve@example.com"]
    assert eve[first] == "'=cmd" and eve[last] == "'+SUM(1)"
    assert eve[email] == "eve@example.com"
    raw = (tmp_path / f"{to}.csv").read_text(encoding="utf-8")
    assert "'eve@example.com" not in raw and "eve@example.com" in raw
    if phone is not None:  # E.164 starts with '+' and is written as it is
        assert by_email(rows, to)["ana.souza@example.com"][phone] == "+14155552671"
        assert "'+1" not in raw


@pytest.mark.parametrize("to", EMAIL_TOOLS)
def test_email_tools_never_hash(store, tmp_path, to):
    exporter = lookup(to)
    assert exporter.audience == "email" and exporter.consent == "consent_email"
    assert not exporter.hashable
    with pytest.raises(ExportError, match="plain text"):
        export(store, tmp_path, to, hashed=True)


@pytest.mark.parametrize("to", (*EMAIL_TOOLS, "csv"))
def test_template_columns_are_declared_and_do_not_clash(to):
    exporter = lookup(to)
    assert exporter.template_columns is not None
    subject, body = exporter.template_columns
    headers = [c.header for c in exporter.columns]
    assert subject != body and not {subject, body} & set(headers)


def test_plain_csv_has_every_contact_field_and_everyone(store, tmp_path):
    result, header, rows = export(store, tmp_path, "csv")
    assert header == ["customer_id", "segment", "segment_name", *CONTACT_COLUMNS]
    assert result.rows_written == len(PEOPLE) and result.left_out == {
        NO_CONSENT: 0,
        NO_IDENTIFIER: 0,
    }
    got = {r["customer_id"]: r for r in rows}
    assert got["c1"]["email"] == "ana.souza@example.com"
    assert got["c1"]["phone"] == "+14155552671" and got["c2"]["phone"] == "+493012345678"
    assert got["c5"]["email"] == ""  # not a valid address
    assert got["c6"]["first_name"] == "'=cmd"
    assert got["c3"]["consent_email"] == "false" and got["c4"]["consent_email"] == ""
    assert got["c2"]["first_name"] == "Zoë" and got["c7"]["segment_name"] == "'=Top spenders"


# ---------------------------------------------------------------------------------------------
# The sample shop: segmint run once, then export a segment to Mailchimp and Klaviyo
# ---------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("shop")
    files = segmint.datasets.make_retail(600, seed=5).to_files(d / "data", format="csv")
    spec = d / "s.yaml"
    spec.write_text(
        "sources:\n"
        f"  - {{path: {files['customers']}, as: customers}}\n"
        f"  - {{path: {files['orders']}, as: orders}}\n"
        "segmentations:\n  - name: rfm\n    method: rfm\n"
    )
    ws = d / "w.duckdb"
    r = runner.invoke(app, ["run", "--spec", str(spec), "-w", str(ws), "--out", str(d / "r")])
    assert r.exit_code == 0, r.output
    return ws


def _largest_segment(store) -> tuple[str, list[str]]:
    label = store.db.execute(
        "SELECT segment FROM segment_assignments WHERE segmentation = 'rfm' "
        "GROUP BY segment ORDER BY count(*) DESC, segment LIMIT 1"
    ).fetchone()[0]
    members = [
        r[0]
        for r in store.db.execute(
            "SELECT customer_id FROM segment_assignments WHERE segmentation = 'rfm' "
            "AND segment = ?",
            [label],
        ).fetchall()
    ]
    return label, members


def test_sample_shop_exports_honour_consent_and_are_logged(shop, tmp_path):
    with segmint.Workspace(shop) as ws:
        store = ws.store
        label, members = _largest_segment(store)
        refused = {
            r[0]
            for r in store.db.execute(
                "SELECT email FROM customers WHERE consent_email IS NOT TRUE AND email IS NOT NULL"
            ).fetchall()
        }
        not_true = store.db.execute(
            "SELECT count(*) FROM customers WHERE list_contains(?, customer_id) "
            "AND consent_email IS NOT TRUE",
            [members],
        ).fetchone()[0]
        assert refused and not_true > 0  # the sample shop has customers who said no
        results = {}
        for to in ("mailchimp", "klaviyo"):
            out = tmp_path / f"{to}.csv"
            results[to] = export_audience(
                store, segmentation="rfm", segments=[label], destination=to, out=out
            )
            _, rows = read(out)
            emails = {r[FIELDS[to][0]] for r in rows}
            assert emails and not emails & refused
            assert results[to].left_out[NO_CONSENT] == not_true
            assert results[to].rows_written == len(rows) == len(emails)
            assert len(rows) + sum(results[to].left_out.values()) == len(members)
        logged = store.db.execute(
            "SELECT export_id, destination, sha256, path, rows_written FROM exports "
            "ORDER BY export_id"
        ).fetchall()
        members_logged = dict(
            store.db.execute(
                "SELECT export_id, count(*) FROM export_members GROUP BY export_id"
            ).fetchall()
        )
    assert [row[1] for row in logged] == ["mailchimp", "klaviyo"]
    for export_id, to, sha, path, written in logged:
        assert sha == hashlib.sha256(Path(path).read_bytes()).hexdigest()
        assert sha == results[to].sha256 and export_id == results[to].export_id
        assert members_logged[export_id] == written
