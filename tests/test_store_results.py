"""The results layer of the store, on CDNOW: every table a workspace creates is declared in the
registry (segmint/store/tables.py), each segment run keeps the features it segmented on, and
DuckDB's out-of-memory and I/O errors read the same in the CLI, the API and background jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint.api import Settings, create_app, first_admin_token
from segmint.api.jobs import JobRunner
from segmint.cli import app
from segmint.store import TABLES, Store, customer_keyed_tables, workspace_table
from tests.conftest import shared_file, snapshot

SPEC = "segmentations:\n  - name: rfm\n    method: rfm\n  - name: value\n    method: value\n"


def _cdnow_head(folder: Path, lines: int = 3000) -> Path:
    """The first customers of CDNOW_master.txt (the file is sorted by customer): ~1,000."""
    src = shared_file("cdnow", "CDNOW_master.txt")
    out = folder / "cdnow_head.txt"
    with src.open() as fh:
        out.write_text("".join(line for _, line in zip(range(lines + 1), fh, strict=False)))
    return out


class Pipeline:
    """CDNOW through `segmint run` twice (the second with other features), an audience export,
    a split-test design, a token, a schedule, an erasure and a run job from the server: every
    path that creates tables."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ws_path = root / "w.duckdb"
        data = _cdnow_head(root)
        spec = root / "spec.yaml"
        spec.write_text(SPEC)
        cli = CliRunner()
        args = ["run", str(data), "--spec", str(spec), "-w", str(self.ws_path)]
        first = cli.invoke(app, [*args, "--out", str(root / "r1"), "--as-of", "1997-12-31"])
        assert first.exit_code == 0, first.output
        spec.write_text(SPEC.replace("name: rfm", "name: rfm2"))
        second = cli.invoke(
            app, ["run", "--spec", str(spec), "-w", str(self.ws_path), "--out", str(root / "r2")]
        )
        assert second.exit_code == 0, second.output
        ws = segmint.Workspace(self.ws_path)
        label = ws.store.db.execute("SELECT min(segment) FROM segment_assignments").fetchone()[0]
        ws.close()
        exported = cli.invoke(
            app,
            ["export", "--segmentation", "rfm", "--segment", label, "--to", "csv",
             "--out", str(root / "audience.csv"), "-w", str(self.ws_path)],
        )  # fmt: skip
        assert exported.exit_code == 0, exported.output
        designed = cli.invoke(
            app,
            ["experiment", "design", "--segmentation", "rfm", "--segment", label,
             "--name", "registry", "-w", str(self.ws_path)],
        )  # fmt: skip
        assert designed.exit_code == 0, designed.output
        token = cli.invoke(app, ["token", "maria", "--role", "analyst", "-w", str(self.ws_path)])
        assert token.exit_code == 0, token.output
        scheduled = cli.invoke(
            app, ["schedule", "add", "0 6 * * 1", "--spec", str(spec), "-w", str(self.ws_path)]
        )
        assert scheduled.exit_code == 0, scheduled.output
        ws = segmint.Workspace(self.ws_path)
        gone = ws.store.db.execute("SELECT max(customer_id) FROM orders").fetchone()[0]
        ws.close()
        erased = cli.invoke(app, ["erase", "--customer", str(gone), "-w", str(self.ws_path)])
        assert erased.exit_code == 0, erased.output
        server = create_app(Settings(workspace=self.ws_path))
        self.server = server
        self.admin = first_admin_token(server)
        with TestClient(server) as client:
            r = client.post(
                "/api/v1/runs",
                headers={"Authorization": f"Bearer {self.admin}"},
                json={"segmentations": [{"name": "rfm", "method": "rfm"}]},
            )
            assert r.status_code == 202, r.text
            job = server.state.segmint.jobs.wait(r.json()["job_id"])
            assert job is not None and job["status"] == "done", job
            self.api_run = job["result"]["run_id"]
        server.state.segmint.close()
        self.ws = segmint.Workspace(self.ws_path)
        self.segment_runs = [r["run_id"] for r in self.ws.runs() if r["kind"] == "segment"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    p = Pipeline(tmp_path_factory.mktemp("results"))
    yield p
    p.ws.close()


# ------------------------------------------------------------------ the registry


def test_every_table_the_pipeline_and_server_create_is_declared(pipeline, tmp_path):
    # the privacy commands, on a copy (they change the data the other tests recompute from)
    pipeline.ws.store.db.execute("CHECKPOINT")
    copy = tmp_path / "privacy.duckdb"
    copy.write_bytes(pipeline.ws_path.read_bytes())
    key = Path(f"{pipeline.ws_path}.key")
    if key.exists():  # a copy of a workspace needs its privacy key (docs/privacy.md)
        Path(f"{copy}.key").write_bytes(key.read_bytes())
    cli = CliRunner()
    store = Store(copy)
    first, last = store.db.execute(
        "SELECT min(customer_id), max(customer_id) FROM orders"
    ).fetchone()
    store.close()
    # identity: customers with names to link (some twice), linked, one pair decided
    from tests.test_identity import people

    people(60, 0.4, seed=7).drop(columns=["truth"]).to_csv(tmp_path / "people.csv", index=False)
    # feedback: reviews by some of the linked customers, analysed
    reviews = ["Late delivery and no answer from support", "Great value, fast delivery",
               "The refund took weeks", "Lovely quality, will buy again"] * 10  # fmt: skip
    pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(40)], "review": reviews}).to_csv(
        tmp_path / "reviews.csv", index=False
    )
    for args in (
        ["ingest", str(tmp_path / "people.csv"), "--as", "customers"],
        ["ingest", str(tmp_path / "reviews.csv"), "--as", "feedback"],
        ["feedback", "analyze", "--topics", "2"],
        ["dedupe"],
        ["dedupe", "--reject", "C00000,C00001"],
        ["erase", "--customer", str(last)],
        ["consent", "set", "--customer", str(first), "--channel", "email", "--grant"],
    ):
        done = cli.invoke(app, [*args, "-w", str(copy)])
        assert done.exit_code == 0, done.output
    store = Store(copy)
    names = store.table_names()
    store.close()
    undeclared = []
    for name in names:
        try:
            workspace_table(name)
        except KeyError:
            undeclared.append(name)
    assert not undeclared, f"tables missing from segmint/store/tables.py: {undeclared}"
    # every declared table (but canonical ones the data does not have) was really created
    names += pipeline.ws.store.table_names()  # the pipeline's own, should the copy lack one
    expected = {t.name for t in TABLES.values() if t.kind != "canonical" and t.pattern is None} | {
        "orders",
        "customers",
    }
    assert expected <= set(names), expected - set(names)
    assert any(TABLES["feature_snapshot_<seq>"].matches(n) for n in names)


