"""Consent on every path that produces an audience, on the sample shop with a real run.

The shop's customers carry every case per channel: consent true, false and missing; some
objected to profiling (explicit false), others said nothing about it. Then every path that
writes an audience goes: ``segmint export`` (each destination), ``Workspace.export``, the
REST export, the web app's Export form, and split-test variant files (CLI and Python). No file
and no export log row may hold a customer whose consent for the file's channel is false or
missing (with ``--assume-consent``: false), nor one who objected to profiling; a profiling
objector is in no segment run's assignments, and both ``segmint run`` and ``segmint update``
count them. (REST and the web app design split tests without files: their variants are
exported through the export route, covered here.)
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint.activate.exporters import all_exporters
from segmint.api import Settings, create_app, first_admin_token
from segmint.cli import app as cli
from segmint.datasets import make_retail
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

runner = CliRunner()
N = 400
#: every 4th customer objected to profiling among the first 80 (explicit false)
OBJECTORS = {f"C{i:06d}" for i in range(1, 81, 4)}
#: the customer who objects after the run (the exports must leave them out too)
LATE = "C000003"


def _flag(i: int, salt: int) -> bool | None:
    """True, false or missing, spread over the customers per channel."""
    return (True, False, None)[(i * 7 + salt) % 3]


@dataclass
class Shop:
    root: Path
    ws: Path
    customers: pd.DataFrame
    run_output: str

    def allowed(self, channel: str | None, *, assumed: bool = False) -> set[str]:
        """Customer ids a file for ``channel`` may hold (None: a plain file, any consent)."""
        c = self.customers
        ok = ~c["customer_id"].isin(OBJECTORS | {LATE})
        if channel is not None:
            flag = c[f"consent_{channel}"]
            ok &= (flag != False) if assumed else (flag == True)  # noqa: E712
        return set(c.loc[ok, "customer_id"])


def _invoke(*args: str) -> Any:
    result = runner.invoke(cli, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    root = tmp_path_factory.mktemp("consent-paths")
    sample = make_retail(N, seed=11)
    customers = sample.customers.copy()
    for k, channel in enumerate(("email", "sms", "ads")):
        customers[f"consent_{channel}"] = [_flag(i, k) for i in range(N)]
    customers["consent_profiling"] = [
        False if cid in OBJECTORS else (True if i % 5 == 0 else None)
        for i, cid in enumerate(customers["customer_id"])
    ]
    customers.to_csv(root / "customers.csv", index=False)
    sample.orders.to_csv(root / "orders.csv", index=False)
    ws = root / "shop.duckdb"
    with segmint.Workspace(ws) as w:
        w.ingest(root / "customers.csv", into="customers")
    out = _invoke("run", str(root / "orders.csv"), "-w", str(ws), "--out", str(root / "report"))
    with segmint.Workspace(ws) as w:  # an objection after the run
        w.set_consent(LATE, "profiling", "denied", source="support ticket 7")
    customers.loc[customers["customer_id"] == LATE, "consent_profiling"] = False
    return Shop(root, ws, customers, out.output)


def _email_ids(shop: Shop) -> dict[str, str]:
    with segmint.Workspace(shop.ws) as w:
        rows = w.store.db.execute("SELECT lower(email), customer_id FROM customers").fetchall()
    return {e: c for e, c in rows if e}


def _channel(destination: str) -> str | None:
    return {"ads": "ads", "email": "email", "file": None}[all_exporters()[destination].audience]


def _check_log(shop: Shop) -> int:
    """Every export logged so far holds only customers its channel allows; the count."""
    with segmint.Workspace(shop.ws) as w:
        logged = w.exports()
        members = w.store.db.execute("SELECT export_id, customer_id FROM export_members").df()
    for e in logged:
        held = set(members.loc[members["export_id"] == e.export_id, "customer_id"])
        allowed = shop.allowed(_channel(e.destination), assumed=e.assume_consent)
        assert held and held <= allowed, (e.export_id, e.destination, sorted(held - allowed)[:5])
        assert len(held) == e.rows_written
    return len(logged)


def _check_file(shop: Shop, destination: str, text: str, *, assumed: bool = False) -> int:
    """The customers of one audience file (by id or e-mail) are all allowed; the rows."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    allowed = shop.allowed(_channel(destination), assumed=assumed)
    if "customer_id" in header:
        ids = {r[header.index("customer_id")] for r in body}
    else:
        col = next(i for i, h in enumerate(header) if "mail" in h.lower())
        emails = _email_ids(shop)
        ids = {emails[r[col].lower()] for r in body}
    assert body and ids <= allowed, (destination, sorted(ids - allowed)[:5])
    return len(body)


