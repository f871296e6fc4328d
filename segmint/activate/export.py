"""Write a segment's audience file for a destination, and log it.

:func:`export_audience` is the one export every interface calls (CLI ``segmint export``,
``Workspace.export``, the REST API, the web app's button):

1. the run (the latest segment run holding the segmentation, unless one is named) and the
   segments (by label or name) are checked;
2. the contacts of those segments (or of the given customers of them: a split test's variant,
   labelled in the log) are normalized once (:mod:`segmint.activate.contacts`);
3. customers who objected to profiling since the run (``consent_profiling`` false: a segment
   is the product of profiling) are left out, then those without the destination's consent (a
   missing value counts as no consent unless ``assume_consent``; an explicit no always
   counts), then those without an identifier the platform can match on; all are counted,
   never dropped silently;
4. an ad audience smaller than the platform takes (Google and Meta: 100) is refused unless
   ``min_size`` is lowered;
5. DuckDB writes the file (hashing with its own ``sha256``) to a temporary name; its SHA-256,
   a row in ``exports`` and one row per customer in ``export_members`` are committed in one
   transaction, and only then does the file take its name. A failure leaves neither a file nor
   a log row.

E-mail tools and the plain CSV (exporters with ``template_columns``) also get the segment's
message, rendered per customer (:mod:`segmint.activate.templates`), as two columns for merge
tags, when its plan has a subject or body template; without one the file has no such columns
and nothing is rendered.

Segment and file names are checked against the terms Meta's policy reads as health or
financial status (:mod:`segmint.activate.sensitive`); a match is a warning, kept in the log.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from segmint.activate.contacts import OBJECTION, build_contacts
from segmint.activate.exporters import Exporter, lookup
from segmint.activate.sensitive import sensitive_terms
from segmint.activate.templates import BODY_COLUMN, SUBJECT_COLUMN, rendered_messages
from segmint.exceptions import ExportError
from segmint.identity.persons import customers_sql
from segmint.privacy import audit
from segmint.privacy.pseudonyms import customer_key_sql, keep_pseudonymized
from segmint.store import Store
from segmint.store.csvsafe import query_to_csv
from segmint.store.results import SegmentationResult

__all__ = [
    "ExportResult",
    "export_audience",
    "latest_run",
    "list_exports",
    "resolve_segments",
    "segmentation_result",
]

CONTACTS = "_segmint_export_contacts"
MESSAGES = "_segmint_export_messages"
#: reasons a customer is left out, as the log and the CLI name them
NO_CONSENT, NO_IDENTIFIER = "no consent", "no usable identifier"
#: counted only when some customer objected (an export log from before has no such reason)
OBJECTED = "objected to profiling"


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote (also a row of ``exports``)."""

    export_id: str
    created_at: str
    created_by: str
    run_id: str
    segmentation: str
    segments: list[str]
    segment_names: list[str]
    destination: str
    hashed: bool
    assume_consent: bool
    rows_written: int
    left_out: dict[str, int]
    path: str
    sha256: str
    warnings: list[str] = field(default_factory=list)
    #: what the file is when it holds part of the segments (a split test's variant), or None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def latest_run(store: Store, segmentation: str) -> str:
    """The newest segment run that holds ``segmentation``."""
    if not store.has_table("segmentations"):
        raise ExportError(
            "There are no segment runs in this workspace yet.",
            fix="run `segmint run` first (or start a segmentation in the web app), then export a "
            "segment.",
        )
    row = store.db.execute(
        "SELECT s.run_id FROM segmentations s JOIN runs r USING (run_id) WHERE s.name = ? "
        "ORDER BY r.seq DESC LIMIT 1",
        [segmentation],
    ).fetchone()
    if row is None:
        names = [
            r[0] for r in store.db.execute("SELECT DISTINCT name FROM segmentations").fetchall()
        ]
        raise ExportError(
            f"No run has a segmentation named '{segmentation}'.",
            fix=f"use one of: {', '.join(sorted(names))}.",
        )
    return str(row[0])


