"""Pseudonyms (``segmint pseudonymize``): derived tables name customers by a keyed hash.

One sample shop, run and exported before; then pseudonymized. The checks are independent of
the code under test: pseudonyms are recomputed with Python's :mod:`hmac` from the key file,
every text column of every derived table is scanned for real ids, e-mails and phones, and the
export made after pseudonymizing is compared with the one made before.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint.exceptions import WorkspaceError
from segmint.privacy.audit import entries
from segmint.privacy.keys import KEY_ENV, KEY_FILE_ENV
from segmint.privacy.pseudonyms import DERIVED_KINDS, IDENTIFIER, derived_tables, enabled
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store import quote
from segmint.store.tables import workspace_table

SPEC = Spec(
    segmentations=[
        SegmentationSpec(name="rfm", method="rfm"),
        SegmentationSpec(name="value", method="value"),
    ]
)


def _pseudonym(key: bytes, cid: str) -> str:
    return "p_" + hmac.new(key, cid.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return sorted(csv.DictReader(f), key=lambda r: r["customer_id"])


class Shop:
    """A workspace with one run and an export, then pseudonymized."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "shop.duckdb"
        files = segmint.datasets.make_retail(400, seed=3).to_files(root / "data")
        with segmint.Workspace(self.path) as ws:
            for table in ("customers", "orders"):
                ws.ingest(files[table], into=table)
            run_pipeline(ws, SPEC, out_dir=root / "r0")  # its features become a snapshot
            self.run1 = run_pipeline(ws, SPEC, out_dir=root / "r1").run_id
            db = ws.store.db
            self.ids = [r[0] for r in db.execute("SELECT customer_id FROM customers").fetchall()]
            self.contacts = {
                v
                for r in db.execute("SELECT email, phone FROM customers").fetchall()
                for v in r
                if v
            }
            self.label = db.execute(
                "SELECT segment FROM segment_assignments WHERE run_id = ? AND segmentation = "
                "'rfm' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                [self.run1],
            ).fetchone()[0]
            ws.export("rfm", self.label, to="csv", out=root / "before.csv", run=self.run1)
            self.would = ws.pseudonymize(dry_run=True)
            self.unchanged = not enabled(ws.store)
            self.done = ws.pseudonymize()
            self.again = ws.pseudonymize()
        self.key = bytes.fromhex((root / "shop.duckdb.key").read_text().strip())
        self.mapping = {_pseudonym(self.key, c): c for c in self.ids}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(KEY_ENV, raising=False)
        mp.delenv(KEY_FILE_ENV, raising=False)
        yield Shop(tmp_path_factory.mktemp("pseudonyms"))


@pytest.fixture
def ws(shop: Shop) -> Iterator[segmint.Workspace]:
    with segmint.Workspace(shop.path) as w:
        yield w


def _text_values(ws: segmint.Workspace, table: str) -> set[str]:
    found: set[str] = set()
    for col, dtype in ws.store.columns(table).items():
        if dtype in ("VARCHAR", "JSON"):
            rows = ws.store.db.execute(f"SELECT DISTINCT {quote(col)} FROM {quote(table)}")
            found |= {str(r[0]) for r in rows.fetchall() if r[0] is not None}
    return found


def test_the_run_counts_and_the_setting(shop: Shop, ws: segmint.Workspace):
    assert shop.unchanged, "a dry run changed the setting"
    assert shop.would == shop.done and sum(shop.done.values()) > 0
    assert {"customer_features", "segment_assignments", "export_members"} <= set(shop.done)
    assert {"value_summaries", "customer_values"} <= set(shop.done)
    assert any(t.startswith("feature_snapshot_") for t in shop.done)
    assert not any(t in shop.done for t in ("customers", "orders"))
    assert set(shop.again.values()) == {0}, "an already pseudonymized id was hashed again"
    assert enabled(ws.store)
    audit = [e for e in entries(ws.store.db) if e["action"] == "pseudonymize"]
    assert len(audit) == 2 and audit[-1]["detail"]["rows"] == sum(shop.done.values())


def test_no_derived_table_holds_a_real_id_email_or_phone(shop: Shop, ws: segmint.Workspace):
    real = set(shop.ids) | shop.contacts
    tables = derived_tables(ws.store)
    assert len(tables) >= 6
    for table in tables:
        assert not [c for c in ws.store.columns(table) if IDENTIFIER.fullmatch(c)], table
    # every derived table, also those not keyed by customer: results quote example customers
    derived = [t for t in ws.store.table_names() if workspace_table(t).kind in DERIVED_KINDS]
    assert "segmentations" in derived and set(tables) <= set(derived)
    for table in derived:
        leaked = {v for v in _text_values(ws, table) if any(r in v for r in real)}
        assert not leaked, (table, sorted(leaked)[:1])
    examples = ws.store.db.execute("SELECT result FROM segmentations").fetchall()
    assert any('"customer_id": "p_' in r[0] for r in examples)
    # the canonical tables keep the real data
    assert set(shop.ids) <= _text_values(ws, "customers")


