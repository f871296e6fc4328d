"""Erasure (issue 14): one customer of the sample shop, after a run, a report and an export.

Each check starts from a positive control: before the erasure the workspace file, the WAL-free
file and the reports DO hold the customer's id and e-mail (so a byte search that finds
nothing afterwards means something). Then: no table holds them in any text or JSON column,
no byte of the workspace file or of any report does, the export file was named, the audit
log has the erasure, the next run works, and importing their rows again leaves them out,
counted. The same for a customer who is only in a per-run feature snapshot.

DuckDB compresses what it stores (dictionaries, FSST), so a value that survives could escape
a byte search. The tests therefore store everything uncompressed (DuckDB's
``force_compression``, set on every connection the CLI opens): every stored value is then
visible in the bytes, and the positive controls hold for any customer.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.privacy.keys import keyed_hash, workspace_key
from segmint.store import Store


@pytest.fixture(scope="module", autouse=True)
def _uncompressed() -> Any:
    original = Store._limit_memory

    def limit_and_uncompress(self: Store) -> None:
        original(self)
        self.db.execute("SET force_compression = 'uncompressed'")

    Store._limit_memory = limit_and_uncompress  # type: ignore[method-assign]
    yield
    Store._limit_memory = original  # type: ignore[method-assign]


def _cli(*args: str, code: int = 0) -> str:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert r.exit_code == code, r.output
    return r.output


def _shop_run(d: Path, customers: int, seed: int, out: str = "rep") -> tuple[Any, Path]:
    """A sample shop written as CSV and run through `segmint run` (report in ``d / out``)."""
    shop = segmint.datasets.make_retail(customers, seed=seed)
    shop.customers.to_csv(d / "customers.csv", index=False)
    shop.orders.to_csv(d / "orders.csv", index=False)
    ws = d / "shop.duckdb"
    _cli("run", str(d / "customers.csv"), str(d / "orders.csv"), "-w", str(ws),
         "--out", str(d / out))  # fmt: skip
    return shop, ws


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A sample shop after `segmint run` (report) and an export of one customer's segment."""
    d = tmp_path_factory.mktemp("erase")
    shop, ws = _shop_run(d, 400, seed=5)
    report = json.loads((d / "rep" / "report.json").read_text(encoding="utf-8"))
    quoted = set(re.findall(r'"customer_id": "(C\d+)"', json.dumps(report)))
    with _open(ws) as s:
        rows = s.db.execute(
            "SELECT a.customer_id, a.segment, c.email, c.phone FROM segment_assignments a "
            "JOIN customers c USING (customer_id) WHERE a.segmentation = 'rfm' "
            "AND c.email IS NOT NULL AND c.phone IS NOT NULL ORDER BY 1"
        ).fetchall()
    cid, segment, email, phone = next(r for r in rows if r[0] in quoted)
    _cli("export", "--segmentation", "rfm", "--segment", segment, "--to", "csv",
         "--out", str(d / "audience.csv"), "-w", str(ws))  # fmt: skip
    return {"dir": d, "ws": ws, "id": cid, "email": email, "phone": phone, "shop": shop}


