"""Wide files: hundreds of whole-number columns import, a file wider than the limit is refused.

Before, 20 extra integer columns took 30-85 s, 36 ran DuckDB out of memory, 500 segfaulted
(leaving a 400 MB ``*.duckdb.tmp/``) and 10,000 never finished: typing ran as one statement
with ~5 aggregates per column. The CSVs are generated here (20 rows, like the probe's).
The CLI runs in a subprocess so its peak memory (``ru_maxrss`` of the child) is measured.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import InputError
from segmint.ingest import extras
from segmint.ingest.limits import MAX_COLUMNS
from tests.conftest import ROOT, shared_file, snapshot

GB = 1 << 30


def _wide_csv(path: Path, n_extra: int, rows: int = 20, seed: int = 18) -> Path:
    rng = random.Random(seed)
    header = ["customer_id", "email", *(f"q{i}" for i in range(n_extra))]
    lines = [",".join(header)]
    for r in range(1, rows + 1):
        values = (str(rng.randint(0, 1000)) for _ in range(n_extra))
        lines.append(",".join([str(r), f"user{r}@example.com", *values]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cli_ingest(path: Path, workspace: Path, timeout: float = 120) -> tuple[int, str, int]:
    """(exit code, output, peak RSS in bytes) of ``segmint ingest`` in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(p.stdout + p.stderr)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stdout.write(f'\\nPEAK_KB={peak}\\n')\n"
        "sys.exit(p.returncode)\n"
    )
    exe = Path(sys.executable).parent / "segmint"
    cmd = [str(exe), "ingest", str(path), "-w", str(workspace)]
    proc = subprocess.run(
        [sys.executable, "-c", code, *cmd],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    out, _, peak = proc.stdout.rpartition("PEAK_KB=")
    return proc.returncode, out + proc.stderr, int(peak.strip()) * 1024


@pytest.mark.parametrize("n_extra", [20, 36])
def test_a_few_dozen_integer_columns_import_typed(tmp_path, n_extra):
    path = _wide_csv(tmp_path / f"wide{n_extra}.csv", n_extra)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert res.rows == 20
    cols = ws.store.columns("customers")
    assert all(cols[f"q{i}"] == "BIGINT" for i in range(n_extra))
    df = ws.table("customers").order_by("customer_id").to_pandas()
    lines = path.read_text().splitlines()
    first = lines[1].split(",")  # customer 1
    row = df[df.customer_id == "1"].iloc[0]
    assert [int(row[f"q{i}"]) for i in range(n_extra)] == [int(v) for v in first[2:]]
    ws.close()


def test_500_integer_columns_import_in_bounded_memory_without_leftovers(tmp_path):
    path = _wide_csv(tmp_path / "wide500.csv", 500)
    workspace = tmp_path / "ws" / "w.duckdb"
    workspace.parent.mkdir()
    code, out, peak = _cli_ingest(path, workspace)
    assert code == 0, out
    assert "Imported 20 rows into customers" in out
    assert peak < GB, f"peak RSS {peak / 2**20:.0f} MB"
    assert sorted(p.name for p in workspace.parent.iterdir()) == ["w.duckdb"]  # no *.tmp/
    ws = segmint.Workspace(workspace)
    cols = ws.store.columns("customers")
    assert sum(1 for c, t in cols.items() if c.startswith("q") and t == "BIGINT") == 500
    total = ws.store.db.execute('SELECT sum("q499") FROM customers').fetchone()
    lines = path.read_text().splitlines()[1:]
    assert total is not None and total[0] == sum(int(ln.rsplit(",", 1)[1]) for ln in lines)
    ws.close()


def test_10000_columns_are_refused_fast_with_the_limit_and_the_fix(tmp_path):
    path = _wide_csv(tmp_path / "wide10000.csv", 10_000)
    workspace = tmp_path / "ws" / "w.duckdb"
    workspace.parent.mkdir()
    code, out, peak = _cli_ingest(path, workspace, timeout=60)
    assert code == 2, out
    assert "Traceback" not in out
    flat = " ".join(out.replace("│", " ").split())
    assert "wide10000.csv" in flat
    assert "10,002 columns" in flat and f"at most {MAX_COLUMNS:,}" in flat
    assert "export only the columns you need" in flat and "split" in flat
    assert peak < GB
    assert not workspace.exists()  # nothing created, nothing changed


def test_limit_holds_for_an_existing_workspace_and_typed_sources(tmp_path):
    ws_path = tmp_path / "w.duckdb"
    ws = segmint.Workspace(ws_path)
    ws.ingest(_wide_csv(tmp_path / "small.csv", 3))
    ws.close()
    before = snapshot(ws_path)
    ws = segmint.Workspace(ws_path)
    path = tmp_path / "wide.parquet"
    cols = ", ".join(f"{i} AS c{i}" for i in range(MAX_COLUMNS + 1))
    ws.store.db.execute(f"COPY (SELECT 'a' AS customer_id, {cols}) TO '{path}' (FORMAT parquet)")
    with pytest.raises(InputError, match=f"{MAX_COLUMNS + 2:,} columns"):
        ws.ingest(path)
    ws.close()
    assert snapshot(ws_path) == before


def test_a_value_outside_the_type_sample_keeps_its_column_exact(tmp_path, monkeypatch):
    """Types are inferred on a sample; a column whose unsampled value does not fit is retyped."""
    monkeypatch.setattr(extras, "INFER_SAMPLE_ROWS", 100)
    checked: list[list[str]] = []
    failing = extras._failing

    def spy(*args):  # type: ignore[no-untyped-def]
        found = failing(*args)
        checked.append([name for _col, name in found])
        return found

    monkeypatch.setattr(extras, "_failing", spy)
    rows = 5_000
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("customer_id,points,ratio,flag\n")
        for r in range(1, rows + 1):
            points = "12.5" if r == rows - 3 else str(r % 97)
            ratio = "n/a?" if r == rows - 7 else f"{r / 7:.3f}"
            fh.write(f"{r},{points},{ratio},{'yes' if r % 2 else 'no'}\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert checked == [["points", "ratio"]]  # the sample missed both values; all rows did not
    assert res.extras == {"points": "DOUBLE", "ratio": "VARCHAR", "flag": "BOOLEAN"}
    got = ws.store.db.execute(
        "SELECT points, ratio FROM customers WHERE customer_id IN (?, ?) ORDER BY _row",
        [str(rows - 7), str(rows - 3)],
    ).fetchall()
    assert got == [((rows - 7) % 97, "n/a?"), (12.5, f"{(rows - 3) / 7:.3f}")]
    assert res.bad_values == 0
    ws.close()


def test_real_wide_export_types_every_column(tmp_path):
    """Hillstrom's columns side by side 20 times (a 160-column CRM export) import typed."""
    src = shared_file("hillstrom_email_2008", "hillstrom.csv")
    lines = src.read_text(encoding="utf-8").splitlines()[:501]
    header = lines[0].split(",")
    wide = tmp_path / "hillstrom_wide.csv"
    with wide.open("w", encoding="utf-8") as fh:
        fh.write(",".join(f"{h}_{k}" for k in range(20) for h in header) + "\n")
        for ln in lines[1:]:
            fh.write(",".join([ln] * 20) + "\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(wide, into="customers")
    assert res.rows == 500 and len(res.extras) == 20 * len(header)
    single = segmint.Workspace(tmp_path / "one.duckdb")
    one = single.ingest(src, into="customers")
    for k in range(20):  # the same column typed the same in every copy
        for h in header:
            name = f"{h}_{k}".lower()
            base = h.lower()
            assert res.extras[name] == one.extras.get(base, res.extras[name]), name
    assert ws.store.db.execute("SELECT sum(spend_19) FROM customers").fetchone() == (
        ws.store.db.execute("SELECT sum(spend_0) FROM customers").fetchone()
    )
    ws.close()
    single.close()


@pytest.mark.slow
def test_500_integer_columns_run_end_to_end(tmp_path):
    """Clean's profile and the attribute code check ran 500 distinct counts in one query (OOM)."""
    path = _wide_csv(tmp_path / "wide500.csv", 500)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["run", str(path), "-w", str(tmp_path / "w.duckdb"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists()
