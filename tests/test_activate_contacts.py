"""The export's normalized contacts on messy values, against the rules written in Python.

``build_contacts`` runs its text rule (trim, inner white space made one space) and the e-mail
rule (``clean``'s) in SQL, with shortcuts for speed (the regular expression only where it
changes something, the address normalized once); these tests check the results against the
rules as ``clean`` and the module docstring state them, computed here without DuckDB.
"""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pandas as pd

from segmint.activate.contacts import build_contacts
from segmint.clean.standardize import standardize_emails
from segmint.store.csvsafe import FORMULA_STARTS
from tests.activate_support import make_workspace

#: white space DuckDB's ``\s`` matches (RE2: tab, newline, form feed, carriage return, space)
#: and some it does not (vertical tab, no-break space, em space), with letters around
PIECES = [" ", " ", "  ", "\t", "\n", "\r", "\f", "\v", "\u00a0", "\u2003", "a", "É", "=", "-"]
#: what DuckDB's trim() removes at both ends: the Unicode space separators (category Zs)
SPACES = "".join(chr(c) for c in range(0x3100) if unicodedata.category(chr(c)) == "Zs")
TEXT_COLUMNS = ["phone", "first_name", "last_name", "postal_code", "city", "region"]


def text_rule(value: object) -> str | None:
    """The documented rule: trimmed (space separators), inner runs of white space one space; NULL if blank."""
    if not isinstance(value, str):
        return None
    out = re.sub(r"[\t\n\f\r ]+", " ", value.strip(SPACES))
    return out or None


def messy(rng: random.Random) -> str | None:
    if rng.random() < 0.05:
        return None
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))


def contacts(tmp_path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    store = make_workspace(tmp_path / "ws.duckdb", frame, dict.fromkeys(frame.customer_id, "A"))
    try:
        build_contacts(store.db, "_c", run_id="0001-segment", segmentation="seg", segments=["A"])
        return store.db.execute("SELECT * FROM _c ORDER BY customer_id").df()
    finally:
        store.close()


def test_text_fields_follow_the_rule_on_messy_white_space(tmp_path: Path) -> None:
    rng = random.Random(11)
    n = 400
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            **{c: [messy(rng) for _ in range(n)] for c in TEXT_COLUMNS},
        }
    )
    got = contacts(tmp_path, frame).set_index("customer_id")
    hits = 0
    for col in TEXT_COLUMNS:
        for cid, raw in zip(frame.customer_id, frame[col], strict=True):
            want = text_rule(raw)
            value = got.at[cid, col]
            if col == "phone" and want is not None:
                continue  # not a phone number: the phone fallback sets it NULL (tested elsewhere)
            assert (None if pd.isna(value) else value) == want, (col, raw)
            hits += want is not None and want != raw.strip(SPACES)
    assert hits > 50  # the sample did hold values the rule changes


def test_emails_are_normalized_and_validated_as_clean_does(tmp_path: Path) -> None:
    rng = random.Random(5)
    around = ["", " ", "\t", "\u00a0", " \n", "\r\n", "\v", "\f"]
    bodies = ["Test.User@Gmail.com", "a@b.co", "=cmd@x.org", "-x@y.de", "no at", "x@@y.com", ""]
    emails = [rng.choice(around) + rng.choice(bodies) + rng.choice(around) for _ in range(300)]
    emails += [None, "", "   "]
    frame = pd.DataFrame(
        {"customer_id": [f"c{i:03d}" for i in range(len(emails))], "email": emails}
    )
    got = contacts(tmp_path, frame).set_index("customer_id")
    python = standardize_emails(emails)
    kept = 0
    for cid, raw in zip(frame.customer_id, emails, strict=True):
        want = python[raw].value
        if want is not None and want[:1] in FORMULA_STARTS:
            want = None  # could not be written byte for byte: left out (module docstring)
        value = got.at[cid, "email"]
        assert (None if pd.isna(value) else value) == want, repr(raw)
        kept += want is not None
    assert 0 < kept < len(emails)


def test_an_extra_customer_attribute_named_like_a_segment_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "email": ["a@b.co", "c@d.co"]})
    store = make_workspace(tmp_path / "ws.duckdb", frame, {"c1": "A", "c2": "B"})
    try:
        store.db.execute("ALTER TABLE customers ADD COLUMN segment VARCHAR DEFAULT 'crm tier'")
        n = build_contacts(
            store.db, "_c", run_id="0001-segment", segmentation="seg", segments=["A"]
        )
        row = store.db.execute("SELECT customer_id, segment, email FROM _c").fetchall()
    finally:
        store.close()
    assert n == 1 and row == [("c1", "A", "a@b.co")]
