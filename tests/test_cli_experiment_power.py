"""``segmint experiment power`` through the real command (Typer's CliRunner): the numbers it
prints are the library's, --json carries every field, and a user error exits 2 with one
paragraph and no traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from segmint.measure.power import sample_size

runner = CliRunner()


def cli(*args: str):
    from segmint.cli import app

    return runner.invoke(app, ["experiment", "power", *args], env={"COLUMNS": "250"})


def test_prints_customers_per_arm_and_total():
    r = cli("--baseline", "0.05", "--mde", "0.1")
    assert r.exit_code == 0, r.output
    p = sample_size(0.05, 0.1)
    assert f"per arm   {p.n_per_arm:,} customers" in r.output
    assert f"total     {p.n_total:,} customers (2 arms)" in r.output
    assert "5 % → 5.5 %" in r.output and "+10 % relative" in r.output


def test_segment_size_says_whether_it_is_big_enough():
    need = sample_size(0.05, 0.1, arms=3).n_total
    small = cli(
        "--baseline", "0.05", "--mde", "0.1", "--arms", "3", "--segment-size", str(need - 1)
    )
    big = cli("--baseline", "0.05", "--mde", "0.1", "--arms", "3", "--segment-size", str(need))
    assert small.exit_code == big.exit_code == 0
    assert "No: 3 arms" in small.output and "1 short" in small.output
    assert "Yes: the segment's" in big.output


def test_json_for_a_mean_with_absolute_mde():
    r = cli("--kind", "mean", "--baseline", "42.5", "--sd", "60", "--mde", "3", "--absolute",
            "--alpha", "0.01", "--power", "0.9", "--segment-size", "100", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    p = sample_size(42.5, 3, kind="mean", sd=60, relative=False, alpha=0.01, power=0.9)
    assert out["n_per_arm"] == p.n_per_arm and out["target"] == 45.5 and out["sd"] == 60
    assert out["enough"] is False and out["verdict"].startswith("No")


def test_help_teaches_with_an_example():
    r = cli("--help")
    assert r.exit_code == 0
    assert "segmint experiment power --baseline 0.05 --mde 0.1" in r.output
    assert "--segment-size" in r.output and "--absolute" in r.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--baseline", "0.05", "--mde", "0.1", "--kind", "mean"], "needs the metric's standard"),
        (["--baseline", "0.05", "--mde", "0.1", "--kind", "ratio"], "is not a kind of metric"),
        (["--baseline", "0.05", "--mde", "0.1", "--sd", "2"], "--sd is for --kind mean"),
        (["--baseline", "0.6", "--mde", "1"], "outside 0–1"),
        (["--baseline", "0.05", "--mde", "0.1", "--alpha", "2"], "alpha must be between"),
        (["--baseline", "0.05", "--mde", "0.1", "--segment-size", "-5"], "is negative"),
    ],
)
def test_user_errors_exit_2_without_a_traceback(args, words):
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert "SpecError" in r.output and words in r.output and "How to fix" in r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_the_docs_examples_run():
    """Every ``segmint experiment power`` line in docs/experiments.md runs as written."""
    import re
    import shlex
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "experiments.md"
    blocks = re.findall(r"```bash\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    lines = [
        ln for b in blocks for ln in b.splitlines() if ln.startswith("segmint experiment power")
    ]
    assert len(lines) >= 3
    for line in lines:
        r = cli(*shlex.split(line, comments=True)[3:])
        assert r.exit_code == 0, f"{line}\n{r.output}"


def test_the_segment_size_comes_from_the_workspace(tmp_path) -> None:
    import pandas as pd

    from segmint.cli import app
    from tests.activate_support import make_workspace

    ids = [f"c{i}" for i in range(900)]
    segments = {c: ("champions" if i < 300 else "others") for i, c in enumerate(ids)}
    names = {"champions": "Champions", "others": "Others"}
    make_workspace(tmp_path / "w.duckdb", pd.DataFrame({"customer_id": ids}), segments,
                   segmentation="rfm", names=names).close()  # fmt: skip
    args = ["experiment", "power", "--baseline", "0.3", "--mde", "0.5", "--json",
            "-w", str(tmp_path / "w.duckdb"), "--segmentation", "rfm"]  # fmt: skip
    r = runner.invoke(app, [*args, "--segment", "Champions"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["segment_size"] == 300
    both = runner.invoke(app, [*args, "--segment", "Champions", "--segment", "others"])
    assert json.loads(both.output)["segment_size"] == 900
    bad = runner.invoke(app, [*args, "--segment", "Nobody"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "no segment 'Nobody'" in bad.output
