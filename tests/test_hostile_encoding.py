"""Mixed encodings and megabyte lines: every row read as written, or refused, never garbled.

Before, a file with 30 of 60 rows in Windows-1252 was read whole as Latin-1 (30 rows
``CafÃ© MÃ¼ller``), and one Latin-1 line after the first megabyte made the whole file be
re-read as Latin-1, garbling every valid UTF-8 row with only a note. A 1 MB single-line CSV
produced a megabyte-long error message.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.ingest.sniff import SAMPLE_BYTES
from tests.conftest import shared_file, snapshot

HEADER = "customer_id,first_name,last_name,city"


def _mixed(path: Path, n: int = 60) -> Path:
    """n customers, every second row written in Windows-1252, the others in UTF-8."""
    data = (HEADER + "\n").encode()
    for i in range(1, n + 1):
        line = f"{i},Café,Müller {i},Köln\n"
        data += line.encode("cp1252" if i % 2 == 0 else "utf-8")
    path.write_bytes(data)
    return path


def _garbled(ws: segmint.Workspace, table: str) -> int:
    cols = [c for c, t in ws.store.columns(table).items() if t == "VARCHAR"]
    cond = " OR ".join(f"contains(\"{c}\", 'Ã')" for c in cols)
    row = ws.store.db.execute(f"SELECT count(*) FROM {table} WHERE {cond}").fetchone()
    return int(row[0]) if row else -1


def test_30_of_60_windows_rows_are_read_as_written_and_listed(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(_mixed(tmp_path / "mixed.csv"))
    assert res.rows == 60
    assert _garbled(ws, "customers") == 0
    got = ws.store.db.execute(
        "SELECT count(*) FROM customers WHERE first_name = 'Café' AND city = 'Köln' "
        "AND last_name = 'Müller ' || customer_id"
    ).fetchone()
    assert got == (60,)
    assert any("30 rows are not UTF-8" in n and "Windows-1252" in n for n in res.notes)
    issues = ws.store.db.execute(
        'SELECT "row", column_name, value, reason FROM quality_issues ORDER BY "row"'
    ).fetchall()
    assert [r[0] for r in issues] == list(range(2, 61, 2))  # data rows, header excluded
    assert issues[0] == (
        2,
        "*",
        "2,Café,Müller 2,Köln",
        "line 3 is not UTF-8: read as Windows-1252",
    )
    counts = ws.store.db.execute(
        "SELECT check_name, n_bad, n_checked FROM quality_counts WHERE check_name = 'encoding'"
    ).fetchall()
    assert counts == [("encoding", 30, 60)]
    ws.close()


def test_gzipped_mixed_file_is_repaired_the_same(tmp_path):
    plain = _mixed(tmp_path / "mixed.csv")
    packed = tmp_path / "mixed.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(packed)
    assert res.rows == 60 and _garbled(ws, "customers") == 0
    ws.close()


def test_one_latin1_line_after_the_first_megabyte_garbles_nothing(tmp_path):
    """Real tweets (UTF-8, with accents and emoji): one line past 1 MB re-encoded as Latin-1."""
    src = shared_file("twitter_us_airline_sentiment", "Tweets.csv")
    raw = src.read_bytes()
    start = raw.index(b"\n", SAMPLE_BYTES + 200_000) + 1
    end = raw.index(b"\n", start)
    line = raw[start:end]
    assert line.isascii() and b"@" in line
    patched = line.replace(b"@", "Crème brûlée @".encode("latin-1"), 1)
    hostile = tmp_path / "Tweets.csv"
    hostile.write_bytes(raw[:start] + patched + raw[end:])
    mapping = {"customer_id": "name"}
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(hostile, into="feedback", mapping=mapping)
    ref = segmint.Workspace(tmp_path / "ref.duckdb")
    ref.ingest(src, into="feedback", mapping=mapping)
    query = "SELECT _row, text FROM feedback ORDER BY _row"
    got = ws.store.db.execute(query).fetchall()
    want = ref.store.db.execute(query).fetchall()
    assert len(got) == len(want) == res.rows > 14_000
    diff = [(g, w) for g, w in zip(got, want, strict=True) if g != w]
    assert len(diff) == 1
    (row, text), (_, before) = diff[0]
    assert text == before.replace("@", "Crème brûlée @", 1)
    assert _garbled(ws, "feedback") == _garbled(ref, "feedback")  # the tweets' own, if any
    non_ascii = ws.store.db.execute(
        "SELECT count(*) FROM feedback WHERE NOT regexp_matches(text, '^[ -~\\s]*$')"
    ).fetchone()
    assert non_ascii is not None and non_ascii[0] > 100  # the UTF-8 tweets kept their accents
    issues = ws.store.db.execute('SELECT "row", reason FROM quality_issues').fetchall()
    line_no = raw[:start].count(b"\n") + 1
    assert issues == [(row, f"line {line_no} is not UTF-8: read as Windows-1252")]
    assert any("1 row is not UTF-8 (file line " in n for n in res.notes)
    ws.close()
    ref.close()


def test_a_whole_windows_file_reads_with_its_euro_and_quotes(tmp_path):
    """Latin-1 and the Windows-1252 extras (€ ’ at 0x80-0x9F, which DuckDB's Latin-1 refuses)."""
    path = tmp_path / "windows.csv"
    text = HEADER + ",note\n1,Zoë,Señor,Málaga,it’s 5 €\n2,Ann,Lee,Oslo,\n"
    path.write_bytes(text.encode("cp1252"))
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    row = ws.store.db.execute(
        "SELECT first_name, city, note FROM customers WHERE customer_id = '1'"
    )
    assert row.fetchone() == ("Zoë", "Málaga", "it’s 5 €")
    assert any("read as Windows-1252" in n for n in res.notes)
    assert not ws.store.db.execute("SELECT * FROM quality_issues").fetchall()  # not mixed
    ws.close()


def test_strict_utf8_refuses_a_mixed_file_and_changes_nothing(tmp_path):
    ws_path = tmp_path / "w.duckdb"
    ws = segmint.Workspace(ws_path)
    ws.ingest(_mixed(tmp_path / "first.csv", 4))
    ws.close()
    before = snapshot(ws_path)
    bad = _mixed(tmp_path / "mixed.csv")
    result = CliRunner().invoke(
        app, ["ingest", str(bad), "-w", str(ws_path), "--encoding", "utf-8"]
    )
    out = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "mixed.csv" in out and "--encoding" in out
    assert snapshot(ws_path) == before


@pytest.mark.parametrize(
    "content",
    [
        "x" * 1_000_000 + "\n",  # one megabyte-long header cell, no data
        "customer_id,note\n1," + '"' + "y" * 1_000_000 + "\n",  # an unclosed quote
        HEADER + "," + HEADER.replace(",", "_") * 50_000 + "\n1,a,b,c,d\n",
    ],
    ids=["long-header", "unclosed-quote", "long-name"],
)
def test_a_megabyte_line_gives_a_short_message(tmp_path, content):
    path = tmp_path / "one_line.csv"
    path.write_text(content, encoding="utf-8")
    ws_path = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["ingest", str(path), "-w", str(ws_path)])
    assert "Traceback" not in result.output
    assert len(result.output) < 3_000, result.output[:3_000]
    if result.exit_code != 0:
        assert result.exit_code == 2
        assert "one_line.csv" in " ".join(result.output.replace("│", " ").split())
    if content.startswith("x"):
        with pytest.raises(segmint.SegmintError) as err:
            segmint.Workspace(tmp_path / "api.duckdb").ingest(path)
        assert len(str(err.value)) < 1_000
        assert "1,000,000 characters" in str(err.value)


