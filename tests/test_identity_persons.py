"""Persons downstream: once records are linked, every stage counts a person once.

One sample shop is imported twice. The *baseline* holds it as generated, one record per
person. The *linked* workspace holds the same people, but 40 of them also appear under a
second id (``D…``, as a second source would carry them: name and e-mail, nothing else), half
of their orders are filed under that id, and an identity map written by hand (the linker's
output format) says which records are one person. Every check compares the linked workspace
with the baseline, so the expected numbers do not come from the code under test: features,
segment assignments and the value summary must be the baseline's, person by person; exports
hold one row per person with an e-mail from a member; a member's refusal or objection holds
for the person; erasing one id erases every record of the person, in every table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import segmint
from segmint._run import run_pipeline
from segmint.identity.persons import customers_sql, has_identity, person_tables
from segmint.privacy.keys import KEY_ENV, KEY_FILE_ENV, workspace_key
from segmint.privacy.pseudonyms import pseudonym
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store import quote

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

N = 300
SPEC = Spec(segmentations=[SegmentationSpec(name="rfm", method="rfm")])
#: the people who have a second record (D + the digits of their id)
LINKED = [f"C{i:06d}" for i in range(1, 81, 2)]
#: own record without an e-mail: the export must take the second record's
NO_OWN_EMAIL = LINKED[0]
#: the second record refused e-mail (the own record agreed): the person is not e-mailed
REFUSED = LINKED[1]
#: the second record objected to profiling: the person is in no segmentation
OBJECTED = LINKED[2]
#: erased by the id of the second record
ERASED = LINKED[3]
#: someone else, whom a reviewer told apart from the erased person's second record
OTHER = "C000002"


def _second(cid: str) -> str:
    return "D" + cid[1:]


@dataclass
class Shop:
    root: Path
    baseline: Path
    linked: Path
    customers: pd.DataFrame  # the people as generated (with the refusals applied)
    orders: pd.DataFrame


def _import(path: Path, customers: pd.DataFrame, orders: pd.DataFrame, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    customers.to_csv(root / "customers.csv", index=False)
    orders.to_csv(root / "orders.csv", index=False)
    with segmint.Workspace(path) as ws:
        ws.ingest(root / "customers.csv", into="customers")
        ws.ingest(root / "orders.csv", into="orders")


def _link(path: Path) -> None:
    """The identity map (and a scored pair, a decision, an event) as the linker writes them."""
    with segmint.Workspace(path) as ws:
        store = ws.store
        for t in ("identity_map", "identity_pairs", "identity_decisions", "identity_events"):
            store.ensure(t)
        rows = [(c, c, 0.98, 2, "9999-dedupe") for c in LINKED]
        rows += [(_second(c), c, 0.98, 2, "9999-dedupe") for c in LINKED]
        store.db.executemany("INSERT INTO identity_map VALUES (?, ?, ?, ?, ?)", rows)
        store.db.executemany(
            "INSERT INTO identity_pairs VALUES (?, ?, 7.5, 0.98, '9999-dedupe')",
            [(c, _second(c)) for c in LINKED],
        )
        store.db.executemany(  # the registry keys decisions by their left-hand id
            "INSERT INTO identity_decisions VALUES (?, ?, ?, 'test', now()::TIMESTAMP)",
            [[ERASED, _second(ERASED), "accept"], [OTHER, _second(ERASED), "reject"]],
        )
        store.db.executemany(
            "INSERT INTO identity_events VALUES ('9999-dedupe', ?, 'grew', ?, 2)",
            [(c, c) for c in LINKED],
        )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("persons")
    sample = segmint.datasets.make_retail(N, seed=5)
    people = sample.customers.copy()
    people["consent_profiling"] = pd.array([None] * len(people), dtype="boolean")
    people.loc[people["customer_id"] == REFUSED, "consent_email"] = True
    # the baseline: the refusal and the objection as the person's own record holds them
    base = people.copy()
    base.loc[base["customer_id"] == REFUSED, "consent_email"] = False
    base.loc[base["customer_id"] == OBJECTED, "consent_profiling"] = False
    orders = sample.orders.copy()
    # the second records: what a newsletter tool knows (name, e-mail, a later sign-up)
    first = people[people["customer_id"].isin(LINKED)]
    second = pd.DataFrame(
        {
            "customer_id": [_second(c) for c in first["customer_id"]],
            "email": first["email"].to_numpy(),
            "first_name": first["first_name"].to_numpy(),
            "last_name": first["last_name"].to_numpy(),
            "signup_at": (pd.to_datetime(first["signup_at"]) + pd.Timedelta(days=30)).to_numpy(),
        }
    )
    second["consent_email"] = [c != REFUSED for c in first["customer_id"]]
    second["consent_profiling"] = pd.array(
        [False if c == OBJECTED else None for c in first["customer_id"]], dtype="boolean"
    )
    own = people.copy()
    own.loc[own["customer_id"] == NO_OWN_EMAIL, "email"] = None
    mixed = pd.concat([own, second], ignore_index=True)
    # half of each linked person's orders filed under the second id
    moved = orders["customer_id"].isin(LINKED) & (
        orders.groupby("customer_id")["order_id"].rank(method="dense") % 2 == 0
    )
    split = orders.copy()
    split.loc[moved, "customer_id"] = split.loc[moved, "customer_id"].map(_second)
    assert moved.sum() > 20 and split["customer_id"].str.startswith("D").any()

    baseline, linked = root / "baseline.duckdb", root / "linked.duckdb"
    _import(baseline, base, orders, root / "b")
    _import(linked, mixed, split, root / "l")
    _link(linked)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(KEY_ENV, raising=False)
        mp.delenv(KEY_FILE_ENV, raising=False)
        for path in (baseline, linked):
            with segmint.Workspace(path) as ws:
                run_pipeline(ws, SPEC, out_dir=root / f"report-{path.stem}")
        yield Shop(root, baseline, linked, base, orders)


def _frame(path: Path, sql: str) -> pd.DataFrame:
    with segmint.Workspace(path, read_only=True) as ws:
        return ws.store.db.execute(sql).df()


def test_features_count_each_person_once(shop: Shop):
    base = _frame(shop.baseline, "SELECT * FROM customer_features").set_index("customer_id")
    mine = _frame(shop.linked, "SELECT * FROM customer_features").set_index("customer_id")
    assert not mine.index.str.startswith("D").any(), "a second record got its own feature row"
    assert sorted(mine.index) == sorted(base.index) and len(mine) == N
    # the linked people's orders from both ids add up (spread over two ids in the data)
    assert mine.loc[LINKED, "frequency"].sum() == base.loc[LINKED, "frequency"].sum() > 40
    assert list(mine.columns) == list(base.columns)
    pd.testing.assert_frame_equal(mine.loc[base.index], base, check_exact=False, rtol=1e-9)


def test_one_assignment_per_person_as_in_the_baseline(shop: Shop):
    sql = "SELECT customer_id, segment FROM segment_assignments WHERE segmentation = 'rfm'"
    base = _frame(shop.baseline, sql).set_index("customer_id")["segment"]
    mine = _frame(shop.linked, sql).set_index("customer_id")["segment"]
    assert mine.index.is_unique and not mine.index.str.startswith("D").any()
    assert OBJECTED not in mine.index and OBJECTED not in base.index
    assert mine.sort_index().equals(base.sort_index())


def test_the_value_summary_is_per_person(shop: Shop):
    with segmint.Workspace(shop.baseline, read_only=True) as ws:
        base = ws.value_summary()
    with segmint.Workspace(shop.linked, read_only=True) as ws:
        mine = ws.value_summary()
    assert OBJECTED not in mine.index
    pd.testing.assert_frame_equal(mine.sort_index(), base.sort_index(), check_exact=False)


def _export(path: Path, to: str, out: Path) -> list[dict[str, str]]:
    with segmint.Workspace(path) as ws:
        labels = ws.store.db.execute(
            "SELECT DISTINCT segment FROM segment_assignments WHERE segmentation = 'rfm'"
        ).fetchall()
        ws.export("rfm", [r[0] for r in labels], to=to, out=out)
    with out.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_file_holds_one_row_per_person_with_a_members_email(shop: Shop):
    rows = _export(shop.linked, "csv", shop.root / "all.csv")
    ids = [r["customer_id"] for r in rows]
    assert len(ids) == len(set(ids)) == N - 1  # everyone but the objector
    assert not any(i.startswith("D") for i in ids)
    by_id = {r["customer_id"]: r for r in rows}
    wanted = shop.customers.set_index("customer_id")["email"]
    assert by_id[NO_OWN_EMAIL]["email"] == wanted[NO_OWN_EMAIL].strip().lower()
    assert rows == _export(shop.baseline, "csv", shop.root / "all-baseline.csv")


def test_a_members_refusal_keeps_the_person_out_of_an_email_audience(shop: Shop):
    mine = _export(shop.linked, "mailchimp", shop.root / "mc.csv")
    base = _export(shop.baseline, "mailchimp", shop.root / "mc-baseline.csv")
    email = next(k for k in mine[0] if "mail" in k.lower())
    refused = shop.customers.set_index("customer_id").loc[REFUSED, "email"].lower()
    assert refused not in {r[email] for r in mine}
    assert len(mine) == len({r[email] for r in mine}) and mine == base


def test_a_grant_is_the_persons(shop: Shop, tmp_path: Path):
    """Consent given again on one record holds for the person (it is not overruled by the
    other record's old refusal): the person is back in the e-mail audience."""
    path = _copy(shop, tmp_path)
    with segmint.Workspace(path) as ws:
        ws.set_consent(REFUSED, "email", "granted", source="preference centre")
        flags = ws.store.db.execute(
            "SELECT customer_id, consent_email FROM customers WHERE customer_id IN ? ORDER BY 1",
            [[REFUSED, _second(REFUSED)]],
        ).fetchall()
        history = ws.consent_history(_second(REFUSED))
    assert flags == [(REFUSED, True), (_second(REFUSED), True)]
    assert [(e.channel, e.status) for e in history][-1] == ("email", "granted")
    rows = _export(path, "mailchimp", tmp_path / "mc.csv")
    email = next(k for k in rows[0] if "mail" in k.lower())
    wanted = shop.customers.set_index("customer_id").loc[REFUSED, "email"].strip().lower()
    assert wanted in {r[email] for r in rows}


def test_person_tables_without_an_identity_map_are_the_tables(tmp_path: Path):
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.store.ensure("identity_map")  # an empty map links nobody
        (tmp_path / "c.csv").write_text("customer_id,email\nA,a@x.org\nB,b@x.org\n")
        ws.ingest(tmp_path / "c.csv", into="customers")
        assert not has_identity(ws.store) and customers_sql(ws.store) == "customers"
        tables = {"customers": ws.table("customers")}
        assert person_tables(ws.store, tables) == tables


def test_golden_records_take_the_own_record_then_the_most_restrictive_consent(tmp_path: Path):
    (tmp_path / "c.csv").write_text(
        "customer_id,email,first_name,city,consent_email,consent_sms,signup_at,loyalty_tier\n"
        "A,,Ann,,true,,2024-03-01,\n"
        "B,ann@x.org,Anna,Leeds,false,,2023-01-01,gold\n"
        "C,c@x.org,,York,true,true,2025-01-01,silver\n"
        "Z,z@x.org,Zed,Hull,,,2022-01-01,\n"
    )
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(tmp_path / "c.csv", into="customers")
        ws.store.ensure("identity_map")
        ws.store.db.executemany(
            "INSERT INTO identity_map VALUES (?, 'A', 0.9, 3, 'r')", [["A"], ["B"], ["C"]]
        )
        rows = ws.store.db.execute(
            "SELECT customer_id, email, first_name, city, consent_email, consent_sms, "
            f"signup_at::DATE::VARCHAR, loyalty_tier FROM {customers_sql(ws.store)} ORDER BY 1"
        ).fetchall()
    assert rows == [
        # own name; e-mail and city from the members by id; one "no" wins; earliest sign-up
        ("A", "ann@x.org", "Ann", "Leeds", False, True, "2023-01-01", "gold"),
        ("Z", "z@x.org", "Zed", "Hull", None, None, "2022-01-01", None),
    ]


def test_erasing_one_id_erases_the_person_everywhere(shop: Shop, tmp_path: Path):
    path = _copy(shop, tmp_path)
    with segmint.Workspace(path) as ws:
        access = ws.subject_access(customer_id=_second(ERASED))
        assert access["customer_ids"] == [ERASED, _second(ERASED)]
        held = _frame(
            shop.baseline, f"SELECT count(*) AS n FROM orders WHERE customer_id = '{ERASED}'"
        )
        assert len(access["tables"]["orders"]) == held["n"][0] > 0  # both ids' order lines
        assert {r["customer_id"] for r in access["tables"]["identity_map"]} == {
            ERASED,
            _second(ERASED),
        }
        done = ws.erase(customer_id=_second(ERASED), reason="test")
        assert done.customers == 2
        assert {"customers", "orders", "identity_map", "identity_pairs"} <= set(done.rows)
        assert done.rows["identity_decisions"] == 2  # one found by its right-hand id alone
        assert done.rows["customers"] == 2 and done.rows["identity_map"] == 2
        db = ws.store.db
        ids = (ERASED, _second(ERASED))
        for table in ws.tables():
            for col, dtype in ws.store.columns(table).items():
                if dtype not in ("VARCHAR", "JSON"):
                    continue
                hits = db.execute(
                    f"SELECT count(*) FROM {quote(table)} WHERE "
                    f"contains(CAST({quote(col)} AS VARCHAR), ?) "
                    f"OR contains(CAST({quote(col)} AS VARCHAR), ?)",
                    list(ids),
                ).fetchall()[0][0]
                assert not hits, (table, col)
        left = db.execute("SELECT count(*) FROM identity_map").fetchall()[0][0]
        assert left == 2 * len(LINKED) - 2
        other = db.execute("SELECT count(*) FROM customers WHERE customer_id = ?", [OTHER])
        assert other.fetchall() == [(1,)]


def _copy(shop: Shop, to: Path) -> Path:
    """A copy of the linked workspace (with its privacy key, when it has one)."""
    path = to / "copy.duckdb"
    path.write_bytes(shop.linked.read_bytes())
    key = shop.linked.parent / (shop.linked.name + ".key")
    if key.exists():
        (to / (path.name + ".key")).write_bytes(key.read_bytes())
    return path


def test_an_update_rebuilds_the_persons_a_new_line_of_any_record_touches(
    shop: Shop, tmp_path: Path
):
    path = _copy(shop, tmp_path)
    last = shop.orders["ordered_at"].max()
    new = shop.orders[shop.orders["customer_id"].isin([LINKED[5], LINKED[6], "C000200"])]
    new = new.groupby("customer_id").head(1).copy()
    new["order_id"] = ["N1", "N2", "N3"]
    new["ordered_at"] = pd.Timestamp(last) + pd.Timedelta(hours=1)
    new["customer_id"] = [_second(LINKED[5]), LINKED[6], "C000200"]
    new.to_csv(tmp_path / "week.csv", index=False)
    with segmint.Workspace(path) as ws:
        done = ws.update([tmp_path / "week.csv"], into="orders").features
        assert done.incremental and 0 < done.rebuilt < N, done
        got = ws.table("customer_features").to_pandas().set_index("customer_id").sort_index()
        full = ws.features(as_of=done.as_of).to_pandas().set_index("customer_id").sort_index()
        assert not got.index.str.startswith("D").any()
        pd.testing.assert_frame_equal(got, full, check_exact=False, rtol=1e-9)
        assert got.loc[LINKED[5], "frequency"] == full.loc[LINKED[5], "frequency"]
        # a dedupe run that links two more records: every row is rebuilt
        ws.store.db.execute("INSERT INTO identity_map VALUES ('C000201', 'C000200', 0.9, 2, 'x')")
        new.assign(order_id=["M1", "M2", "M3"]).to_csv(tmp_path / "week2.csv", index=False)
        again = ws.update([tmp_path / "week2.csv"], into="orders").features
        assert not again.incremental and "identity map changed" in again.reason
        ids = ws.store.db.execute("SELECT customer_id FROM customer_features").fetchall()
        assert ("C000201",) not in ids and len(ids) == N - 1


def test_pseudonyms_name_persons(shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    path = _copy(shop, tmp_path)
    before = _export(path, "csv", tmp_path / "before.csv")
    with segmint.Workspace(path) as ws:
        ws.pseudonymize()
        run_pipeline(ws, SPEC, out_dir=tmp_path / "r")  # a run after: kept pseudonymized
        key = workspace_key(ws.store)
        db = ws.store.db
        assigned = {
            r[0]
            for r in db.execute(
                "SELECT customer_id FROM segment_assignments WHERE run_id = "
                "(SELECT max(run_id) FROM segment_assignments)"
            ).fetchall()
        }
        summary = ws.value_summary()
        # the identity tables keep the real ids, like the canonical tables
        assert db.execute(
            "SELECT count(*) FROM identity_map WHERE person_id LIKE 'p_%'"
        ).fetchall() == [(0,)]
    persons = set(shop.customers["customer_id"]) - {OBJECTED}
    assert assigned == {pseudonym(key, c) for c in persons}  # the objector is out here too
    assert set(summary.index) <= {pseudonym(key, c) for c in persons}
    after = _export(path, "csv", tmp_path / "after.csv")
    assert after == before


# -- cross-source: a Shopify customers export and a Mailchimp audience, linked by dedupe ------

SHOPIFY = ["Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
           "Default Address Company", "Default Address Address1", "Default Address Address2",
           "Default Address City", "Default Address Province Code",
           "Default Address Country Code", "Default Address Zip", "Default Address Phone",
           "Phone", "Accepts SMS Marketing", "Total Spent", "Total Orders", "Note",
           "Tax Exempt", "Tags"]  # fmt: skip
MAILCHIMP = ["Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
             "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP",
             "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION",
             "LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS"]  # fmt: skip


def _write(path: Path, header: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows([{k: ("" if v is None else v) for k, v in r.items()} for r in rows])


def _two_sources(root: Path) -> dict[str, str]:
    """The sample shop's customers as a Shopify customers export; a Mailchimp audience with
    half of them (a third of those under another e-mail address, so another customer id)
    and 20 subscribers who never bought; orders under the shop's ids. The truth: the person
    of each customer id these files give."""
    sample = segmint.datasets.make_retail(260, seed=17)
    people = sample.customers.reset_index(drop=True)
    people["shop_id"] = people["email"].str.strip().str.lower()
    truth: dict[str, str] = {}
    shop_rows, mc_rows = [], []
    for i, p in people.iterrows():
        who = str(p["customer_id"])
        if i < 240:
            truth[p["shop_id"]] = who
            shop_rows.append(
                {
                    "Customer ID": 7_000_000 + i,
                    "First Name": p["first_name"],
                    "Last Name": p["last_name"],
                    "Email": p["email"],
                    "Accepts Email Marketing": "yes" if p["consent_email"] else "no",
                    "Default Address City": p["city"],
                    "Default Address Province Code": p["region"],
                    "Default Address Country Code": p["country"],
                    "Default Address Zip": p["postal_code"],
                    "Phone": p["phone"],
                    "Accepts SMS Marketing": "yes" if p["consent_sms"] else "no",
                    "Tax Exempt": "no",
                }
            )
        if i < 120 or i >= 240:
            other = i % 3 == 0 and i < 240  # another address in the newsletter
            email = f"{p['first_name']}.{p['last_name']}.{i}@post.example" if other else p["email"]
            truth[email.strip().lower()] = who
            mc_rows.append(
                {
                    "Email Address": email,
                    "First Name": p["first_name"],
                    "Last Name": p["last_name"],
                    "Phone Number": p["phone"],
                    "MEMBER_RATING": 3,
                    "OPTIN_TIME": "2023-05-01 14:02:11",
                    "CC": p["country"],
                    "REGION": p["region"],
                    "LAST_CHANGED": "2024-01-10 08:00:00",
                    "LEID": 100_000 + i,
                    "EUID": f"e{i:05d}",
                }
            )
    _write(root / "customers_export.csv", SHOPIFY, shop_rows)
    _write(root / "subscribed_members.csv", MAILCHIMP, mc_rows)
    ids = dict(zip(people["customer_id"], people["shop_id"], strict=True))
    orders = sample.orders[sample.orders["customer_id"].isin(people["customer_id"][:240])].copy()
    orders["customer_id"] = orders["customer_id"].map(ids)
    orders.to_csv(root / "orders.csv", index=False)
    return truth


def test_a_shop_and_a_newsletter_count_each_person_once(tmp_path: Path):
    """Both exports imported, ``dedupe`` run: the linker finds the true persons, and a segment
    run holds each person once (before, 40 of them had two customer ids)."""
    truth = _two_sources(tmp_path)
    persons = set(truth.values())
    assert len(truth) == len(persons) + 40

    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(tmp_path / "customers_export.csv", into="customers")
        ws.ingest(tmp_path / "subscribed_members.csv", into="customers")
        ws.ingest(tmp_path / "orders.csv", into="orders")
        ws.clean()
        assert ws.store.count("customers") == len(truth)
        ws.dedupe()
        linked = ws.identity_clusters().set_index("customer_id")["cluster_id"]
        run_pipeline(ws, SPEC, out_dir=tmp_path / "r")
        features = ws.store.db.execute("SELECT customer_id FROM customer_features").fetchall()
        assigned = ws.store.db.execute(
            "SELECT customer_id FROM segment_assignments WHERE segmentation = 'rfm'"
        ).fetchall()
    # the persons the linker found are the true ones
    found = {cid: str(linked.get(cid, cid)) for cid in truth}
    groups = pd.Series(found).groupby(pd.Series(truth)).nunique()
    assert (groups == 1).all(), groups[groups > 1].index.tolist()[:5]
    assert len(set(found.values())) == len(persons)
    # and each counts once
    assert len(features) == len({f[0] for f in features}) == len(persons)
    assert {a[0] for a in assigned} <= set(found.values())
    assert len(assigned) == len({a[0] for a in assigned}) == len(persons)