def test_declared_columns_are_the_real_columns(pipeline):
    store = pipeline.ws.store
    for name in store.table_names():
        spec = workspace_table(name)
        real = store.columns(name)
        declared = {c.name: c.dtype.split()[0] for c in spec.columns}
        assert {c: real.get(c) for c in declared} == declared, name
        if not spec.dynamic:
            assert list(real) == list(declared), name


def test_erasing_a_customer_through_the_registry_leaves_no_row_keyed_by_them(pipeline, tmp_path):
    """What privacy's erasure will do: walk customer_keyed_tables(). Every table holding the
    customer's id is declared keyed, and afterwards none holds it. (quality_issues quotes bad
    values by file and row, not by customer: how to erase those is privacy's to decide.)"""
    copy = tmp_path / "copy.duckdb"
    pipeline.ws.store.db.execute("CHECKPOINT")
    copy.write_bytes(pipeline.ws_path.read_bytes())
    store = Store(copy)
    who = store.db.execute("SELECT min(customer_id) FROM segment_assignments").fetchone()[0]
    holding = _tables_with_value(store, who)
    keyed = {n for t in customer_keyed_tables() for n in store.instances(t)}
    assert holding - {"quality_issues"} <= keyed, holding - keyed
    for t in customer_keyed_tables():
        for name in store.instances(t):
            store.db.execute(f'DELETE FROM "{name}" WHERE "{t.customer_column}" = ?', [who])
    assert not _tables_with_value(store, who) & keyed
    store.close()


def _tables_with_value(store: Store, value: str) -> set[str]:
    found = set()
    for name in store.table_names():
        text = [c for c, t in store.columns(name).items() if t == "VARCHAR"]
        if text:
            where = " OR ".join(f'"{c}" = ?' for c in text)
            row = store.db.execute(
                f'SELECT count(*) FROM "{name}" WHERE {where}', [value] * len(text)
            )
            if row.fetchone()[0]:
                found.add(name)
    return found


# ------------------------------------------------------------------ feature snapshots


def test_each_run_keeps_the_features_it_segmented_on(pipeline):
    ws = pipeline.ws
    first, second = pipeline.segment_runs[:2]
    old = ws.feature_snapshot(first).to_pandas().set_index("customer_id").sort_index()
    new = ws.feature_snapshot(second).to_pandas().set_index("customer_id").sort_index()
    # run 1 was as of 1997-12-31, run 2 as of the last order (1998-06-30): recency differs
    assert len(old) == len(new) > 500
    assert (new["recency_days"] - old["recency_days"]).median() == pytest.approx(181, abs=1)
    # each snapshot has exactly the features its features run built
    built = [r for r in ws.runs() if r["kind"] == "features"]
    assert list(old.columns) == built[0]["spec"]["features"]
    assert list(new.columns) == built[1]["spec"]["features"]
    # the server's run (the latest) reads the live table; run 2 had the same inputs and as-of
    # date, so its kept table equals it
    live = ws.table("customer_features").to_pandas().set_index("customer_id").sort_index()
    latest = ws.feature_snapshot(pipeline.api_run).to_pandas().set_index("customer_id")
    pd.testing.assert_frame_equal(latest.sort_index(), live[latest.columns])
    pd.testing.assert_frame_equal(new, live[new.columns])