def test_pseudonyms_are_the_hmac_of_the_id_and_the_same_everywhere(
    shop: Shop, ws: segmint.Workspace
):
    db = ws.store.db
    per_table = {
        t: {r[0] for r in db.execute(f"SELECT DISTINCT customer_id FROM {quote(t)}").fetchall()}
        for t in derived_tables(ws.store)
    }
    for table, ids in per_table.items():
        assert ids and ids <= set(shop.mapping), (table, sorted(ids - set(shop.mapping))[:3])
    # one customer, followed through the tables that hold it
    assigned = db.execute(
        "SELECT customer_id, segment FROM segment_assignments WHERE run_id = ? AND "
        "segmentation = 'rfm' ORDER BY customer_id LIMIT 1",
        [shop.run1],
    ).fetchone()
    pid = _pseudonym(shop.key, shop.mapping[assigned[0]])
    assert pid == assigned[0]
    assert pid in per_table["customer_features"]
    assert (pid in per_table["export_members"]) == (assigned[1] == shop.label)


def test_export_after_pseudonymizing_reaches_the_same_people(shop: Shop, ws: segmint.Workspace):
    ws.export("rfm", shop.label, to="csv", out=shop.root / "after.csv", run=shop.run1)
    before, after = _rows(shop.root / "before.csv"), _rows(shop.root / "after.csv")
    assert before == after and len(after) > 10
    assert {r["customer_id"] for r in after} <= set(shop.ids)  # the file has the real ids
    members = ws.store.db.execute(
        "SELECT customer_id FROM export_members WHERE export_id = "
        "(SELECT max(export_id) FROM exports)"
    ).fetchall()
    assert {shop.mapping[m[0]] for m in members} == {r["customer_id"] for r in after}


def test_a_later_run_and_export_stay_pseudonymized(shop: Shop, ws: segmint.Workspace):
    run2 = run_pipeline(ws, SPEC, out_dir=shop.root / "r2").run_id
    db = ws.store.db
    rows = db.execute(
        "SELECT customer_id, segment FROM segment_assignments WHERE run_id = ? AND "
        "segmentation = 'rfm'",
        [run2],
    ).fetchall()
    assert len(rows) == len(db.execute("SELECT * FROM customer_features").fetchall())
    assert {r[0] for r in rows} <= set(shop.mapping)
    # the same data: the same customers in the same segments as the first run
    first = dict(
        db.execute(
            "SELECT customer_id, segment FROM segment_assignments WHERE run_id = ? AND "
            "segmentation = 'rfm'",
            [shop.run1],
        ).fetchall()
    )
    assert dict(rows) == first
    value = (  # the value step met the features: the same value segments as the first run
        "SELECT customer_id, segment FROM segment_assignments WHERE run_id = ? AND "
        "segmentation = 'value' ORDER BY 1"
    )
    v1, v2 = (db.execute(value, [r]).fetchall() for r in (shop.run1, run2))
    assert v2 == v1 and len({s for _, s in v2}) > 1
    values = db.execute("SELECT count(*) FROM customer_values WHERE run_id = ?", [run2])
    assert values.fetchone()[0] > 0  # the value summaries met the pseudonymized features
    out = shop.root / "run2.csv"
    ws.export("rfm", shop.label, to="csv", out=out, run=run2)
    emails = dict(db.execute("SELECT customer_id, email FROM customers").fetchall())
    got = _rows(out)
    want = {c for c, s in rows if s == shop.label}
    assert {_pseudonym(shop.key, r["customer_id"]) for r in got} == want
    assert all(r["email"] == (emails[r["customer_id"]] or "") for r in got)
    for table in derived_tables(ws.store):
        assert not _text_values(ws, table) & set(shop.ids), table
    moved = ws.monitor(shop.run1, run2)  # migration joins the two runs' pseudonyms
    assert moved.segmentations and not moved.crossed, moved.alerts


def test_an_experiment_design_is_pseudonymized(shop: Shop, ws: segmint.Workspace):
    out = shop.root / "variants"
    d = ws.design_experiment(
        "spring", "rfm", shop.label, run=shop.run1, variants=("A", "control"), export="csv",
        out=out,
    )  # fmt: skip
    ids = dict(
        ws.store.db.execute(
            "SELECT customer_id, variant FROM experiment_assignments WHERE experiment_id = ?",
            [d.experiment_id],
        ).fetchall()
    )
    assert ids and set(ids) <= set(shop.mapping)
    (file,) = out.glob("*.csv")  # the variant's audience: the real ids of its customers
    got = {r["customer_id"] for r in _rows(file)}
    assert got == {shop.mapping[p] for p, v in ids.items() if v == "A"} and got <= set(shop.ids)


