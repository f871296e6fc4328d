"""``segmint export`` and ``segmint exports`` through the real command (Typer's CliRunner) on a
workspace holding a stored segment run: the file, the numbers printed, the user errors (exit 2,
one paragraph, no traceback) and the log."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.activate.exporters import all_exporters
from tests.activate_support import make_workspace

runner = CliRunner()

#: 150 in "Big spenders" (120 with ads consent, 100 with e-mail consent, 20 e-mail consents
#: missing), 30 in "Few" (all consenting)
N_BIG, N_FEW = 150, 30


def _customers() -> tuple[pd.DataFrame, dict[str, str]]:
    rows, segments = [], {}
    for i in range(N_BIG + N_FEW):
        cid = f"C{i:03d}"
        big = i < N_BIG
        rows.append(
            {
                "customer_id": cid,
                "email": f"person{i}@example.com",
                "first_name": "Ann",
                "last_name": f"Smith{i}",
                "country": "GB",
                "consent_ads": (i < 120) if big else True,
                "consent_email": (True if i < 100 else None if i < 120 else False) if big else True,
            }
        )
        segments[cid] = "A" if big else "B"
    return pd.DataFrame(rows), segments


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    customers, segments = _customers()
    path = tmp_path / "shop.duckdb"
    store = make_workspace(
        path, customers, segments, segmentation="value", names={"A": "Big spenders", "B": "Few"}
    )
    store.close()
    return path


def cli(*args: str) -> object:
    from segmint.cli import app

    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_export_writes_the_file_prints_its_numbers_and_logs_it(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.csv"
    r = cli(
        "export", "-w", str(ws), "--segmentation", "value", "--segment", "Big spenders",
        "--to", "mailchimp", "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert list(rows[0]) == ["Email Address", "First Name", "Last Name", "Tags"]
    # e-mail consent: 100 yes, 20 missing (counts as no), 30 no
    assert len(rows) == 100 and {row["Tags"] for row in rows} == {"Big spenders"}
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert "Wrote 100 rows" in r.output and "50 no consent" in r.output
    assert digest in r.output and str(out) in r.output
    log = json.loads(cli("exports", "-w", str(ws), "--json").output)
    assert len(log) == 1
    assert log[0]["rows_written"] == 100 and log[0]["sha256"] == digest
    assert log[0]["left_out"]["no consent"] == 50 and log[0]["path"] == str(out.resolve())
    assert log[0]["segment_names"] == ["Big spenders"] and log[0]["assume_consent"] is False


def test_an_unknown_segment_is_exit_2_listing_the_segments(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    r = cli(
        "export", "-w", str(ws), "--segmentation", "value", "--segment", "Whales",
        "--to", "csv", "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 2
    assert "Traceback" not in r.output and "'Whales'" in r.output
    assert "Big spenders" in r.output and "Few" in r.output
    assert not out.exists()
    assert json.loads(cli("exports", "-w", str(ws), "--json").output) == []


def test_an_unknown_destination_or_segmentation_is_exit_2(ws: Path, tmp_path: Path) -> None:
    base = ["export", "-w", str(ws), "--segment", "Few", "--out", str(tmp_path / "x.csv")]
    r = cli(*base, "--segmentation", "value", "--to", "myspace")
    assert r.exit_code == 2 and "myspace" in r.output
    assert all(name in r.output for name in all_exporters())
    r = cli(*base, "--segmentation", "nope", "--to", "csv")
    assert r.exit_code == 2 and "'nope'" in r.output and "value" in r.output


def test_a_too_small_ad_audience_is_refused_unless_min_size_is_lowered(
    ws: Path, tmp_path: Path
) -> None:
    out = tmp_path / "few.csv"
    args = [
        "export", "-w", str(ws), "--segmentation", "value", "--segment", "Few",
        "--to", "google-ads", "--out", str(out),
    ]  # fmt: skip
    r = cli(*args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "at least 100" in r.output and "--min-size" in r.output
    assert not out.exists()
    r = cli(*args, "--min-size", "20")
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert len(rows) == N_FEW and f"Wrote {N_FEW} rows" in r.output
    # hashed by default: the e-mail column holds SHA-256 hex, never the address
    assert all(re.fullmatch(r"[0-9a-f]{64}", row["Email"]) for row in rows)
    r = cli(*args, "--min-size", "20", "--plain")
    assert r.exit_code == 0, r.output
    assert {row["Email"] for row in _rows(out)} == {
        f"person{i}@example.com" for i in range(150, 180)
    }
    # both segments together pass the minimum: 120 + 30 with ads consent
    r = cli(*args, "--segment", "Big spenders")
    assert r.exit_code == 0, r.output
    assert len(_rows(out)) == 150 and "30 no consent" in r.output


def test_assume_consent_counts_missing_values_and_is_recorded(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "assumed.csv"
    r = cli(
        "export", "-w", str(ws), "--segmentation", "value", "--segment", "Big spenders",
        "--to", "mailchimp", "--out", str(out), "--assume-consent",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    # the 20 missing consents now count; the 30 explicit "no" still do not
    assert len(_rows(out)) == 120 and "30 no consent" in r.output
    assert "missing consent assumed" in r.output
    log = json.loads(cli("exports", "-w", str(ws), "--json").output)
    assert log[0]["assume_consent"] is True and log[0]["rows_written"] == 120


def test_exports_lists_every_export_newest_first(ws: Path, tmp_path: Path) -> None:
    empty = cli("exports", "-w", str(ws))
    assert empty.exit_code == 0 and "No exports yet" in empty.output
    for seg, to in (("Few", "csv"), ("Big spenders", "mailchimp")):
        out = tmp_path / f"{to}.csv"
        r = cli(
            "export", "-w", str(ws), "--segmentation", "value", "--segment", seg,
            "--to", to, "--out", str(out),
        )  # fmt: skip
        assert r.exit_code == 0, r.output
    table = cli("exports", "-w", str(ws))
    assert table.exit_code == 0, table.output
    for text in ("Exports (2)", "0001-segment", "Big spenders", "mailchimp", "csv", "100", "30"):
        assert text in table.output, text
    for name in ("csv", "mailchimp"):
        digest = hashlib.sha256((tmp_path / f"{name}.csv").read_bytes()).hexdigest()
        assert digest in table.output
    log = json.loads(cli("exports", "-w", str(ws), "--json").output)
    assert [e["destination"] for e in log] == ["mailchimp", "csv"]
    assert [e["rows_written"] for e in log] == [100, N_FEW]


def test_export_help_lists_every_destination_and_teaches_by_example() -> None:
    r = cli("export", "--help")
    assert r.exit_code == 0, r.output
    for name, exporter in all_exporters().items():
        assert name in r.output and exporter.title in r.output
    assert "segmint export --segmentation rfm --segment Champions" in r.output
    assert "{destinations}" not in r.output


def test_export_from_a_workspace_without_runs_is_exit_2(tmp_path: Path) -> None:
    import segmint

    path = tmp_path / "empty.duckdb"
    with segmint.Workspace(path) as w:
        w.store.ensure("customers")
    r = cli(
        "export", "-w", str(path), "--segmentation", "rfm", "--segment", "x",
        "--to", "csv", "--out", str(tmp_path / "x.csv"),
    )  # fmt: skip
    assert r.exit_code == 2 and "no segment runs" in r.output
    missing = cli(
        "export", "-w", str(tmp_path / "none.duckdb"), "--segmentation", "rfm",
        "--segment", "x", "--to", "csv", "--out", str(tmp_path / "x.csv"),
    )  # fmt: skip
    assert missing.exit_code == 2 and "There is no workspace" in missing.output
    assert not (tmp_path / "none.duckdb").exists()
