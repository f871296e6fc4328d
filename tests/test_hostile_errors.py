"""Hostile input that used to crash with a traceback or an HTTP 500 (issue 18, item 5).

Rules beyond the size limits of :mod:`segmint.segment.rules._limits` (deep ``not``s, a
5,000-digit number, thousands of ``or``s) through the Python API, a spec on the command line
and the REST API over real HTTP; an unknown backtick column; a 1 MB line quoted in a message;
report and output folders that are read-only; a disk that fills up during ``clean``. Each is
a clear :class:`SegmintError` (exit 2, no traceback, 4xx over HTTP) and the workspace is
unchanged. Data: ../shared/data/cdnow/CDNOW_master.txt.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli.app import app
from segmint.exceptions import (
    MAX_PART_CHARS,
    DiskSpaceError,
    SegmintError,
    SpecError,
    WorkspaceError,
)
from segmint.segment.rules import RulesSegmenter, compile_rules, parse_rules
from segmint.segment.rules._limits import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LITERAL_CHARS,
    MAX_NUMBER_DIGITS,
    MAX_RULE_CHARS,
    MAX_TOKENS,
)
from segmint.store import Store
from tests.conftest import shared_file, snapshot

runner = CliRunner(env={"COLUMNS": "1000"})  # no wrapping inside long paths

#: hostile rules over a limit -> words the error must contain (the limit, as printed)
OVER = {
    "nots": ("not " * 500 + "frequency > 1", [f"at most {MAX_DEPTH} levels", "column 201"]),
    "parentheses": ("(" * 500 + "frequency > 1" + ")" * 500, [f"at most {MAX_DEPTH} levels"]),
    "digits": ("frequency > " + "9" * 5000, [f"at most {MAX_NUMBER_DIGITS} are allowed"]),
    "or_terms": (" or ".join(["frequency > 1"] * 7000), [f"at most {MAX_RULE_CHARS:,}"]),
    "conditions": (" or ".join(["frequency>1"] * 1500), [f"more than {MAX_CONDITIONS:,}"]),
    "tokens": ("frequency in (" + ",".join(["1"] * 6000) + ")", [f"more than {MAX_TOKENS:,}"]),
    "text": ("`" + "x" * 2000 + "` > 1", [f"at most {MAX_LITERAL_CHARS:,}"]),
}


@pytest.fixture(scope="module")
def cdnow_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding CDNOW_master.txt (69,659 purchases), imported once."""
    path = tmp_path_factory.mktemp("cdnow") / "w.duckdb"
    with segmint.Workspace(path) as ws:
        ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    return path


@pytest.fixture
def ws_copy(cdnow_ws: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "w.duckdb"
    shutil.copy(cdnow_ws, copy)
    return copy


def _clean_exit(result: Any) -> str:
    """The output of a CLI call that must end as a user error: exit 2, no traceback. Returned
    as one line of words, without the panel's borders."""
    out = result.output + (str(result.exception) if result.exception else "")
    assert result.exit_code == 2, out
    assert "Traceback" not in out and not isinstance(result.exception, RecursionError), out
    return " ".join(out.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


# ------------------------------------------------------------------ rule limits: Python API


@pytest.mark.parametrize("case", sorted(OVER))
def test_a_rule_over_a_limit_is_a_spec_error_naming_rule_position_and_limit(case):
    text, words = OVER[case]
    schema = ibis.schema({"frequency": "int64"})
    with pytest.raises(SpecError) as err:
        parse_rules([("Hostile", text)], schema)
    message = str(err.value)
    assert "Rule 'Hostile', column " in message
    for word in words:
        assert word in message
    assert len(message) < 3 * MAX_PART_CHARS  # the rule is quoted as a short excerpt


def test_the_segmenter_refuses_an_over_deep_rule_before_touching_the_data():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [1, 5]})
    with pytest.raises(SpecError, match="levels"):
        RulesSegmenter(rules={"Deep": "not " * 500 + "frequency > 1"}).fit(frame)