def _api(shop: Shop) -> tuple[TestClient, dict[str, str]]:
    from segmint.api import Settings, create_app, first_admin_token

    app = create_app(Settings(workspace=shop.path))
    admin = first_admin_token(app)
    assert admin is not None
    state = app.state.segmint
    tokens = {"admin": admin, "analyst": state.tokens.create("a", "analyst")[1]}
    return TestClient(app), tokens


def test_api_scores_a_real_id_by_its_pseudonym(shop: Shop):
    client, tokens = _api(shop)
    with client:
        auth = {"Authorization": f"Bearer {tokens['admin']}"}
        with segmint.Workspace(shop.path) as ws:
            stored = dict(
                ws.store.db.execute(
                    "SELECT customer_id, segment FROM segment_assignments WHERE run_id = ? "
                    "AND segmentation = 'rfm'",
                    [shop.run1],
                ).fetchall()
            )
        sample = sorted(stored)[:5]
        body = {"customers": [{"customer_id": shop.mapping[p]} for p in sample]}
        r = client.post(
            f"/api/v1/runs/{shop.run1}/segmentations/rfm/assign", headers=auth, json=body
        )
        assert r.status_code == 200, r.text
        got = {row["customer_id"]: row["segment"] for row in r.json()}
        assert got == {shop.mapping[p]: stored[p] for p in sample}
        unknown = client.post(
            f"/api/v1/runs/{shop.run1}/segmentations/rfm/assign",
            headers=auth,
            json={"customers": [{"customer_id": "nobody"}]},
        )
        assert unknown.status_code == 400 and "nobody" in unknown.json()["problem"]
        analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
        assert client.post("/api/v1/pseudonymize", headers=analyst, json={}).status_code == 403
        again = client.post("/api/v1/pseudonymize", headers=auth, json={})
        assert again.status_code == 200 and again.json()["rows"] == 0
        client.app.state.segmint.close()  # type: ignore[attr-defined]