def test_a_ragged_megabyte_line_gives_a_short_message(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n" + ",".join(["z" * 500] * 400) + "\n", encoding="utf-8")
    with pytest.raises(segmint.SegmintError) as err:
        segmint.Workspace(tmp_path / "w.duckdb").ingest(path)
    assert len(str(err.value)) < 1_500
    assert "ragged.csv" in str(err.value)


def test_whitespace_table_with_mixed_lines(tmp_path):
    """A whitespace-aligned table (CDNOW's layout) with one Windows-1252 line among UTF-8 ones."""
    lines = ["customer_id  first_name  city"]
    lines += [f"{i:>5}  José{i}  Zürich" for i in range(1, 11)]
    data = b"".join(
        (ln + "\n").encode("cp1252" if i == 7 else "utf-8") for i, ln in enumerate(lines)
    )
    path = tmp_path / "aligned.txt"
    path.write_bytes(data)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert res.rows == 10 and _garbled(ws, "customers") == 0
    got = ws.store.db.execute("SELECT count(*) FROM customers WHERE city = 'Zürich'").fetchone()
    assert got == (10,)
    assert ws.store.db.execute('SELECT "row" FROM quality_issues').fetchall() == [(7,)]
    ws.close()


@pytest.mark.parametrize("utf8_every", [0, 3], ids=["all-windows", "mixed"])
def test_many_megabytes_of_windows_lines_are_all_read_and_counted(tmp_path, utf8_every):
    """Past the listed lines whole chunks are decoded at once; every row must still be right."""
    n = 60_000  # about 2.5 MB: several chunks
    path = tmp_path / "big.csv"
    with path.open("wb") as fh:
        fh.write(b"customer_id,first_name,note\n")
        for i in range(1, n + 1):
            utf8 = utf8_every and i % utf8_every == 0
            fh.write(f"{i},José {i},it’s {i % 50} €\n".encode("utf-8" if utf8 else "cp1252"))
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert res.rows == n and _garbled(ws, "customers") == 0
    good = ws.store.db.execute(
        "SELECT count(*) FROM customers WHERE first_name = 'José ' || customer_id "
        "AND note = 'it’s ' || (CAST(customer_id AS INT) % 50) || ' €'"
    ).fetchone()
    assert good == (n,)
    counts = ws.store.db.execute(
        "SELECT n_bad, n_checked FROM quality_counts WHERE check_name = 'encoding'"
    ).fetchall()
    assert counts == ([(n - n // utf8_every, n)] if utf8_every else [])
    ws.close()