def test_rules_at_the_limits_compile_and_count_like_pandas():
    """1,000 conditions and 50 levels run in DuckDB (balanced and/or, no recursion error)."""
    frame = pd.DataFrame({"customer_id": range(300), "frequency": range(300)})
    con = ibis.duckdb.connect()
    t = con.create_table("f", frame)
    wide = " or ".join(f"frequency = {i}" for i in range(0, 2 * MAX_CONDITIONS, 2))
    deep = "not (" * (MAX_DEPTH // 2) + "frequency < 10" + ")" * (MAX_DEPTH // 2)
    inside = "(" * (MAX_DEPTH - 10) + " and ".join(["frequency > 3"] * 900) + ")" * 40
    rules = parse_rules([("Wide", wide), ("Deep", deep), ("Inside", inside)], t.schema())
    exprs = compile_rules(rules, t)
    got = {name: int(con.execute(t.filter(e).count())) for name, e in exprs.items()}
    f = frame.frequency
    assert got == {
        "Wide": int((f % 2 == 0).sum()),
        "Deep": int((f >= 10).sum()) if (MAX_DEPTH // 2) % 2 else int((f < 10).sum()),
        "Inside": int((f > 3).sum()),
    }


def test_segment_references_count_towards_the_limits_once_inlined():
    schema = ibis.schema({"frequency": "int64"})
    doubling = [("A0", "frequency > 1")] + [
        (f"A{i}", f"segment('A{i - 1}') or segment('A{i - 1}')") for i in range(1, 12)
    ]
    with pytest.raises(SpecError) as err:
        parse_rules(doubling, schema)
    assert "Rule 'A10'" in str(err.value) and "1,024 conditions" in str(err.value)
    chain = [("N0", "frequency > 1")] + [
        (f"N{i}", f"not segment('N{i - 1}')") for i in range(1, 60)
    ]
    with pytest.raises(SpecError, match=f"at most {MAX_DEPTH} are allowed"):
        parse_rules(chain, schema)


def test_huge_numbers_and_date_shifts_are_answered_not_crashed():
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "frequency": [1, 5], "last": pd.to_datetime(["1990-01-01"] * 2)}
    )
    seg = RulesSegmenter(
        rules={
            "Never": "frequency > 99999999999999999999999999",
            "Ever": "last within 99999 years",
            "Old": "last older than 999999999999 days",
        },
        as_of=datetime(2024, 1, 1),
    ).fit(frame)
    assert list(seg.predict(frame)) == ["Ever", "Ever"]


# ------------------------------------------------------------------ rule limits: a spec on the CLI


@pytest.mark.parametrize("case", ["nots", "digits", "or_terms"])
def test_a_spec_with_a_hostile_rule_exits_2_and_leaves_the_workspace(case, ws_copy, tmp_path):
    text = OVER[case][0]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "segmentations:\n  - name: hostile\n    method: rules\n    rules:\n"
        f'      Hostile: "{text}"\n',
        encoding="utf-8",
    )
    before = snapshot(ws_copy)
    result = runner.invoke(
        app, ["run", "--spec", str(spec), "-w", str(ws_copy), "--out", str(tmp_path / "r")]
    )
    out = _clean_exit(result)
    assert "SpecError" in out and "Hostile" in out
    assert snapshot(ws_copy) == before