def test_another_key_is_refused(shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(shop.path, copy)
    monkeypatch.setenv(KEY_ENV, "ab" * 32)
    with segmint.Workspace(copy) as w:
        with pytest.raises(WorkspaceError, match="not the key this workspace was used with"):
            w.pseudonymize()
        with pytest.raises(WorkspaceError, match="not the key"):
            w.export("rfm", shop.label, to="csv", out=tmp_path / "x.csv", run=shop.run1)
    assert not (tmp_path / "x.csv").exists()


def test_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from segmint.cli import app

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    store = segmint.Workspace(tmp_path / "w.duckdb")
    files: dict[str, Any] = segmint.datasets.make_retail(80, seed=1).to_files(tmp_path / "d")
    store.ingest(files["orders"])
    store.features()
    store.close()
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    args = ["pseudonymize", "--workspace", str(tmp_path / "w.duckdb")]
    dry = runner.invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0 and "nothing was changed" in dry.output, dry.output
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0 and "customer_features" in done.output, done.output
    with segmint.Workspace(tmp_path / "w.duckdb") as w:
        ids = {
            r[0] for r in w.store.db.execute("SELECT customer_id FROM customer_features").fetchall()
        }
        assert all(i.startswith("p_") and len(i) == 34 for i in ids)
    assert "HMAC-SHA-256" in runner.invoke(app, ["pseudonymize", "--help"], env=env).output


def test_an_update_and_campaign_results_work_with_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import pandas as pd

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    s = segmint.datasets.make_retail(300, seed=5)
    o = s.orders
    cut = o.ordered_at.quantile(0.9)
    files = {n: tmp_path / f"{n}.csv" for n in ("customers", "old", "new")}
    s.customers.to_csv(files["customers"], index=False)
    o[o.ordered_at <= cut].to_csv(files["old"], index=False)
    o[o.ordered_at > cut].to_csv(files["new"], index=False)
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(files["customers"], into="customers")
        ws.ingest(files["old"], into="orders")
        contacts = tmp_path / "contacts.csv"
        s.campaign_contacts.to_csv(contacts, index=False)
        ws.ingest(contacts, into="campaign_contacts")
        run1 = run_pipeline(ws, SPEC, out_dir=tmp_path / "r1").run_id
        results = ws.campaigns(by="segment", segmentation="rfm", run=run1).to_dict()
        assert len({r["segment"] for r in results["rows"]} - {None}) > 1, results["notes"]
        ws.pseudonymize()
        # campaign contacts (real ids) still meet the assignments (pseudonyms)
        assert ws.campaigns(by="segment", segmentation="rfm", run=run1).to_dict() == results
        done = ws.update([files["new"]], into="orders")
        assert 0 < done.features.rebuilt < done.features.customers, done.features
        as_of = ws.runs()[-1]["spec"]["as_of"]
        got = ws.table("customer_features").to_pandas().set_index("customer_id").sort_index()
        n_values = ws.store.db.execute(
            "SELECT count(*) FROM customer_values WHERE run_id = ?", [done.run_id]
        ).fetchone()
    key = bytes.fromhex((tmp_path / "w.duckdb.key").read_text().strip())
    with segmint.Workspace(tmp_path / "ref.duckdb") as ref:  # everything at once, real ids
        ref.ingest(files["customers"], into="customers")
        ref.ingest(files["old"], into="orders")
        ref.ingest(files["new"], into="orders")
        ref.clean()
        full = ref.features(as_of=as_of).to_pandas()
    full["customer_id"] = [_pseudonym(key, c) for c in full["customer_id"]]
    full = full.set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(got, full, check_exact=False, rtol=1e-9)
    assert n_values and n_values[0] > 0


def test_the_admin_page_button(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from segmint.api import Settings, create_app, first_admin_token
    from tests.test_web import csrf_of, sign_in

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        files = segmint.datasets.make_retail(60, seed=2).to_files(tmp_path / "d")
        ws.ingest(files["orders"])
        ws.features()
    app = create_app(Settings(workspace=tmp_path / "w.duckdb"))
    admin = first_admin_token(app)
    assert admin is not None
    analyst = app.state.segmint.tokens.create("a", "analyst")[1]
    with TestClient(app) as other:
        sign_in(other, analyst)
        assert other.get("/tokens").status_code == 403
    with TestClient(app) as client:
        sign_in(client, admin)
        page = client.get("/tokens").text
        assert 'data-confirm="Replace customer ids' in page
        done = client.post("/privacy/pseudonymize", data={"csrf": csrf_of(page)})
        assert done.status_code == 200 and "are now pseudonyms" in done.text
        assert "This workspace keeps pseudonyms" in done.text
        with segmint.Workspace(tmp_path / "w.duckdb") as ws:
            assert enabled(ws.store)
            last = entries(ws.store.db)[0]
            assert (last["action"], last["actor"]) == ("pseudonymize", "admin")
    app.state.segmint.close()


def test_plain_sha256_only_where_an_ad_platform_asks_for_it(shop: Shop, ws: segmint.Workspace):
    from segmint.activate.exporters import all_exporters

    hashing = {e.name for e in all_exporters().values() if any(c.hash for c in e.columns)}
    assert hashing == {"google-ads", "meta"}
    assert all(e.hashable == (e.name in hashing) for e in all_exporters().values())
    ws.export("rfm", shop.label, to="google-ads", out=shop.root / "ads.csv", min_size=1,
              assume_consent=True, run=shop.run1)  # fmt: skip
    plain = set()
    for value in [*shop.ids, *shop.contacts]:
        for form in {value, value.strip().lower(), "".join(ch for ch in value if ch.isdigit())}:
            plain.add(hashlib.sha256(form.encode()).hexdigest())
    with (shop.root / "ads.csv").open(newline="") as f:
        assert {r["Email"] for r in csv.DictReader(f)} & plain  # the file: as Google asks
    for table in ws.store.table_names():  # the workspace: no plain hash of anyone
        assert not _text_values(ws, table) & plain, table


def test_the_docs_example_runs(monkeypatch: pytest.MonkeyPatch):
    import re

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    text = (Path(__file__).parents[1] / "docs" / "privacy.md").read_text(encoding="utf-8")
    section = text.split("## Pseudonyms", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/privacy.md#pseudonyms", "exec"), {})


def test_a_results_file_with_real_ids_finds_their_segments(shop: Shop, ws: segmint.Workspace):
    db = ws.store.db
    assigned = db.execute(
        "SELECT customer_id, segment_name FROM segment_assignments WHERE run_id = ? AND "
        "segmentation = 'rfm' ORDER BY customer_id",
        [shop.run1],
    ).fetchall()
    path = shop.root / "results.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "variant", "converted"])
        for i, (pid, _) in enumerate(assigned):
            w.writerow([shop.mapping[pid], "A" if i % 2 else "control", i % 3 == 0])
    a = ws.analyze_experiment(
        path, variant_column="variant", metrics=["converted"], by="rfm", run=shop.run1
    )
    assert set(a.segments) == {name for _, name in assigned}
