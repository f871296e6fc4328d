"""bench/bench_export.py runs end to end at a tiny size (timings are for BENCHMARKS.md, not
asserted here): segmint, pandas and DuckDB write the same Google file, and --no-write leaves
BENCHMARKS.md alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_export_runs_at_a_tiny_size() -> None:
    before = (ROOT / "BENCHMARKS.md").read_bytes()
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_export.py"),
            "--customers",
            "300",
            "--destinations",
            "mailchimp",
            "--no-write",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    # the script exits non-zero when the three Google files differ; here they matched
    assert "byte-identical" in out
    rows = re.findall(r"^\| (segmint [\w-]+|pandas \+ hashlib|duckdb COPY) \|", out, re.M)
    assert rows == ["segmint google-ads", "segmint mailchimp", "pandas + hashlib", "duckdb COPY"]
    written = {
        name: int(n.replace(",", ""))
        for name, n in re.findall(
            r"^\| ([^|]+?) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| ([\d,]+) \|", out, re.M
        )
    }
    assert written["segmint google-ads"] == written["pandas + hashlib"] == written["duckdb COPY"]
    assert 0 < written["segmint mailchimp"] < 300
    assert "not measured by this run (300 customers)" in out
    assert (ROOT / "BENCHMARKS.md").read_bytes() == before