def test_a_spec_nested_thousands_of_levels_deep_is_a_spec_error(ws_copy, tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("segmentations: " + "[" * 5000 + "]" * 5000 + "\n")
    out = _clean_exit(runner.invoke(app, ["run", "--spec", str(spec), "-w", str(ws_copy)]))
    assert "nested too deeply" in out and "deep.yaml" in out


# ------------------------------------------------------------------ the REST API over real HTTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(path: Path) -> Iterator[dict[str, Any]]:
    """The app on ``path`` behind uvicorn on a free loopback port, with an admin token."""
    import uvicorn

    from segmint.api import Settings, create_app, first_admin_token

    application = create_app(Settings(workspace=path))
    token = first_admin_token(application)
    port = _free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}/api/v1", "token": token, "path": path}
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(cdnow_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("api") / "w.duckdb"
    shutil.copy(cdnow_ws, path)
    yield from _serve(path)


def _post(server: dict[str, Any], path: str, body: dict[str, Any]) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {server['token']}"}
    return httpx.post(server["url"] + path, json=body, headers=headers, timeout=60)


@pytest.mark.parametrize(
    "text",
    [
        "not " * 495 + "frequency > 1",
        "(" * 990 + "frequency > 1" + ")" * 990,
        "frequency > " + "9" * 1900,
        " or ".join(["frequency>1"] * 7000),
    ],
    ids=["nots", "parentheses", "digits", "or_terms"],
)
def test_rules_validate_answers_hostile_rules_with_4xx_or_errors_never_500(server, text):
    r = _post(server, "/rules/validate", {"rules": {"Hostile": text}})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        body = r.json()
        assert body["ok"] is False and body["errors"][0]["rule"] == "Hostile"
        assert "allowed" in body["errors"][0]["message"]
    run = _post(
        server,
        "/runs",
        {"segmentations": [{"name": "h", "method": "rules", "rules": {"Hostile": text}}]},
    )
    assert 400 <= run.status_code < 500, run.text


def test_rules_validate_checks_backtick_column_names(server):
    r = _post(
        server,
        "/rules/validate",
        {"rules": {"A": "`Total Spend` > 5", "B": "`monetary_totl` > 5", "C": "`frequency` > 2"}},
    ).json()
    errors = {e["rule"]: e["message"] for e in r["errors"]}
    assert r["ok"] is False and r["columns_checked"] is True and set(errors) == {"A", "B"}
    assert "unknown column 'Total Spend'" in errors["A"] and "Known columns" in errors["A"]
    assert "Did you mean 'monetary_total'?" in errors["B"]


def test_rules_validate_without_data_says_the_names_were_not_checked(tmp_path):
    for server in _serve(tmp_path / "empty.duckdb"):
        r = _post(server, "/rules/validate", {"rules": {"A": "`Total Spend` > 5"}}).json()
        assert r["ok"] is True and r["columns_checked"] is False
        assert "no data yet" in r["note"] and "backticks" in r["note"]
        deep = _post(server, "/rules/validate", {"rules": {"A": "not " * 495 + "x"}}).json()
        assert deep["ok"] is False and "levels" in deep["errors"][0]["message"]


# ------------------------------------------------------------------ messages are capped


def test_every_message_part_is_capped_with_a_note_of_what_was_cut():
    err = SegmintError("p" * 1_000_000, where="w" * 50_000, fix="f" * 10_000)
    for part in (err.problem, err.where, err.fix):
        assert part is not None and len(part) < MAX_PART_CHARS + 60
    assert "998,000 more characters not shown" in err.problem
    many = SpecError("head", problems=[f"problem {i}" for i in range(1000)])
    assert len(many.problems) == 101 and "900 more problems" in many.problems[-1]


def test_a_one_megabyte_line_gives_a_short_message(tmp_path):
    source = tmp_path / "one_line.csv"
    source.write_text("x" * 1_000_000 + "\n")
    result = runner.invoke(app, ["ingest", str(source), "-w", str(tmp_path / "w.duckdb")])
    out = _clean_exit(result)
    assert len(out) < 4 * MAX_PART_CHARS  # quoted as a short excerpt (ingest/limits.py)
    assert "more characters not shown" in out or "1,000,000 characters" in out


# ------------------------------------------------------------------ read-only folders


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only folder: a read-only tmpfs as root (root ignores permission bits), else a
    folder without write permission."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def ws_in_read_only(cdnow_ws: Path, tmp_path: Path) -> Iterator[Path]:
    """The CDNOW workspace inside a folder that then becomes read-only."""
    folder = tmp_path / "shared-ro"
    folder.mkdir()
    root = os.geteuid() == 0
    if root:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    shutil.copy(cdnow_ws, folder / "w.duckdb")
    if root:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield folder / "w.duckdb"
    finally:
        if root:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            folder.chmod(0o755)


def test_quality_next_to_a_workspace_in_a_read_only_folder(ws_in_read_only):
    """The probe's case: `segmint quality` writes its report next to the workspace by
    default; in a read-only folder that was an OSError traceback."""
    out = _clean_exit(runner.invoke(app, ["quality", "-w", str(ws_in_read_only)]))
    folder = ws_in_read_only.parent / "w-quality"
    assert "WorkspaceError" in out and f"'{folder}'" in out and "--out" in out


def test_quality_into_a_read_only_folder_names_it_and_the_fix(ws_copy, read_only):
    before = snapshot(ws_copy)
    out = _clean_exit(
        runner.invoke(app, ["quality", "-w", str(ws_copy), "--out", str(read_only / "q")])
    )
    assert "WorkspaceError" in out and str(read_only / "q") in out and "--out" in out
    assert snapshot(ws_copy) == before


@pytest.mark.parametrize(
    "args",
    [
        ["clean", "--report-dir", "{ro}/q"],
        ["run", "--out", "{ro}/report"],
        ["value", "--out", "{ro}/clv.csv"],
        ["features", "--out", "{ro}/features.csv"],
        ["ingest", "{data}", "-w", "{ro}/new/w.duckdb"],
        ["sample", "{ro}/sample"],
        ["demo", "--out", "{ro}/demo", "-w", "{ro}/demo.duckdb"],
    ],
    ids=lambda a: a[0],
)
def test_commands_writing_into_a_read_only_folder_exit_2(args, ws_copy, read_only):
    data = str(shared_file("cdnow", "CDNOW_sample.txt"))
    argv = [a.format(ro=read_only, data=data) for a in args]
    if "-w" not in argv and args[0] != "sample":
        argv += ["-w", str(ws_copy)]
    before = snapshot(ws_copy)
    out = _clean_exit(runner.invoke(app, argv))
    assert str(read_only) in out
    assert snapshot(ws_copy) == before


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--spec", "{tmp}"],
        ["run", "--spec", "{tmp}/binary.yaml"],
        ["features", "--out", "{tmp}"],
        ["value", "--out", "{tmp}"],
        ["features", "--as-of", "0001-01-01"],
        ["features", "--as-of", "9999-12-31"],
        ["value", "--holdout-days", "99999999999999"],
    ],
    ids=[
        "spec-is-a-folder",
        "spec-is-binary",
        "features-out-is-a-folder",
        "value-out-is-a-folder",
        "as-of-year-1",
        "as-of-year-9999",
        "holdout-overflow",
    ],
)
def test_odd_command_line_values_exit_2(args, ws_copy, tmp_path):
    (tmp_path / "binary.yaml").write_bytes(bytes(range(128, 256)) * 20)
    argv = [a.format(tmp=tmp_path) for a in args] + ["-w", str(ws_copy)]
    before = snapshot(ws_copy)
    _clean_exit(runner.invoke(app, argv))
    assert snapshot(ws_copy) == before


