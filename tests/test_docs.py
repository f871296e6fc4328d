"""Docs are tested: the Python examples in the docs and every README example run as written."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import shared_file

DOCS = Path(__file__).resolve().parents[1] / "docs"


#: sections whose examples need a workspace, run by their own tests
OWN_TESTS = {
    "experiments.md": ["## Designing a test"],  # tests/test_experiment_interfaces.py
    # tests/test_stable_ids.py, tests/test_monitor_compare.py, tests/test_spark_monitor.py
    "monitoring.md": ["## Stable segment ids", "## Comparing runs", "## Comparing runs on Spark"],
}


def python_blocks(name: str) -> list[str]:
    text = (DOCS / name).read_text(encoding="utf-8")
    for heading in OWN_TESTS.get(name, []):
        before, after = text.split(heading, 1)
        text = before + "\n## " + after.split("\n## ", 1)[1]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize(
    "name",
    [
        "clustering.md",
        "experiments.md",
        "identity.md",
        "monitoring.md",
        "needs.md",
        "scale.md",
        "text.md",
    ],
)
def test_python_examples_run(name):
    blocks = python_blocks(name)
    assert blocks, f"docs/{name} has no python example"
    for code in blocks:
        exec(compile(code, f"docs/{name}", "exec"), {})


def test_spec_doc_example_is_a_valid_spec(tmp_path):
    import yaml

    import segmint

    text = (DOCS / "spec.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    merged: dict = {}
    for b in blocks:
        merged.update(yaml.safe_load(b))
    merged.pop("sources", None)  # they name files that do not exist here
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(merged))
    spec = segmint.load_spec(path)
    assert [s.method for s in spec.segmentations] == ["rules", "rfm", "kmeans", "value", "needs"]


# ---------------------------------------------------------------------------------------------
# README.md: every shell and Python example runs, in a temp folder holding small data under
# the names the examples use
# ---------------------------------------------------------------------------------------------

ROOT = DOCS.parent
README = ROOT / "README.md"
SEGMINT = Path(sys.executable).parent / "segmint"


def readme_blocks(lang: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _env() -> dict[str, str]:
    """This checkout's code for the subprocesses, and wide output (no wrapped lines)."""
    return os.environ | {"PYTHONPATH": str(ROOT), "COLUMNS": "250"}


@pytest.fixture(scope="module")
def readme_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small files under the README's names: orders.csv (2023–2024), "Online Retail.xlsx"
    (the UCI layout, Dec 2010 – Dec 2011), contacts.csv ("Client No"), segmint.yaml and the
    real CDNOW_sample.txt (no header row)."""
    import openpyxl

    from segmint.datasets import make_retail

    folder = tmp_path_factory.mktemp("readme-data")
    make_retail(2000, seed=0).orders.to_csv(folder / "orders.csv", index=False)
    shop = make_retail(300, seed=1, start="2010-12-01", end="2011-12-09")
    country = shop.customers.set_index("customer_id")["country"]
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Online Retail")
    header = "InvoiceNo StockCode Description Quantity InvoiceDate UnitPrice CustomerID Country"
    sheet.append(header.split())
    for o in shop.orders.itertuples():
        when, who = o.ordered_at.to_pydatetime(), int(o.customer_id[1:])
        sheet.append(
            [
                *(o.order_id, o.product_id, o.product_name, int(o.quantity), when, o.unit_price),
                who,
                country[o.customer_id],
            ]
        )
    book.save(folder / "Online Retail.xlsx")
    contacts = shop.customers.assign(customer_id=shop.customers.customer_id.str[1:].astype(int))
    contacts.rename(columns={"customer_id": "Client No"}).to_csv(
        folder / "contacts.csv", index=False
    )
    (folder / "segmint.yaml").write_text(
        'sources:\n  - {path: "Online Retail.xlsx"}\nsegmentations:\n'
        "  - name: spend\n    method: rules\n    rules: {Big spenders: monetary_total > 1000}\n"
        "  - {name: rfm, method: rfm}\n"
    )
    shutil.copy(shared_file("cdnow", "CDNOW_sample.txt"), folder / "CDNOW_sample.txt")
    return folder


def _fresh_copy(data: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(data, work)
    return work


def _run_line(argv: list[str], cwd: Path) -> None:
    if argv[0] == "make":
        # `make test` inside the test suite would run it again: check that each target
        # exists and expands (dry run) instead
        cmd, cwd = ["make", "-n", *argv[1:]], ROOT
    elif argv[:2] == ["segmint", "serve"]:
        _serve_answers([str(SEGMINT), *argv[1:]], cwd)
        return
    elif argv[0] == "segmint":
        cmd = [str(SEGMINT), *argv[1:]]
    else:
        raise AssertionError(f"README example runs {argv[0]!r}; teach tests/test_docs.py it")
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout}\n{done.stderr}"


def _serve_answers(cmd: list[str], cwd: Path) -> None:
    """Start the server (on a free port, not the example's default 8000) and get its page."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=cwd, env=_env(), text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "segmint serve exited"
                assert time.monotonic() < deadline, "segmint serve did not answer in 60 s"
                time.sleep(0.2)
        assert resp.status_code == 200 and "segmint" in resp.text.lower()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(readme_blocks("bash"))))
def test_readme_shell_examples_run(index: int, readme_data: Path, tmp_path: Path):
    """Each ```bash block runs line by line, in a fresh copy of the data folder."""
    work = _fresh_copy(readme_data, tmp_path)
    lines = [shlex.split(ln, comments=True) for ln in readme_blocks("bash")[index].splitlines()]
    commands = [argv for argv in lines if argv]
    assert commands, "an empty bash block"
    for argv in commands:
        _run_line(argv, work)


@pytest.mark.slow
def test_readme_python_examples_run(readme_data: Path, tmp_path: Path, monkeypatch):
    """The ```python blocks run in order, sharing one namespace, as a reader would paste them."""
    blocks = readme_blocks("python")
    assert len(blocks) >= 3
    monkeypatch.chdir(_fresh_copy(readme_data, tmp_path))
    namespace: dict = {}
    for i, code in enumerate(blocks, start=1):
        exec(compile(code, f"README.md python example {i}", "exec"), namespace)


def test_readme_has_no_stale_claims():
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "web app and activation are on the way" not in text.lower()
    assert "segmint --version" in text


@pytest.mark.slow
def test_demo_try_next_commands_work_from_another_folder(tmp_path: Path):
    """The demo prints absolute paths: its "Try next" commands run from anywhere."""
    here, elsewhere = tmp_path / "a", tmp_path / "b"
    here.mkdir()
    elsewhere.mkdir()
    demo = subprocess.run(
        [str(SEGMINT), "demo", "--out", "out", "-w", "out/demo.duckdb", "--customers", "300"],
        cwd=here,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    after = demo.stdout.split("Try next:", 1)[1].splitlines()
    commands = [shlex.split(ln) for ln in after if ln.strip()]
    assert len(commands) == 3 and all("segmint" in Path(c[0]).name for c in commands)
    spec_line = commands[0]
    assert all(Path(p).is_absolute() for p in spec_line[3::2])  # --spec, --workspace, --out
    for argv in commands:
        done = subprocess.run(
            argv, cwd=elsewhere, env=_env(), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    assert not any(elsewhere.iterdir())  # nothing was written relative to the caller
