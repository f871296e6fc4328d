"""Erasing one person (GDPR art. 17, CCPA delete): every row, quote and byte, then suppression.

What :func:`erase` does, in order:

1. **Find** the person's customer ids (:func:`segmint.privacy.subject.resolve`: with every
   record ``segmint dedupe`` linked to them) and their identifiers as stored (ids, e-mails,
   phones), and the feedback texts they wrote (a segment's summary quotes texts).
2. **Delete**, in one transaction: their rows in every customer-keyed table of the registry
   (:func:`segmint.store.tables.customer_keyed_tables`, families such as the per-run feature
   snapshots included; a row goes when any of its id columns names them: a scored pair of
   records, one of them theirs), the quality samples of their source rows or quoting their
   identifiers, and every quote of an identifier in the other tables' text and JSON
   (segmentation results, job results: the value becomes ``[erased]``). Their id, e-mail and
   phone go on the suppression list as keyed hashes, and the audit log gets the erasure,
   with a keyed hash as its target.
3. **Rewrite the workspace file** (:meth:`Store.rewrite_file`): DuckDB keeps deleted rows'
   bytes in their blocks, so only a file written anew from the live rows holds none of them;
   the WAL goes with the old file.
4. **Reports** segmint wrote (``report_files``) that quote the person are rewritten with
   ``[erased]`` in place of each quote (JSON parsed and written again; HTML by exact,
   bounded text match). A report that cannot be rewritten safely (an id of fewer than 5
   characters would match unrelated numbers in the text) is deleted, and listed.
5. **Files**: files segmint keeps that held the person (the server's uploads) are deleted;
   files the user imported from their own folders are listed, not touched, and so are the
   audience files already written (``exports``), which must be withdrawn from the platforms.

What stays: aggregate models fitted on the person (cluster centres, RFM cut points, value
model parameters: no row of theirs can be recovered from them) and aggregate figures in
reports (segment sizes and means). docs/privacy.md says so.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmint.exceptions import InputError
from segmint.privacy.audit import record
from segmint.privacy.keys import keyed_hash, normalize, workspace_key
from segmint.privacy.pseudonyms import customer_keys
from segmint.privacy.reports import report_paths
from segmint.privacy.subject import resolve

if TYPE_CHECKING:
    from segmint.store import Store

__all__ = ["ERASED", "ErasureResult", "erase", "suppression_hashes"]

#: what a quote of the person becomes in text, JSON and reports
ERASED = "[erased]"
#: ids shorter than this cannot be told from other numbers in an HTML report's text
_MIN_SAFE_TOKEN = 5
_TEXT_TYPES = ("VARCHAR", "JSON")


@dataclass
class ErasureResult:
    """What an erasure removed, rewrote and found (or, with ``dry_run``, would)."""

    #: the audit log's target for this erasure: a keyed hash of the first customer id
    erasure_id: str
    customers: int
    dry_run: bool
    reason: str | None = None
    #: rows deleted per table
    rows: dict[str, int] = field(default_factory=dict)
    #: quotes replaced by ``[erased]`` per table.column (results, jobs, …)
    quotes: dict[str, int] = field(default_factory=dict)
    #: audience files that held the person: withdraw them from the platforms
    exports: list[dict[str, Any]] = field(default_factory=list)
    reports_rewritten: list[str] = field(default_factory=list)
    reports_deleted: list[str] = field(default_factory=list)
    #: files segmint kept (server uploads) that held the person, deleted
    files_deleted: list[str] = field(default_factory=list)
    #: files the person's rows were imported from, outside segmint's folders (not touched)
    source_files: list[str] = field(default_factory=list)
    #: keyed hashes added to the suppression list
    suppressed: int = 0
    #: the workspace file's rewrite: bytes before / after, seconds
    file: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["total_rows"] = self.total_rows
        return out


def erase(
    store: Store,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    owned_dirs: Sequence[str | os.PathLike[str]] = (),
    progress: Any = None,
) -> ErasureResult:
    """Erase one person (found by exactly one of id, e-mail or phone) from the workspace.

    ``owned_dirs``: folders whose files segmint manages (the server's uploads); a source file
    in one of them that held the person is deleted, other source files are only listed.
    ``dry_run`` changes nothing and returns what would go. Raises
    :class:`~segmint.exceptions.InputError` when nobody matches.
    """
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    ids = resolve(store, customer_id=customer_id, email=email, phone=phone)
    if not ids:
        kind, value = next(
            (k, v)
            for k, v in (("customer id", customer_id), ("e-mail", email), ("phone", phone))
            if v is not None
        )
        raise InputError(
            f"No customer in this workspace has the {kind} '{value}'. Nothing was erased.",
            fix="check the spelling; `segmint subject-access` finds a person by id, e-mail or "
            "phone. A person erased before is no longer found (their hashes are on the "
            "suppression list).",
        )
    key = workspace_key(store)
    con = store.db
    contacts = _contacts(store, ids)
    keys = customer_keys(store, ids)  # with their pseudonyms when derived tables hold them
    said = _texts(store, ids)  # quoted in segment summaries and reports
    tokens = sorted({*keys, *contacts["email"], *contacts["phone"], *said}, key=len, reverse=True)
    result = ErasureResult(
        erasure_id="e:" + keyed_hash(key, normalize("customer_id", ids[0]) or ids[0])[:16],
        customers=len(ids),
        dry_run=dry_run,
        reason=reason,
    )
    say("Finding the person's rows")
    keyed = _keyed_instances(store)
    for table, columns in _by_table(keyed).items():
        where = " OR ".join(f'"{c}" IN $keys' for c in columns)
        n = _count(con, f'SELECT count(*) FROM "{table}" WHERE {where}', {"keys": keys})
        if n:
            result.rows[table] = n
    lineage = _lineage(store, ids)
    if samples := _quality_rows(store, lineage, tokens, count=True):
        result.rows["quality_issues"] = samples
    result.exports = _exports(store, keys)
    result.source_files = _sources(store, lineage)
    quotes = _quotes(store, tokens)
    result.quotes = {f"{t}.{c}": len(rows) for (t, c), rows in quotes.items() if rows}
    hashes = suppression_hashes(key, ids, contacts)
    owned = [Path(d).resolve() for d in owned_dirs]
    if dry_run:
        result.reports_rewritten = [p for p, _k, _r in _reports_quoting(con, tokens)]
        result.suppressed = len(hashes)
        result.seconds = time.perf_counter() - t0
        return result
    say(f"Deleting {sum(result.rows.values()):,} rows")
    with store.transaction():
        for table, column in keyed:
            if table in result.rows:
                con.execute(f'DELETE FROM "{table}" WHERE "{column}" IN ?', [keys]).fetchall()
        _quality_rows(store, lineage, tokens, count=False)
        for (table, column), rows in quotes.items():
            for rowid, text in rows:
                con.execute(
                    f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?',
                    [_scrub_text(text, tokens), rowid],
                )
        store.ensure("suppressions")
        fresh = [
            h
            for h in hashes
            if not _count(
                con, "SELECT count(*) FROM suppressions WHERE kind = ? AND hash = ?", list(h)
            )
        ]
        con.executemany(
            "INSERT INTO suppressions VALUES (?, ?, now()::TIMESTAMP, ?)",
            [[k, h, result.erasure_id] for k, h in fresh],
        )
        result.suppressed = len(fresh)
        record(
            con,
            "erase",
            target=result.erasure_id,
            detail={
                "customers": len(ids),
                "rows": result.rows,
                "quotes": result.quotes,
                "exports": [e["export_id"] for e in result.exports],
                "reason": reason,
            },
        )
    say("Rewriting the workspace file")
    result.file = store.rewrite_file()
    say("Rewriting reports")
    for path, _kind, _run in _reports_quoting(store.db, tokens):
        if _rewrite_report(Path(path), tokens):
            result.reports_rewritten.append(path)
        else:
            result.reports_deleted.append(path)
            store.db.execute("DELETE FROM report_files WHERE path = ?", [path])
    for src in list(result.source_files):
        p = Path(src)
        if any(p.is_relative_to(d) for d in owned) and p.exists():
            p.unlink()
            result.files_deleted.append(src)
            result.source_files.remove(src)
            if p.parent not in owned and not any(p.parent.iterdir()):
                p.parent.rmdir()
    result.seconds = time.perf_counter() - t0
    return result


def suppression_hashes(
    key: bytes, ids: Iterable[str], contacts: dict[str, set[str]]
) -> list[tuple[str, str]]:
    """(kind, keyed hash) for every id, e-mail and phone of the person (normalized)."""
    out: set[tuple[str, str]] = set()
    for kind, values in (("customer_id", ids), *contacts.items()):
        for v in values:
            n = normalize(kind, v)
            if n:
                out.add((kind, keyed_hash(key, n)))
    return sorted(out)


# -- finding ---------------------------------------------------------------------------------


def _by_table(keyed: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in keyed:
        out.setdefault(table, []).append(column)
    return out


def _count(con: Any, sql: str, params: list[Any] | dict[str, Any]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _keyed_instances(store: Store) -> list[tuple[str, str]]:
    from segmint.store.tables import customer_keyed_tables

    out = []
    for t in customer_keyed_tables():  # every id column: a pair's two records, a person
        out += [(name, column) for name in store.instances(t) for column in t.customer_columns]
    return out


def _contacts(store: Store, ids: list[str]) -> dict[str, set[str]]:
    """The person's e-mails and phones as stored (customers; e-mails given on orders)."""
    found: dict[str, set[str]] = {"email": set(), "phone": set()}
    for table, cols in (("customers", ("email", "phone")), ("orders", ("email",))):
        if not store.has_table(table):
            continue
        have = store.columns(table)
        for c in cols:
            if c in have:
                rows = store.db.execute(
                    f'SELECT DISTINCT "{c}" FROM "{table}" WHERE customer_id IN ? '
                    f'AND "{c}" IS NOT NULL',
                    [ids],
                ).fetchall()
                found[c].update(str(r[0]) for r in rows if str(r[0]).strip())
    return found


#: shorter texts ("ok", "thanks") would match unrelated words: they are never quoted alone
_MIN_QUOTED_TEXT = 12


def _texts(store: Store, ids: list[str]) -> set[str]:
    """The person's feedback texts, as written and as quoted (:func:`quote_text`): a segment
    summary quotes texts, never who wrote them."""
    from segmint.privacy.quotes import quote_text

    if not store.has_table("feedback") or "text" not in store.columns("feedback"):
        return set()
    rows = store.db.execute(
        "SELECT DISTINCT text FROM feedback WHERE CAST(customer_id AS VARCHAR) IN ? "
        "AND length(trim(text)) >= ?",
        [ids, _MIN_QUOTED_TEXT],
    ).fetchall()
    said = {str(r[0]).strip() for r in rows}
    quoted = {quote_text(t) for t in said}  # as summaries and reports show them
    return {t for t in said | quoted if len(t) >= _MIN_QUOTED_TEXT}


def _lineage(store: Store, ids: list[str]) -> list[tuple[str, str, int]]:
    """(table, run id, source row) of the person's canonical rows."""
    from segmint.store.schema import CANONICAL

    out: list[tuple[str, str, int]] = []
    for table in CANONICAL:
        if not store.has_table(table) or "customer_id" not in store.columns(table):
            continue
        rows = store.db.execute(
            f'SELECT DISTINCT _run_id, _row FROM "{table}" WHERE customer_id IN ? '
            "AND _row IS NOT NULL",
            [ids],
        ).fetchall()
        out += [(table, str(r[0]), int(r[1])) for r in rows]
    return out


def _quality_rows(
    store: Store, lineage: list[tuple[str, str, int]], tokens: list[str], *, count: bool
) -> int:
    """Quality samples of the person's source rows, or quoting one of their identifiers."""
    if not store.has_table("quality_issues"):
        return 0
    con = store.db
    con.execute("CREATE OR REPLACE TEMP TABLE _erase_lineage (t VARCHAR, r VARCHAR, n BIGINT)")
    if lineage:
        con.executemany("INSERT INTO _erase_lineage VALUES (?, ?, ?)", [list(x) for x in lineage])
    values = sorted({v for t in tokens for v in (t, t.lower())})
    where = (
        "EXISTS (SELECT 1 FROM _erase_lineage l WHERE l.t = q.table_name AND l.r = q.run_id "
        "AND l.n = q.row) OR lower(trim(q.value)) IN ?"
    )
    if count:
        n = _count(con, f"SELECT count(*) FROM quality_issues q WHERE {where}", [values])
    else:
        n = 0
        con.execute(f"DELETE FROM quality_issues q WHERE {where}", [values])
    con.execute("DROP TABLE IF EXISTS _erase_lineage")
    return n


def _exports(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    if not (store.has_table("exports") and store.has_table("export_members")):
        return []
    rows = store.db.execute(
        "SELECT e.export_id, e.created_at, e.destination, e.path, e.label FROM exports e "
        "WHERE e.export_id IN (SELECT export_id FROM export_members WHERE customer_id IN ?) "
        "ORDER BY e.export_id",
        [ids],
    ).fetchall()
    cols = ("export_id", "created_at", "destination", "path", "label")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _sources(store: Store, lineage: list[tuple[str, str, int]]) -> list[str]:
    """The imported files the person's rows came from (ingest runs' sources)."""
    runs = sorted({r for _t, r, _n in lineage})
    if not runs:
        return []
    rows = store.db.execute(
        "SELECT DISTINCT source FROM runs WHERE kind = 'ingest' AND run_id IN ? "
        "AND source IS NOT NULL ORDER BY 1",
        [runs],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _quotes(store: Store, tokens: list[str]) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """Text and JSON values quoting an identifier, in tables not about one customer (results,
    jobs, schedules; canonical tables and the audit log excepted): (rowid, text) per column."""
    from segmint.store.tables import workspace_table

    out: dict[tuple[str, str], list[tuple[int, str]]] = {}
    # as written inside stored JSON too (a quoted text's quotes and line breaks are escaped)
    needles = sorted({v for t in tokens for v in (t, json.dumps(t, ensure_ascii=False)[1:-1])})
    for table in store.table_names():
        try:
            spec = workspace_table(table)
        except KeyError:
            continue
        if (
            spec.customer_keyed
            or spec.kind == "canonical"
            or table
            in (
                "audit_log",
                "quality_issues",
                "suppressions",
            )
        ):
            continue
        for column, dtype in store.columns(table).items():
            if not dtype.upper().startswith(_TEXT_TYPES):
                continue
            likes = " OR ".join(f'contains(CAST("{column}" AS VARCHAR), ?)' for _ in needles)
            rows = store.db.execute(
                f'SELECT rowid, CAST("{column}" AS VARCHAR) FROM "{table}" WHERE {likes}',
                needles,
            ).fetchall()
            hits = [(int(r[0]), str(r[1])) for r in rows if _scrub_text(r[1], tokens) != r[1]]
            if hits:
                out[(table, column)] = hits
    return out


# -- rewriting text ----------------------------------------------------------------------------


def _pattern(tokens: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in tokens if t)
    return re.compile(rf"(?<![\w@+\-.])(?:{alternatives})(?![\w@+\-]|\.\w)")


def _scrub_text(text: str, tokens: list[str]) -> str:
    """``text`` with every bounded quote of a token replaced (JSON is walked, not searched)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return _pattern(tokens).sub(ERASED, text)
    if not isinstance(value, dict | list):
        return _pattern(tokens).sub(ERASED, text)
    cleaned = _scrub_json(value, _pattern(tokens))
    return text if cleaned == value else json.dumps(cleaned, ensure_ascii=False)


def _scrub_json(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_scrub_json(v, pattern) for v in value]
    if isinstance(value, dict):
        return {
            k: _scrub_json(v, pattern)
            for k, v in value.items()
            if pattern.sub(ERASED, k) == k  # an entry keyed by the person goes
        }
    return value


def _reports_quoting(con: Any, tokens: list[str]) -> list[tuple[str, str, str | None]]:
    found = []
    for path, kind, run in report_paths(con):
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _quoted(text, tokens):
            found.append((path, kind, run))
    return found


def _variants(token: str) -> set[str]:
    """How a token may be written in a report: as is, HTML-escaped, JSON-escaped."""
    import html

    return {
        token,
        html.escape(token),
        json.dumps(token)[1:-1],
        html.escape(json.dumps(token)[1:-1]),
    }


def _quoted(text: str, tokens: list[str]) -> bool:
    """Whether ``text`` quotes a token in any of its written forms (bounded: ``C0001`` is not
    found in ``C00012``)."""
    return _pattern(sorted({v for t in tokens for v in _variants(t)})).search(text) is not None


def _rewrite_report(path: Path, tokens: list[str]) -> bool:
    """Rewrite ``path`` without the tokens (atomically); False when it was deleted instead."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        new = _scrub_text(text, tokens)
    elif any(len(t) < _MIN_SAFE_TOKEN for t in tokens):
        path.unlink()
        return False
    else:
        variants = sorted({v for t in tokens for v in _variants(t)}, key=len, reverse=True)
        new = _pattern(variants).sub(ERASED, text)
    if _quoted(new, tokens):  # a quote is left (an unusual escape): cannot rewrite
        path.unlink()
        return False
    tmp = path.with_name(path.name + ".erasing")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True