# ------------------------------------------------------------------ engine errors tell the truth


class _FailingSet:
    """A DuckDB connection whose ``SET memory_limit`` fails as on a full disk."""

    def __init__(self, db: duckdb.DuckDBPyConnection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("SET memory_limit"):
            raise duckdb.IOException("IO Error: Could not write file: No space left on device")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_full_disk_is_not_blamed_on_the_memory_variable(ws_copy, monkeypatch):
    store = Store(ws_copy)
    try:
        store.db = _FailingSet(store.db)  # type: ignore[assignment]
        store.release_memory()  # never raises: it runs in finally blocks
        with pytest.raises(DiskSpaceError) as err:
            store._limit_memory()
        assert "SEGMINT_MEMORY_LIMIT" not in str(err.value)
    finally:
        store.close()
    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "lots")
    with pytest.raises(WorkspaceError, match="SEGMINT_MEMORY_LIMIT must be a memory size"):
        Store(ws_copy)


def test_the_release_in_finally_does_not_replace_the_real_error(ws_copy, monkeypatch):
    import segmint._workspace as workspace_module

    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise DiskSpaceError("the disk is full (simulated inside clean)")

    monkeypatch.setattr(workspace_module, "clean", full_disk)
    with segmint.Workspace(ws_copy) as ws:
        ws.store.db = _FailingSet(ws.store.db)  # type: ignore[assignment]
        with pytest.raises(DiskSpaceError, match="simulated inside clean"):
            ws.clean()


def test_a_rolled_back_write_gives_its_file_space_back(ws_copy):
    size = ws_copy.stat().st_size
    store = Store(ws_copy)
    try:
        with pytest.raises(RuntimeError), store.transaction() as db:
            db.execute("CREATE TABLE big AS SELECT range i, random() r FROM range(3000000)")
            assert ws_copy.stat().st_size > size + (10 << 20)  # the blocks are in the file
            raise RuntimeError("the write failed")
        assert store._free_bytes() == 0
    finally:
        store.close()
    assert ws_copy.stat().st_size <= size + (1 << 20)


class _Invalidated(_FailingSet):
    """A connection that DuckDB invalidates at the rollback (as when a checkpoint failed on a
    full disk: every later statement fails until the file is opened again)."""

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "ROLLBACK":
            raise duckdb.FatalException("FATAL Error: database has been invalidated")
        return self._db.execute(sql, *args)