def segmentation_result(store: Store, run_id: str, segmentation: str) -> SegmentationResult:
    """The stored result (profiles, plans) of ``segmentation`` in run ``run_id``."""
    row = store.db.execute(
        "SELECT result FROM segmentations WHERE run_id = ? AND name = ?", [run_id, segmentation]
    ).fetchone()
    if row is None:
        raise ExportError(
            f"Run '{run_id}' has no segmentation named '{segmentation}'.",
            fix="name a run that holds it (`segmint status` lists the runs), or name no run to use "
            "the latest.",
        )
    return SegmentationResult.from_json(row[0])


def resolve_segments(result: SegmentationResult, wanted: Sequence[str]) -> list[tuple[str, str]]:
    """(label, name) of each wanted segment, given by label or by name (any case)."""
    by_label = {s.label: s.name for s in result.profiles.segments}
    by_name = {s.name.casefold(): s.label for s in result.profiles.segments}
    out: list[tuple[str, str]] = []
    unknown = []
    for w in wanted:
        label = w if w in by_label else by_name.get(w.strip().casefold())
        if label is None:
            unknown.append(w)
        elif label not in [lab for lab, _ in out]:
            out.append((label, by_label[label]))
    if unknown or not out:
        shown = "; ".join(f"{s.label} ({s.name})" for s in result.profiles.segments)
        raise ExportError(
            f"Segmentation '{result.name}' has no segment {', '.join(map(repr, unknown))}."
            if unknown
            else "No segment was named.",
            fix=f"name a segment by label or name: {shown}.",
        )
    return out


def export_audience(
    store: Store,
    *,
    segmentation: str,
    segments: Sequence[str],
    destination: str,
    out: str | os.PathLike[str],
    run_id: str | None = None,
    hashed: bool | None = None,
    min_size: int | None = None,
    assume_consent: bool = False,
    created_by: str | None = None,
    extra_columns: Callable[[Exporter, SegmentationResult], list[tuple[str, str, bool]]]
    | None = None,
    logged_path: str | None = None,
    customer_ids: Iterable[str] | pa.Array | pa.ChunkedArray | None = None,
    label: str | None = None,
) -> ExportResult:
    """Write the audience file of ``segments`` for ``destination`` to ``out`` and log it.

    ``logged_path``: what the log records as the file's path instead of ``out`` (the API and
    the web app write a temporary file, send it and delete it: they log ``"download"``).
    ``customer_ids``: only these customers of the segments (a split test's variant; consent,
    identifier and minimum-size rules apply to them as to a whole segment); ``label`` says in
    the log what that part is (``experiment spring (e0001), variant A``)."""
    exporter = lookup(destination)
    hashed = _hashing(exporter, hashed)
    run = run_id or latest_run(store, segmentation)
    result = segmentation_result(store, run, segmentation)
    chosen = resolve_segments(result, segments)
    target = Path(out).expanduser().resolve()
    warnings = sensitive_terms([name for _, name in chosen] + [target.name], exporter)
    con = store.db
    try:
        total = build_contacts(
            con,
            CONTACTS,
            run_id=run,
            segmentation=segmentation,
            segments=[lab for lab, _ in chosen],
            customer_ids=customer_ids,
            # one golden record per person once records are linked; its ids are person ids
            customer_key=customer_key_sql(store, "c.customer_id", persons=False),
            customers=customers_sql(store),
            # a message template or an extra column may read any contact field
            only=None
            if exporter.template_columns is not None or extra_columns is not None
            else exporter.reads(),
        )
        left_out, kept = _filter(con, exporter, assume_consent)
        matchable = _matchable(con, exporter) if kept == 0 else None  # would consent help?
        _check_size(exporter, min_size, kept, total, left_out, matchable)
        columns = exporter.select(hashed=hashed)
        source = CONTACTS
        if exporter.template_columns is not None:
            messages = rendered_messages(con, CONTACTS, result, [lab for lab, _ in chosen])
            if messages is not None:
                con.register(MESSAGES, messages)
                source = f"{CONTACTS} LEFT JOIN {MESSAGES} USING (customer_id, segment)"
                subject, body = exporter.template_columns
                columns += [(subject, SUBJECT_COLUMN, False), (body, BODY_COLUMN, False)]
        if extra_columns is not None:
            columns += extra_columns(exporter, result)
        record = ExportResult(
            export_id=_next_id(store),
            created_at=datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
            created_by=created_by or _os_user(),
            run_id=run,
            segmentation=segmentation,
            segments=[lab for lab, _ in chosen],
            segment_names=[name for _, name in chosen],
            destination=exporter.name,
            hashed=hashed,
            assume_consent=assume_consent,
            rows_written=kept,
            left_out=left_out,
            path=logged_path or str(target),
            sha256="",
            warnings=warnings,
            label=label,
        )
        done: list[ExportResult] = []

        def log(tmp: Path) -> None:  # the file is complete: hash it and commit the log
            final = ExportResult(**{**record.to_dict(), "sha256": _sha256(tmp)})
            with store.transaction() as tx:
                _insert(tx, final)
                keep_pseudonymized(store, "export_members")
                audit.record(
                    tx,
                    "export",
                    target=final.export_id,
                    detail={
                        "run_id": run,
                        "segmentation": segmentation,
                        "segments": len(chosen),
                        "destination": exporter.name,
                        "hashed": hashed,
                        "rows": kept,
                        "left_out": left_out,
                        "part": label,
                    },
                )
            done.append(final)

        order = f"FROM {source} WHERE _keep ORDER BY customer_id"
        query_to_csv(con, columns, order, target, before_rename=log)
        return done[0]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {CONTACTS}")
        con.unregister(MESSAGES)  # a no-op when no message was rendered