class _open:
    """A read-only look at the workspace that is closed again (the erasure rewrites it)."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path, read_only=True)

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _files(d: Path, ws: Path) -> list[Path]:
    reports = [p for p in (d / "rep").rglob("*") if p.is_file()]
    return [ws, *(p for p in [Path(f"{ws}.wal")] if p.exists()), *reports]


def _tokens(b: dict[str, Any]) -> list[str]:
    return [b["id"], b["email"], b["phone"]]


def _found_in_bytes(paths: list[Path], tokens: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in paths:
        data = p.read_bytes()
        hits = [t for t in tokens if re.search(rb"(?<![0-9A-Za-z])" + re.escape(t.encode())
                                               + rb"(?![0-9])", data)]  # fmt: skip
        if hits:
            out[str(p)] = hits
    return out


def _found_in_tables(ws: Path, tokens: list[str]) -> list[str]:
    hits = []
    with _open(ws) as s:
        for table in s.table_names():
            for col, dtype in s.columns(table).items():
                if not dtype.upper().startswith(("VARCHAR", "JSON")):
                    continue
                for t in tokens:
                    n = s.db.execute(
                        f'SELECT count(*) FROM "{table}" WHERE '
                        f'regexp_matches(CAST("{col}" AS VARCHAR), ?)',
                        [r"(^|[^0-9A-Za-z])" + re.escape(t) + r"($|[^0-9])"],
                    ).fetchone()
                    if n and n[0]:
                        hits.append(f"{table}.{col}: {t}")
    return hits


def test_erasure_leaves_no_row_quote_or_byte(built: dict[str, Any]) -> None:
    d, ws, tokens = built["dir"], built["ws"], _tokens(built)
    # positive controls: the workspace, the report and its JSON hold the customer now
    before = _found_in_bytes(_files(d, ws), tokens)
    assert str(ws) in before and built["id"] in before[str(ws)]
    assert str(d / "rep" / "report.json") in before
    assert str(d / "rep" / "report.html") in before
    assert _found_in_tables(ws, tokens)

    dry = _cli("erase", "--email", built["email"].upper(), "--dry-run", "-w", str(ws))
    assert "Would erase 1 customer" in dry and "x0001" in dry
    out = _cli("erase", "--customer", built["id"], "--reason", "ticket 7", "-w", str(ws),
               "--json", str(d / "erased.json"))  # fmt: skip
    done = json.loads((d / "erased.json").read_text(encoding="utf-8"))
    # the export file that held them is named (withdraw it from the platform)
    assert [e["path"] for e in done["exports"]] == [str(d / "audience.csv")]
    assert str(d / "audience.csv") in out
    assert done["rows"]["customers"] == 1 and done["rows"]["segment_assignments"] >= 3
    orders = built["shop"].orders
    assert done["rows"]["orders"] == int((orders.customer_id == built["id"]).sum())
    assert str(d / "rep" / "report.json") in done["reports_rewritten"]

    assert _found_in_tables(ws, tokens) == []
    assert _found_in_bytes(_files(d, ws), tokens) == {}
    json.loads((d / "rep" / "report.json").read_text(encoding="utf-8"))  # still valid JSON
    with _open(ws) as s:
        key = workspace_key(s)
        audit = s.db.execute(
            "SELECT target, detail FROM audit_log WHERE action = 'erase'"
        ).fetchall()
        n_supp = s.db.execute("SELECT count(*) FROM suppressions").fetchone()
    assert len(audit) == 1 and audit[0][0] == done["erasure_id"]
    assert done["erasure_id"] == "e:" + keyed_hash(key, built["id"])[:16]
    assert json.loads(audit[0][1])["reason"] == "ticket 7"
    assert n_supp and n_supp[0] == 3  # id, e-mail, phone: keyed hashes only

    # the next run works and does not bring them back
    _cli("run", "-w", str(ws), "--out", str(d / "rep2"))
    assert _found_in_tables(ws, tokens) == []


def test_reimport_of_an_erased_person_is_left_out_and_counted(built: dict[str, Any]) -> None:
    d, ws = built["dir"], built["ws"]
    # runs after test_erasure_leaves_no_row_quote_or_byte, on the workspace it erased from
    assert _found_in_tables(ws, [built["id"]]) == [], "run the whole module"
    orders = built["shop"].orders
    theirs = orders[orders.customer_id == built["id"]]
    again = pd.concat([theirs, orders[orders.customer_id != built["id"]].head(50)])
    again = again.assign(order_id=again.order_id.astype(str) + "-again")
    again.to_csv(d / "orders_again.csv", index=False)
    out = _cli("ingest", str(d / "orders_again.csv"), "-w", str(ws))
    assert f"{len(theirs):,} rows left out" in out
    # by e-mail alone (another id, the e-mail in another case) they are left out too
    c = built["shop"].customers
    row = c[c.customer_id == built["id"]].assign(customer_id="NEW-ID", email=built["email"].upper())
    row.to_csv(d / "customers_again.csv", index=False)
    out = _cli("ingest", str(d / "customers_again.csv"), "-w", str(ws), "--as", "customers")
    assert "1 rows left out" in out or "1 row left out" in out
    assert _found_in_tables(ws, [built["id"], built["email"], "NEW-ID"]) == []


def test_a_customer_only_in_a_feature_snapshot_is_erased(tmp_path: Path) -> None:
    shop = segmint.datasets.make_retail(300, seed=9)
    gone = str(shop.customers.customer_id.iloc[7])
    shop.customers.to_csv(tmp_path / "c.csv", index=False)
    shop.orders.to_csv(tmp_path / "o.csv", index=False)
    ws = tmp_path / "w.duckdb"
    _cli("run", str(tmp_path / "c.csv"), str(tmp_path / "o.csv"), "-w", str(ws),
         "--out", str(tmp_path / "r1"))  # fmt: skip
    # the second run's data no longer has them: only the first run's snapshot does
    shop.customers[shop.customers.customer_id != gone].to_csv(tmp_path / "c2.csv", index=False)
    shop.orders[shop.orders.customer_id != gone].to_csv(tmp_path / "o2.csv", index=False)
    _cli("ingest", str(tmp_path / "c2.csv"), "--replace", "-w", str(ws))
    _cli("ingest", str(tmp_path / "o2.csv"), "--replace", "-w", str(ws))
    _cli("run", "-w", str(ws), "--out", str(tmp_path / "r2"))
    with _open(ws) as s:
        where = {}
        for t in s.table_names():
            if "customer_id" in s.columns(t):
                row = s.db.execute(
                    f'SELECT count(*) FROM "{t}" WHERE customer_id = ?', [gone]
                ).fetchone()
                if row and row[0]:
                    where[t] = row[0]
    assert any(t.startswith("feature_snapshot_") for t in where), where
    assert "customer_features" not in where and "customers" not in where
    assert _found_in_bytes([ws], [gone])

    _cli("erase", "--customer", gone, "-w", str(ws))
    assert _found_in_tables(ws, [gone]) == []
    assert _found_in_bytes([ws], [gone]) == {}
    _cli("run", "-w", str(ws), "--out", str(tmp_path / "r3"))


def test_nobody_found_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    shop = segmint.datasets.make_retail(120, seed=2)
    shop.customers.to_csv(tmp_path / "c.csv", index=False)
    ws = tmp_path / "w.duckdb"
    _cli("ingest", str(tmp_path / "c.csv"), "-w", str(ws))
    size = ws.stat().st_size
    shutil.copy(ws, tmp_path / "copy.duckdb")
    out = _cli("erase", "--email", "nobody@example.org", "-w", str(ws), code=2)
    assert "No customer in this workspace has the e-mail" in out and "Traceback" not in out
    assert ws.stat().st_size == size
    out = _cli("erase", "--email", "a@b.c", "--customer", "C1", "-w", str(ws), code=2)
    assert "exactly one" in out


def test_privacy_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/privacy.md's Python examples of Erasure and Retention, on a shop where one
    customer is ann@example.org."""
    from tests.test_docs import DOCS

    shop = segmint.datasets.make_retail(150, seed=4)
    customers = shop.customers.copy()
    customers.loc[0, "email"] = "ann@example.org"
    customers.to_csv(tmp_path / "customers.csv", index=False)
    shop.orders.to_csv(tmp_path / "orders.csv", index=False)
    (tmp_path / "segmint.yaml").write_text("retention:\n  orders: 3y\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with segmint.Workspace("shop.duckdb") as ws:
        ws.ingest("customers.csv")
        ws.ingest("orders.csv")
        ws.clean()
    text = (DOCS / "privacy.md").read_text(encoding="utf-8")
    for heading in ("## Erasure", "## Retention"):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
        assert blocks, heading
        for code in blocks:
            exec(compile(code, f"docs/privacy.md {heading}", "exec"), {})


def test_erasure_reaches_pseudonymized_tables(tmp_path: Path) -> None:
    """With pseudonyms on, derived tables name the customer by pseudonym: those rows go too."""
    from segmint.privacy.pseudonyms import pseudonym

    shop, ws = _shop_run(tmp_path, 200, seed=6)
    _cli("pseudonymize", "-w", str(ws))
    cid = str(shop.customers.customer_id.iloc[4])
    with _open(ws) as s:
        alias = pseudonym(workspace_key(s), cid)
        n = s.db.execute(
            "SELECT count(*) FROM segment_assignments WHERE customer_id = ?", [alias]
        ).fetchone()
    assert n and n[0] > 0
    access = tmp_path / "access.json"
    _cli("subject-access", "--customer", cid, "--out", str(access), "-w", str(ws))
    assert json.loads(access.read_text(encoding="utf-8"))["segments"]
    _cli("erase", "--customer", cid, "-w", str(ws))
    assert _found_in_tables(ws, [cid, alias]) == []
    assert _found_in_bytes([ws], [cid, alias]) == {}