def test_features_nobody_segmented_on_are_not_kept(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(_cdnow_head(tmp_path, 600))
    ws.clean()
    for as_of in ("1997-06-30", "1997-09-30", "1997-12-31"):
        ws.features(as_of=as_of)
    assert not [t for t in ws.tables() if t.startswith("feature_snapshot")]
    with pytest.raises(segmint.SegmintError, match="no feature snapshot"):
        ws.feature_snapshot("0003-features")
    ws.close()


# ------------------------------------------------------------------ engine errors


def test_out_of_memory_in_the_cli_is_one_paragraph_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "16MB")
    target = tmp_path / "w.duckdb"
    src = shared_file("cdnow", "CDNOW_master.txt")
    cli = [sys.executable, "-c", "from segmint.cli import main; main()"]
    result = subprocess.run(
        [*cli, "ingest", str(src), "-w", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, out
    assert "MemoryLimitError" in out and "(16MB)" in out and "SEGMINT_MEMORY_LIMIT=" in out
    assert "Traceback" not in out and not target.exists()


def test_a_workspace_locked_by_another_process_is_one_paragraph(tmp_path):
    target = tmp_path / "w.duckdb"
    Store(target).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(target)!r}); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(app, ["features", "-w", str(target)])
        out = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in out
        assert "open in another process" in out and f"process {holder.pid}" in out
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small tmpfs as a full disk")
def test_a_disk_that_fills_up_while_writing_is_one_paragraph(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], check=True)
    try:
        target = disk / "w.duckdb"
        with segmint.Workspace(target) as ws:
            ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
        before = snapshot(target)
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * (free - (100 << 10)))
        result = CliRunner().invoke(app, ["features", "-w", str(target)])
        out = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in out, out
        assert "DiskSpaceError" in out and "ran out of space" in out
        (disk / "filler").unlink()
        assert snapshot(target) == before
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_out_of_memory_in_an_api_request_and_a_web_page(tmp_path):
    server = create_app(Settings(workspace=tmp_path / "w.duckdb"))
    state = server.state.segmint

    @server.get("/api/v1/test-heavy")
    @server.get("/test-heavy")
    def heavy() -> None:
        db = state.workspace().store.db
        db.execute("SET memory_limit = '32MB'")
        try:
            db.execute("SELECT list(range) FROM range(20000000)").fetchone()
        finally:
            state.workspace().store.release_memory()  # restores the cap

    token = state.tokens.create("test", "admin")[1]  # the token is checked before any route
    with TestClient(server) as client:
        r = client.get("/api/v1/test-heavy", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["error"] == "MemoryLimitError" and "SEGMINT_MEMORY_LIMIT" in body["fix"]
        page = client.get("/test-heavy")
        assert page.status_code == 503 and "SEGMINT_MEMORY_LIMIT" in page.text
        assert "Internal error" not in page.text
    state.close()


def test_out_of_memory_in_a_background_job_is_stored_as_the_same_paragraph(tmp_path):
    """A real run job on CDNOW with a tiny cap: the job says what the CLI says."""
    root = tmp_path
    server = create_app(Settings(workspace=root / "w.duckdb"))
    state = server.state.segmint
    ws = segmint.Workspace(root / "w.duckdb")
    ws.ingest(_cdnow_head(root, 3000))
    ws.close()
    admin = first_admin_token(server)
    with TestClient(server) as client, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGMINT_MEMORY_LIMIT", "16MB")
        r = client.post(
            "/api/v1/runs",
            headers={"Authorization": f"Bearer {admin}"},
            json={"segmentations": [{"name": "rfm", "method": "rfm"}]},
        )
        assert r.status_code == 202, r.text
        job = state.jobs.wait(r.json()["job_id"])
    assert job is not None and job["status"] == "failed", job
    assert job["error"].startswith("The database engine needed more memory"), job["error"]
    assert "(16MB)" in job["error"] and "SEGMINT_MEMORY_LIMIT=" in job["error"]
    assert "Internal error" not in job["error"]
    state.close()


def test_a_job_hitting_a_locked_file_says_so(tmp_path):
    """The job translation also covers I/O: a job attaching a file another process holds."""
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(other)!r}); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    db = duckdb.connect(str(tmp_path / "jobs.duckdb"))
    runner = JobRunner(db, threading.Lock())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"

        def work(progress: Any) -> dict[str, Any]:
            Store(other)
            return {}

        def attach(progress: Any) -> dict[str, Any]:
            duckdb.connect(str(other))
            return {}

        opened = runner.wait(runner.submit("run", "ana", work))
        raw = runner.wait(runner.submit("run", "ana", attach))
    finally:
        runner.stop()
        holder.kill()
        holder.wait()
    for job in (opened, raw):
        assert job["status"] == "failed" and "open in another process" in job["error"], job
        assert "Internal error" not in job["error"]