def _hashing(exporter: Exporter, hashed: bool | None) -> bool:
    if hashed is None:
        return exporter.hashable
    if hashed and not exporter.hashable:
        raise ExportError(
            f"{exporter.title} imports plain text; it cannot take hashed identifiers.",
            fix="ask for plain text (CLI: leave out --hashed; Python and API: hashed unset); "
            "hashing applies to google-ads and meta.",
        )
    return hashed


def _filter(
    con: duckdb.DuckDBPyConnection, exporter: Exporter, assume_consent: bool
) -> tuple[dict[str, int], int]:
    """Mark the rows to write (``_keep``); count those left out, per reason."""
    if exporter.consent is None:
        consent = "true"
    elif assume_consent:
        consent = f"{exporter.consent} IS NOT FALSE"
    else:
        consent = f"{exporter.consent} IS TRUE"
    con.execute(
        f"ALTER TABLE {CONTACTS} ADD COLUMN _objected BOOLEAN; "
        f"ALTER TABLE {CONTACTS} ADD COLUMN _consent BOOLEAN; "
        f"ALTER TABLE {CONTACTS} ADD COLUMN _keep BOOLEAN; "
        f"UPDATE {CONTACTS} SET _objected = ({OBJECTION} IS FALSE), "
        f"_consent = ({OBJECTION} IS NOT FALSE) AND ({consent}), "
        f"_keep = ({OBJECTION} IS NOT FALSE) AND ({consent}) "
        f"AND coalesce({exporter.identifier}, false)"
    )
    row = con.execute(
        f"SELECT count(*) FILTER (_objected), count(*) FILTER (NOT _objected AND NOT _consent), "
        f"count(*) FILTER (_consent AND NOT _keep), count(*) FILTER (_keep) FROM {CONTACTS}"
    ).fetchone()
    assert row is not None
    left_out = {NO_CONSENT: int(row[1]), NO_IDENTIFIER: int(row[2])}
    if row[0]:
        left_out = {OBJECTED: int(row[0]), **left_out}
    return left_out, int(row[3])


