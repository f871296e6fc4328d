"""Designing a split test from every interface on a real workspace: the command line
(``segmint experiment design`` / ``list`` through Typer's CliRunner: the counts, the files,
exit 2 with one paragraph on a user error), the REST API (``/api/v1/experiments`` with the
roles) and the web app's Experiments page (list, form, CSRF, a refusal shown on the page)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from segmint.api import Settings, create_app, first_admin_token
from tests.activate_support import make_workspace
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

runner = CliRunner()
N = 600  # 400 in "Weekend buyers" (A), 200 in "Lapsed" (B)


def _workspace(path: Path) -> Path:
    ids = [f"C{i:04d}" for i in range(N)]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"p{i}@example.org" for i in range(N)],
            "consent_email": [True] * N,
            "consent_ads": [True] * N,
        }
    )
    segments = {cid: ("A" if i % 3 else "B") for i, cid in enumerate(ids)}
    make_workspace(path, customers, segments, names={"A": "Weekend buyers", "B": "Lapsed"}).close()
    return path


def cli(*args: str) -> Any:
    from segmint.cli import app

    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


# -- command line -------------------------------------------------------------------------------


def test_design_prints_the_counts_and_writes_a_file_per_variant(tmp_path: Path) -> None:
    ws = str(_workspace(tmp_path / "w.duckdb"))
    out = tmp_path / "aud"
    r = cli(
        "experiment", "design", "-w", ws, "--segmentation", "seg", "--segment", "Weekend buyers",
        "--segment", "Lapsed", "--name", "spring", "--weights", "45,45,10",
        "--export", "csv", "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    listed = json.loads(cli("experiment", "list", "-w", ws, "--json").output)
    assert len(listed) == 1
    d = listed[0]
    assert d["name"] == d["salt"] == "spring" and d["stratified"] and d["n_customers"] == N
    assert "Experiment spring (e0001): 600 customers" in r.output
    assert "stratified" in r.output and "45% / B 45% / control 10%" in r.output
    for name, label in (("Weekend buyers", "A"), ("Lapsed", "B")):
        by = d["counts"][label]
        cells = [by["A"], by["B"], by["control"], sum(by.values())]
        row = name + "".join(rf"\W+{n:,}" for n in cells)
        assert re.search(row, r.output), (row, r.output)
    assert sorted(p.name for p in out.iterdir()) == ["spring-A-csv.csv", "spring-B-csv.csv"]
    assert str(out / "spring-A-csv.csv") in r.output
    log = json.loads(cli("exports", "-w", ws, "--json").output)
    assert sorted(e["label"] for e in log) == [
        "experiment spring (e0001), variant A",
        "experiment spring (e0001), variant B",
    ]
    table = cli("experiment", "list", "-w", ws).output
    assert "e0001" in table and "spring" in table and "control: 10%" in table


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--segment", "Whales"], "'Whales'"),
        (["--weights", "45,45"], "one weight per variant"),
        (["--weights", "45,x,10"], "not a list of numbers"),
        (["--variants", "A,a"], "must differ"),
        (["--variants", "A"], "at least 2 variants"),
        (["--weights", "0,1,1"], "positive"),
        (["--out", "somewhere"], "--export is missing"),
        (["--export", "myspace", "--out", "x"], "myspace"),
    ],
)
def test_user_errors_exit_2_with_one_paragraph(tmp_path: Path, args: list[str], words: str) -> None:
    ws = str(_workspace(tmp_path / "w.duckdb"))
    r = cli("experiment", "design", "-w", ws, "-s", "seg", *args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and words in r.output
    assert json.loads(cli("experiment", "list", "-w", ws, "--json").output) == []


def test_a_used_name_needs_replace_and_gives_the_same_arms(tmp_path: Path) -> None:
    ws = str(_workspace(tmp_path / "w.duckdb"))
    assert cli("experiment", "design", "-w", ws, "-s", "seg").exit_code == 0
    first = json.loads(cli("experiment", "list", "-w", ws, "--json").output)[0]
    assert first["name"] == "seg-test"
    again = cli("experiment", "design", "-w", ws, "-s", "seg")
    assert again.exit_code == 2 and "exists already" in again.output
    assert "--replace" in again.output and "Traceback" not in again.output
    assert cli("experiment", "design", "-w", ws, "-s", "seg", "--replace").exit_code == 0
    now = json.loads(cli("experiment", "list", "-w", ws, "--json").output)
    assert len(now) == 1 and now[0]["counts"] == first["counts"]


def test_no_workspace_or_no_experiments(tmp_path: Path) -> None:
    r = cli("experiment", "design", "-w", str(tmp_path / "none.duckdb"), "-s", "seg")
    assert r.exit_code == 2 and "no workspace" in r.output
    listed = cli("experiment", "list", "-w", str(tmp_path / "none.duckdb"))
    assert listed.exit_code == 0 and "No experiments yet" in listed.output


def test_help_teaches_with_an_example() -> None:
    r = cli("experiment", "design", "--help")
    assert r.exit_code == 0
    assert "segmint experiment design --segmentation rfm --segment Champions" in r.output
    assert "md5" in r.output and "--weights" in r.output


# -- REST API and web page ------------------------------------------------------------------


class Site:
    def __init__(self, root: Path) -> None:
        self.app = create_app(Settings(workspace=_workspace(root / "w.duckdb")))
        state = self.app.state.segmint
        admin = first_admin_token(self.app)
        assert admin
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = state.tokens.create(f"{role}-user", role)[1]
        self.api = TestClient(self.app)

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def web(self, role: str) -> TestClient:
        client = TestClient(self.app)
        sign_in(client, self.tokens[role])
        return client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("experiments"))
    with s.api:
        yield s
    s.app.state.segmint.close()


def test_the_api_designs_and_lists_with_the_roles(site: Site) -> None:
    body = {"name": "api-test", "segmentation": "seg", "segments": ["A"], "weights": [1, 1, 2]}
    assert site.api.post("/api/v1/experiments", json=body).status_code == 401
    denied = site.api.post("/api/v1/experiments", json=body, headers=site.headers("viewer"))
    assert denied.status_code == 403 and "analyst" in denied.json()["detail"]
    r = site.api.post("/api/v1/experiments", json=body, headers=site.headers("analyst"))
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["created_by"] == "analyst-user" and d["segments"] == ["A"]
    assert d["weights"] == [0.25, 0.25, 0.5] and not d["stratified"]
    assert sum(d["counts"]["A"].values()) == d["n_customers"] == 400
    listed = site.api.get("/api/v1/experiments", headers=site.headers("viewer"))
    assert listed.status_code == 200
    assert [e["experiment_id"] for e in listed.json()] == [d["experiment_id"]]
    assert site.api.get("/api/v1/experiments").status_code == 401
    # a used name is a 400 with the paragraph; replace designs it again with the same arms
    again = site.api.post("/api/v1/experiments", json=body, headers=site.headers("analyst"))
    assert again.status_code == 400 and again.json()["error"] == "ExperimentError"
    assert "exists already" in again.json()["problem"]
    redo = site.api.post(
        "/api/v1/experiments", json={**body, "replace": True}, headers=site.headers("admin")
    )
    assert redo.status_code == 201 and redo.json()["counts"] == d["counts"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"segments": ["Whales"]}, 400, "Whales"),
        ({"weights": [1, 2]}, 400, "one weight per variant"),
        ({"variants": ["A", "A"]}, 400, "must differ"),
        ({"segmentation": "nope"}, 400, "nope"),
        ({"colour": "red"}, 422, ""),
        ({"weights": "heavy"}, 422, ""),
    ],
)
def test_the_api_refuses_bad_designs(
    site: Site, body: dict[str, Any], status: int, words: str
) -> None:
    full = {"name": "bad", "segmentation": "seg", **body}
    r = site.api.post("/api/v1/experiments", json=full, headers=site.headers("analyst"))
    assert r.status_code == status, r.text
    assert words in r.text
    names = [
        e["name"]
        for e in site.api.get("/api/v1/experiments", headers=site.headers("viewer")).json()
    ]
    assert "bad" not in names


def test_the_page_lists_tests_and_offers_the_form_to_analysts(site: Site) -> None:
    viewer = site.web("viewer")
    page = viewer.get("/experiments")
    assert page.status_code == 200 and "<h1>Experiments</h1>" in page.text
    assert 'href="/experiments"' in page.text  # in the navigation
    assert 'action="/experiments"' not in page.text  # viewers read only
    form = {"csrf": csrf_of(page.text), "name": "web", "segmentation": "seg"}
    assert viewer.post("/experiments", data=form).status_code == 403

    analyst = site.web("analyst")
    page = analyst.get("/experiments").text
    assert 'action="/experiments"' in page and '<option value="seg"' in page
    r = analyst.post(
        "/experiments",
        data={
            "csrf": csrf_of(page), "name": "web test", "segmentation": "seg",
            "segments": "Weekend buyers, Lapsed", "variants": "A, B, control",
            "weights": "45, 45, 10", "salt": "",
        },
    )  # fmt: skip
    assert r.status_code == 200, r.text
    found = re.search(r'class="alert alert-ok" role="status" data-experiment-id="(e\d+)"', r.text)
    assert found, r.text
    listed = site.api.get("/api/v1/experiments", headers=site.headers("viewer")).json()
    d = next(e for e in listed if e["experiment_id"] == found.group(1))
    assert d["name"] == d["salt"] == "web test" and d["created_by"] == "analyst-user"
    assert d["segments"] == ["A", "B"] and d["n_customers"] == N
    section = viewer.get("/experiments").text
    block = section.split(f'data-experiment-id="{d["experiment_id"]}"')[1].split("</section>")[0]
    assert "<h3>web test" in block and "Weekend buyers" in block and "Lapsed" in block
    for n in d["counts"]["A"].values():
        assert f'<td class="num">{n:,}</td>' in block


def test_a_refusal_is_shown_on_the_page_with_the_values_typed(site: Site) -> None:
    analyst = site.web("analyst")
    page = analyst.get("/experiments").text
    r = analyst.post(
        "/experiments",
        data={
            "csrf": csrf_of(page), "name": "refused", "segmentation": "seg",
            "segments": "Whales", "variants": "A, B", "weights": "1, 2",
        },
    )  # fmt: skip
    assert r.status_code == 400
    assert "The test was not designed" in r.text and "Whales" in r.text
    assert 'value="refused"' in r.text and 'value="1, 2"' in r.text
    bad = analyst.post(
        "/experiments",
        data={"csrf": csrf_of(page), "name": "w", "segmentation": "seg", "weights": "a, b"},
    )
    assert bad.status_code == 400 and "not a list of numbers" in bad.text
    both = analyst.post(
        "/experiments",
        data={"csrf": csrf_of(page), "name": "w", "segmentation": "seg", "variants": "A, a",
              "weights": "1, 2, 3"},
    )  # fmt: skip
    assert both.status_code == 400
    assert "repeated: A, a" in both.text and "one weight per variant" in both.text
    forged = analyst.post(
        "/experiments", data={"csrf": "forged", "name": "x", "segmentation": "seg"}
    )
    assert forged.status_code == 403 and "expired" in forged.text


# -- the docs' examples ---------------------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def test_the_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/experiments.md, "Designing a test": each shell line and Python block, as written,
    on a workspace with an ``rfm`` run holding Champions and Loyal."""
    ids = [f"C{i:04d}" for i in range(3000)]
    customers = pd.DataFrame(
        {"customer_id": ids, "email": [f"p{i}@example.org" for i in range(3000)],
         "consent_email": [True] * 3000}
    )  # fmt: skip
    labels = ["champions", "loyal", "others"]
    segments = {cid: labels[i % 3] for i, cid in enumerate(ids)}
    names = {"champions": "Champions", "loyal": "Loyal", "others": "Others"}
    make_workspace(tmp_path / "shop.duckdb", customers, segments, segmentation="rfm", names=names)
    monkeypatch.chdir(tmp_path)
    doc = _section(
        (Path(__file__).parents[1] / "docs" / "experiments.md").read_text(encoding="utf-8"),
        "## Designing a test",
    )
    shell = re.findall(r"```bash\n(.*?)```", doc, flags=re.S)
    lines = [ln for block in shell for ln in block.splitlines() if ln.startswith("segmint ")]
    assert len(lines) >= 3
    for line in lines:
        r = cli(*shlex.split(line)[1:])
        assert r.exit_code == 0, (line, r.output)
    assert sorted(p.name for p in (tmp_path / "audiences").iterdir()) == [
        "spring-A-mailchimp.csv",
        "spring-B-mailchimp.csv",
    ]
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/experiments.md", "exec"), {})
