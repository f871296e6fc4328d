"""Subject access through the real parts: the sample shop imported, cleaned, segmented and
exported (segmint run, then an audience file), then one customer's file written by the
command line, read back and checked against direct queries of the workspace; the REST API
and the admin page answer the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint.api import Settings, create_app, first_admin_token
from segmint.cli import app
from segmint.privacy.access import subject_target
from tests.test_web import csrf_of, sign_in

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(workspace, the audience file of the largest RFM segment)."""
    root = tmp_path_factory.mktemp("access")
    files = segmint.datasets.make_retail(300, seed=8).to_files(root / "data", format="csv")
    spec = root / "s.yaml"
    spec.write_text(
        "sources:\n"
        f"  - {{path: {files['customers']}, as: customers}}\n"
        f"  - {{path: {files['orders']}, as: orders}}\n"
        "segmentations:\n  - {name: rfm, method: rfm}\n  - {name: clusters, method: kmeans, k: 3}\n"
    )
    ws = root / "shop.duckdb"
    r = runner.invoke(app, ["run", "--spec", str(spec), "-w", str(ws), "--out", str(root / "r")])
    assert r.exit_code == 0, r.output
    out = root / "audience.csv"
    with segmint.Workspace(ws) as w:
        label = w.store.db.execute(
            "SELECT segment FROM segment_assignments WHERE segmentation = 'rfm' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
        w.export("rfm", label, to="csv", out=out)
    return ws, out


@pytest.fixture
def ws_path(shop: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "shop.duckdb"
    shutil.copy(shop[0], copy)
    key = Path(f"{shop[0]}.key")  # the privacy key travels with the workspace
    if key.exists():
        shutil.copy(key, f"{copy}.key")
    return copy


def _exported_customer(ws_path: Path) -> tuple[str, str]:
    """(id, e-mail) of a customer in the audience file who has orders and an e-mail."""
    with segmint.Workspace(ws_path, read_only=True) as ws:
        row = ws.store.db.execute(
            "SELECT c.customer_id, c.email FROM export_members m "
            "JOIN customers c USING (customer_id) WHERE c.email IS NOT NULL "
            "AND c.customer_id IN (SELECT customer_id FROM orders) ORDER BY 1 LIMIT 1"
        ).fetchone()
    return row[0], row[1]


def test_the_file_holds_their_orders_segments_and_exports(
    ws_path: Path, shop: tuple[Path, Path], tmp_path: Path
):
    cid, _ = _exported_customer(ws_path)
    out = tmp_path / "person.json"
    r = runner.invoke(
        app, ["subject-access", "--customer", cid, "--out", str(out), "-w", str(ws_path)]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["customer_ids"] == [cid] and data["searched"] == {"customer_id": cid}
    assert data["generated_at"] and data["workspace"] == str(ws_path) and data["summary"]
    with segmint.Workspace(ws_path, read_only=True) as ws:
        db = ws.store.db
        n_orders = db.execute("SELECT count(*) FROM orders WHERE customer_id = ?", [cid]).fetchone()
        assigned = db.execute(
            "SELECT run_id, segmentation, segment, segment_name FROM segment_assignments "
            "WHERE customer_id = ? ORDER BY 1, 2",
            [cid],
        ).fetchall()
        target = subject_target(ws.store, cid)
        audit = db.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'subject_access' AND target = ?",
            [target],
        ).fetchone()
    assert len(data["tables"]["orders"]) == n_orders[0] > 0
    assert f"{n_orders[0]:,} row{'s' if n_orders[0] != 1 else ''} in orders" in data["summary"]
    got = sorted(
        (s["run_id"], s["segmentation"], s["segment"], s["segment_name"]) for s in data["segments"]
    )
    assert got == sorted(assigned) and {s for _, s, _, _ in assigned} == {"rfm", "clusters"}
    assert [e["path"] for e in data["exports"]] == [str(shop[1].resolve())]
    assert data["tables"]["customers"][0]["customer_id"] == cid
    assert isinstance(data["tables"]["orders"][0]["ordered_at"], str)  # ISO text
    assert audit[0] == 1  # one audit row, targeted by the keyed hash, not the id


def test_an_email_in_another_case_finds_the_same_person(ws_path: Path, tmp_path: Path):
    cid, email = _exported_customer(ws_path)
    out = tmp_path / "by-email.json"
    typed = f"  {email.swapcase()} "
    r = runner.invoke(
        app, ["subject-access", "--email", typed, "--out", str(out), "-w", str(ws_path)]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["customer_ids"] == [cid]
    assert data["tables"]["customers"][0]["email"] == email


def test_nobody_matching_writes_nothing_and_exits_2(ws_path: Path, tmp_path: Path):
    out = tmp_path / "nobody.json"
    r = runner.invoke(
        app,
        [
            "subject-access",
            "--email",
            "nobody@nowhere.invalid",
            "--out",
            str(out),
            "-w",
            str(ws_path),
        ],
    )
    assert r.exit_code == 2
    assert "Nobody" in r.output and "nothing was written" in r.output
    assert "Traceback" not in r.output
    assert not out.exists() and list(tmp_path.glob("*nobody*")) == []


def test_api_and_admin_page_answer_admins_only(ws_path: Path):
    cid, email = _exported_customer(ws_path)
    server = create_app(Settings(workspace=ws_path, schedule_poll_s=0))
    admin = first_admin_token(server)
    assert admin is not None
    analyst = server.state.segmint.tokens.create("ana", "analyst")[1]
    with TestClient(server) as client:
        url = "/api/v1/subject-access"
        refused = client.get(
            url, params={"email": email}, headers={"Authorization": f"Bearer {analyst}"}
        )
        assert refused.status_code == 403
        auth = {"Authorization": f"Bearer {admin}"}
        found = client.get(url, params={"email": email.upper()}, headers=auth)
        assert found.status_code == 200, found.text
        assert found.json()["customer_ids"] == [cid]
        missing = client.get(url, params={"email": "nobody@nowhere.invalid"}, headers=auth)
        assert missing.status_code == 404
        sign_in(client, admin)
        page = client.get("/retention")
        download = client.post(
            "/subject-access",
            data={"csrf": csrf_of(page.text), "kind": "customer_id", "value": cid},
        )
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        assert json.loads(download.content)["customer_ids"] == [cid]
    server.state.segmint.close()