def _matchable(con: duckdb.DuckDBPyConnection, exporter: Exporter) -> int:
    """Customers with an identifier the destination matches on, whatever their consent."""
    row = con.execute(
        f"SELECT count(*) FILTER (coalesce({exporter.identifier}, false)) FROM {CONTACTS}"
    ).fetchone()
    return int(row[0]) if row else 0


def _check_size(
    exporter: Exporter,
    min_size: int | None,
    kept: int,
    total: int,
    left_out: dict[str, int],
    matchable: int | None = None,
) -> None:
    need = exporter.min_size if min_size is None else min_size
    if min_size is not None and min_size < 0:
        raise ExportError(
            f"The minimum audience size (--min-size, min_size) must be 0 or more. Got {min_size}."
        )
    if kept >= need and kept > 0:
        return
    why = ", ".join(f"{n:,} {reason}" for reason, n in left_out.items() if n) or "none left out"
    if kept == 0 and matchable == 0:
        problem = (
            f"No customer of the {total:,} in the segment can go into the file ({why}), and "
            f"none of them has {exporter.identifier_words}, which {exporter.title} matches on."
        )
        fix = (
            "import the customers' contact fields (a customers file with e-mail, phone, names), "
            "or export to csv for the fields the workspace has."
        )
    elif kept == 0:
        problem = f"No customer of the {total:,} in the segment can go into the file ({why})."
        fix = (
            "check the consent columns (consent_ads, consent_email) and contact fields of "
            "these customers; assuming consent (--assume-consent, assume_consent) counts a "
            "missing consent value as consent."
        )
    else:
        problem = (
            f"{exporter.title} needs at least {need:,} people in an audience; this one has "
            f"{kept:,} of the {total:,} in the segment ({why})."
        )
        fix = (
            "export a larger segment (or several at once), or lower the minimum (--min-size N; "
            "min_size in Python and the API) to write a "
            "smaller file anyway (the platform may not serve ads to it)."
        )
    raise ExportError(problem, fix=fix)


def _next_id(store: Store) -> str:
    store.ensure("exports")
    store.ensure("export_members")
    # a log written before exports had labels gets the column (NULL for its rows)
    store.db.execute("ALTER TABLE exports ADD COLUMN IF NOT EXISTS label VARCHAR")
    # the highest number so far, not the row count: ids stay unique if log rows are removed
    row = store.db.execute(
        "SELECT max(TRY_CAST(substr(export_id, 2) AS INTEGER)) FROM exports"
    ).fetchone()
    return f"x{int(row[0] or 0) + 1 if row else 1:04d}"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _insert(tx: duckdb.DuckDBPyConnection, r: ExportResult) -> None:
    tx.execute(
        "INSERT INTO exports VALUES "
        "(?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.export_id,
            r.created_at,
            r.created_by,
            r.run_id,
            r.segmentation,
            json.dumps(r.segments, ensure_ascii=False),
            json.dumps(r.segment_names, ensure_ascii=False),
            r.destination,
            r.hashed,
            r.assume_consent,
            r.rows_written,
            json.dumps(r.left_out),
            r.path,
            r.sha256,
            json.dumps(r.warnings, ensure_ascii=False),
            r.label,
        ],
    )
    tx.execute(
        f"INSERT INTO export_members SELECT ?, _member FROM {CONTACTS} WHERE _keep",
        [r.export_id],
    )


def list_exports(store: Store) -> list[ExportResult]:
    """Every export ever made, newest first."""
    if not store.has_table("exports"):
        return []
    rows = store.db.execute("SELECT * FROM exports ORDER BY created_at DESC, export_id DESC").df()
    out = []
    for rec in rows.to_dict("records"):
        for key in ("segments", "segment_names", "left_out", "warnings"):
            rec[key] = json.loads(rec[key]) if rec[key] is not None else None
        rec["created_at"] = rec["created_at"].isoformat(timespec="seconds")
        # a log from before labels has no such column; pandas may read NULL as NaN
        rec["label"] = rec["label"] if isinstance(rec.get("label"), str) else None
        out.append(ExportResult(**rec))
    return out