# -- segmentation ---------------------------------------------------------------------------


def test_profiling_objectors_are_in_no_segmentation_and_counted(shop: Shop) -> None:
    with segmint.Workspace(shop.ws) as w:
        db = w.store.db
        run_id, counts = db.execute(
            "SELECT run_id, row_counts FROM runs WHERE kind = 'segment' ORDER BY seq DESC"
        ).fetchone()
        assigned = db.execute(
            "SELECT segmentation, list(customer_id) FROM segment_assignments WHERE run_id = ? "
            "GROUP BY ALL",
            [run_id],
        ).fetchall()
        values = db.execute("SELECT list(customer_id) FROM customer_values").fetchone()[0]
        features = db.execute("SELECT count(*) FROM customer_features").fetchone()[0]
    assert {name for name, _ in assigned} >= {"rfm", "clusters"}
    for name, ids in assigned:
        assert not OBJECTORS & set(ids), name
        assert len(ids) == features - len(OBJECTORS), name  # everyone else is assigned
    assert not OBJECTORS & set(values or [])  # no value forecast for them either
    assert json.loads(counts)["objected_to_profiling"] == len(OBJECTORS)
    said = f"{len(OBJECTORS)} customers left out: they objected to profiling"
    assert said in " ".join(shop.run_output.split())


def test_update_leaves_out_the_late_objector_and_counts_both(shop: Shop, tmp_path: Path) -> None:
    with segmint.Workspace(shop.ws) as w:
        last = w.store.db.execute("SELECT max(ordered_at) FROM orders").fetchone()[0]
    new = pd.DataFrame(
        {
            "order_id": ["U1", "U2"],
            "customer_id": ["C000010", LATE],
            "ordered_at": [last + pd.Timedelta(days=1)] * 2,
            "amount": [25.0, 40.0],
        }
    )
    new.to_csv(tmp_path / "week.csv", index=False)
    out = _invoke("update", str(tmp_path / "week.csv"), "-w", str(shop.ws), "--json", "-")
    data = json.loads(out.output)
    objected = OBJECTORS | {LATE}
    assert f"{len(objected)} customers left out: they objected to profiling" in " ".join(
        data["notes"]
    )
    with segmint.Workspace(shop.ws) as w:
        ids = w.store.db.execute(
            "SELECT list(customer_id) FROM segment_assignments WHERE run_id = ?", [data["run_id"]]
        ).fetchone()[0]
        counts = w.store.db.execute(
            "SELECT row_counts FROM runs WHERE run_id = ?", [data["run_id"]]
        ).fetchone()[0]
    assert ids and not objected & set(ids)
    assert json.loads(counts)["objected_to_profiling"] == len(objected)


# -- audiences ------------------------------------------------------------------------------


def _first_run(shop: Shop) -> str:
    """The run of ``segmint run`` (before the late objection; the update's run comes later)."""
    with segmint.Workspace(shop.ws) as w:
        return str(w.store.db.execute("SELECT min(run_id) FROM segment_assignments").fetchone()[0])


def _segments(shop: Shop) -> list[str]:
    """Every rfm segment of the first run (all customers but the objectors)."""
    with segmint.Workspace(shop.ws) as w:
        rows = w.store.db.execute(
            "SELECT DISTINCT segment FROM segment_assignments WHERE run_id = ? "
            "AND segmentation = 'rfm'",
            [_first_run(shop)],
        ).fetchall()
    return sorted(r[0] for r in rows)