def test_an_invalidated_connection_is_reopened_after_the_rollback(ws_copy):
    store = Store(ws_copy)
    try:
        rows = store.count("orders")
        broken = store.db = _Invalidated(store.db)  # type: ignore[assignment]
        with pytest.raises(RuntimeError), store.transaction():
            raise RuntimeError("a checkpoint failed")
        assert store.db is not broken and store.count("orders") == rows
    finally:
        store.close()


def test_space_past_the_last_block_counts_as_free_and_goes_at_the_next_checkpoint(ws_copy):
    """A checkpoint that fails on a full disk leaves the file longer than its blocks (seen on
    a 300 MB tmpfs: 10,760,192 → 11,579,392 bytes); that space is reused, so the free-space
    check counts it, and the next successful checkpoint cuts it off."""
    size = ws_copy.stat().st_size
    with ws_copy.open("ab") as fh:
        fh.write(b"\0" * (1 << 20))
    store = Store(ws_copy)
    try:
        assert store._free_bytes() >= 1 << 20
        store.db.execute("CREATE TABLE t (i INTEGER)")
        store.db.execute("DROP TABLE t")
        store.db.execute("CHECKPOINT")
    finally:
        store.close()
    assert ws_copy.stat().st_size == size


def test_the_free_space_check_counts_free_blocks_inside_the_file(ws_copy):
    store = Store(ws_copy)
    try:
        store.db.execute("CREATE TABLE big AS SELECT range i, random() r FROM range(3000000)")
        store.db.execute("CHECKPOINT")
        store.db.execute("CREATE TABLE tail AS SELECT range i FROM range(100000)")
        store.db.execute("CHECKPOINT")  # the free blocks are now in the middle of the file
        store.db.execute("DROP TABLE big")
        store.db.execute("CHECKPOINT")
        reusable = store._free_bytes()
        assert reusable > (10 << 20)
        free = shutil.disk_usage(ws_copy.parent).free
        store.check_free_space(free + reusable // 2, "a file that fits in the free blocks")
        with pytest.raises(DiskSpaceError):
            store.check_free_space(free + reusable * 2, "a file that does not fit")
    finally:
        store.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 30 MB tmpfs: a real disk that fills up (needs root; skipped with the reason)."""
    folder = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("filling a real disk needs a 30 MB tmpfs, and mounting one needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _fill(disk: Path, leave_kb: int) -> Path:
    filler = disk / "filler"
    free_kb = shutil.disk_usage(disk).free // 1024
    with filler.open("wb") as fh:
        fh.truncate(0)
        block = b"\0" * (1 << 20)
        left = (free_kb - leave_kb) * 1024
        while left > 0:
            left -= fh.write(block[: min(left, len(block))])
    return filler


def test_clean_on_a_full_disk_says_disk_full_and_a_retry_works(small_disk, cdnow_ws):
    """The disk fills during clean (400 KB free; clean needs about 1 MB more plus its WAL): a
    DiskSpaceError naming the path, exit 2, the workspace file no larger (before the fix:
    "SEGMINT_MEMORY_LIMIT must be a memory size"), and once space is freed the same
    command works."""
    path = small_disk / "w.duckdb"
    shutil.copy(cdnow_ws, path)
    filler = _fill(small_disk, 400)
    size, before = path.stat().st_size, snapshot(path)
    out = _clean_exit(runner.invoke(app, ["clean", "-w", str(path)]))
    assert "DiskSpaceError" in out and "SEGMINT_MEMORY_LIMIT" not in out
    assert str(small_disk) in out and "free some" in out
    assert path.stat().st_size <= size + (256 << 10)
    assert snapshot(path) == before
    filler.unlink()
    retry = runner.invoke(app, ["clean", "-w", str(path)])
    assert retry.exit_code == 0, retry.output
    with segmint.Workspace(path) as ws:
        assert [r["kind"] for r in ws.runs()].count("clean") == 1


def test_the_quality_report_on_a_full_disk_is_a_disk_space_error(small_disk, ws_copy):
    _fill(small_disk, 4)
    out = _clean_exit(
        runner.invoke(app, ["quality", "-w", str(ws_copy), "--out", str(small_disk / "q")])
    )
    assert "DiskSpaceError" in out and str(small_disk / "q") in out and "--out" in out
    assert not list((small_disk / "q").glob("*.part")) if (small_disk / "q").exists() else True