@pytest.mark.parametrize("destination", list(all_exporters()))
@pytest.mark.parametrize("assumed", [False, True])
def test_cli_export_to_every_destination(shop: Shop, destination: str, assumed: bool) -> None:
    out = shop.root / f"cli-{destination}-{assumed}.csv"
    args = ["export", "-w", str(shop.ws), "-s", "rfm", "--to", destination, "--out", str(out)]
    args += ["--run", _first_run(shop)]
    args += [a for seg in _segments(shop) for a in ("--segment", seg)]
    args += ["--min-size", "1", *(["--plain"] if all_exporters()[destination].hashable else [])]
    _invoke(*args, *(["--assume-consent"] if assumed else []))
    if destination in ("google-ads", "meta"):  # identifiers only: the log says who is in it
        assert _check_log(shop)
    else:
        _check_file(shop, destination, out.read_text(encoding="utf-8"), assumed=assumed)
    with segmint.Workspace(shop.ws) as w:
        left = w.exports()[0].left_out
    assert left["objected to profiling"] == 1  # the late objector, who is in the old run


def test_python_export_and_split_test_files(shop: Shop) -> None:
    run, segments = _first_run(shop), _segments(shop)
    with segmint.Workspace(shop.ws) as w:
        r = w.export("rfm", segments, to="mailchimp", out=shop.root / "py.csv", run=run)
        design = w.design_experiment(
            "consent-py",
            "rfm",
            segments,
            run=run,
            export="klaviyo",
            out=shop.root / "variants-py",
            min_size=1,
        )
    assert _check_file(shop, "mailchimp", (shop.root / "py.csv").read_text()) == r.rows_written
    files = sorted((shop.root / "variants-py").glob("*.csv"))
    assert files and len(files) == len(design.exports) == 2  # A and B; control gets none
    for f in files:
        _check_file(shop, "klaviyo", f.read_text(encoding="utf-8"))
    assert _check_log(shop)


def test_cli_split_test_files(shop: Shop) -> None:
    out = shop.root / "variants-cli"
    args = ["experiment", "design", "-w", str(shop.ws), "-s", "rfm", "--name", "consent-cli"]
    args += ["--run", _first_run(shop)]
    args += [a for seg in _segments(shop) for a in ("--segment", seg)]
    _invoke(*args, "--export", "hubspot", "--out", str(out), "--min-size", "1")
    files = sorted(out.glob("*.csv"))
    assert files
    for f in files:
        _check_file(shop, "hubspot", f.read_text(encoding="utf-8"))
    assert _check_log(shop)


@pytest.fixture(scope="module")
def server(shop: Shop) -> Iterator[tuple[Any, dict[str, str]]]:
    app = create_app(Settings(workspace=shop.ws))
    admin = first_admin_token(app)
    assert admin
    tokens = {"admin": admin, "analyst": app.state.segmint.tokens.create("ana", "analyst")[1]}
    with TestClient(app):
        yield app, tokens
    app.state.segmint.close()


def test_rest_and_web_exports(shop: Shop, server: tuple[Any, dict[str, str]]) -> None:
    app, tokens = server
    run, segments = _first_run(shop), _segments(shop)
    api = TestClient(app)
    auth = {"Authorization": f"Bearer {tokens['analyst']}"}
    for to in ("mailchimp", "klaviyo", "csv"):
        r = api.post(
            f"/api/v1/runs/{run}/segmentations/rfm/export",
            headers=auth,
            json={"segments": segments, "to": to, "min_size": 1},
        )
        assert r.status_code == 200, r.text
        _check_file(shop, to, r.text)
    web = TestClient(app)
    sign_in(web, tokens["analyst"])
    page = web.get(f"/runs/{run}?s=rfm").text
    label = re.search(r'name="label" value="([^"]+)"', page)
    assert label
    r = web.post(
        f"/runs/{run}/export",
        data={"csrf": csrf_of(page), "s": "rfm", "label": label.group(1), "to": "mailchimp"},
    )
    assert r.status_code == 200, r.text[:500]
    _check_file(shop, "mailchimp", r.text)
    assert _check_log(shop) >= 4
