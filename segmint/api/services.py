"""What the REST API and the web pages do, as plain functions over a workspace.

Both interfaces call these, so a page and its endpoint can never disagree. Errors a user can
cause raise :class:`~segmint.exceptions.SegmintError` subclasses (shown as 4xx with the
paragraph); a missing run or segment raises :class:`NotFound`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from starlette.requests import Request

from segmint._workspace import Workspace
from segmint.api import uploads
from segmint.api.inflation import check_inflation
from segmint.api.state import AppState
from segmint.api.uploads import Received
from segmint.exceptions import InputError, SegmintError, UnreadableFileError
from segmint.identity.persons import customers_sql
from segmint.privacy import audit
from segmint.privacy.pseudonyms import customer_key_sql
from segmint.privacy.reports import moved
from segmint.spec import message
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.csvsafe import frame_to_csv_text
from segmint.store.results import Plan, SegmentationResult, SegmentProfile

__all__ = [
    "UPLOAD_KINDS",
    "NotFound",
    "check_segment",
    "check_upload",
    "compare_runs",
    "export_download",
    "get_segmentation",
    "list_exports",
    "list_methods",
    "list_segment_runs",
    "list_tables",
    "members",
    "members_csv",
    "message_preview",
    "migration",
    "preview_upload",
    "receive_upload",
    "rename_segment",
    "report_file",
    "rule_columns",
    "start_ingest",
    "start_run",
    "update_targeting",
    "upload_path",
    "validate_rules",
]

UPLOAD_KINDS = ("csv", "whitespace", "parquet", "excel", "json")
#: the downloaded report runs its own inline scripts and loads nothing from the network
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
#: the plan's message templates (subject, body) are checked by segmint.spec.message, with their
#: own size limits
PLAN_FIELDS = (*message.PLAN_FIELDS, *message.TEMPLATE_FIELDS)
TEMPLATE_FIELDS = message.TEMPLATE_FIELDS
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class NotFound(SegmintError):
    """The run, segmentation, segment, job or file does not exist."""


# -- reading -------------------------------------------------------------------------------


def _rows(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return ws.store.db.cursor().execute(sql, params or []).fetchall()


def list_tables(ws: Workspace) -> list[dict[str, Any]]:
    """Every table with its row count."""
    return [{"name": t, "rows": ws.store.count(t)} for t in ws.tables()]


def list_methods() -> list[dict[str, Any]]:
    """Every segmentation method (the registry): the spec fields it reads with their types,
    bounds and defaults (JSON Schema), the keywords it takes under ``params``, and which
    features it segments by default."""
    from segmint.segment.registry import METHODS

    return [
        {
            "name": m.name,
            "label": m.label,
            "fields": m.constraints(),
            "params": m.allowed_params(),
            "default_features": m.features,
            "takes_k": m.takes_k,
        }
        for m in METHODS.values()
    ]


def list_segment_runs(ws: Workspace) -> list[dict[str, Any]]:
    """Segmentation runs, newest first, each with its segmentations (name, method, sizes)."""
    if "segmentations" not in ws.tables():
        return []
    rows = _rows(
        ws,
        "SELECT s.run_id, s.name, s.method, s.result, r.started_at, r.seq FROM segmentations s "
        "JOIN runs r USING (run_id) ORDER BY r.seq DESC, s.rowid",
    )
    runs: dict[str, dict[str, Any]] = {}
    for run_id, name, method, result, started, _seq in rows:
        run = runs.setdefault(
            run_id, {"run_id": run_id, "started_at": started.isoformat(), "segmentations": []}
        )
        data = SegmentationResult.from_json(result)
        run["segmentations"].append(
            {
                "name": name,
                "method": method,
                "customers": data.n_customers,
                "segments": len(data.profiles.segments),
            }
        )
    return list(runs.values())


def get_segmentation(ws: Workspace, run_id: str, name: str) -> SegmentationResult:
    """The stored result of one segmentation (profiles, ranking, targeting, charts' data)."""
    return SegmentationResult.from_json(_one_result(ws, run_id, name))


def _one_result(ws: Workspace, run_id: str, name: str) -> str:
    if "segmentations" not in ws.tables():
        raise NotFound(f"There are no segmentation runs yet (asked for run '{run_id}').")
    found = _rows(
        ws, "SELECT result FROM segmentations WHERE run_id = ? AND name = ?", [run_id, name]
    )
    if not found:
        raise NotFound(
            f"Run '{run_id}' has no segmentation named '{name}'.",
            fix="list runs and their segmentations with GET /api/v1/runs.",
        )
    return str(found[0][0])


def _segment(result: SegmentationResult, label: str) -> SegmentProfile:
    seg = result.profiles.segment(label)
    if seg is not None:
        return seg
    labels = [s.label for s in result.profiles.segments]
    raise NotFound(
        f"There is no segment '{label}' in this segmentation.",
        fix=f"use one of: {', '.join(labels)}.",
    )


def check_segment(ws: Workspace, run_id: str, name: str, label: str) -> None:
    """Raise NotFound unless the run has the segmentation and it has the segment."""
    _segment(get_segmentation(ws, run_id, name), label)


def members(ws: Workspace, run_id: str, name: str, label: str | None = None) -> pd.DataFrame:
    """Customers of a segmentation (or of one segment) with their segment and name."""
    result = get_segmentation(ws, run_id, name)
    if label is not None:
        _segment(result, label)
    sql = (
        "SELECT customer_id, segment, segment_name FROM segment_assignments "
        "WHERE run_id = ? AND segmentation = ?"
    )
    params = [run_id, name]
    if label is not None:
        sql += " AND segment = ?"
        params.append(label)
    return ws.store.db.cursor().execute(sql + " ORDER BY customer_id", params).df()


def members_csv(ws: Workspace, run_id: str, name: str, label: str | None = None) -> tuple[str, str]:
    """Members as CSV text and a file name for the download (``clusters-3-members.csv``).

    Ids and segment names come from other people's data and edits: cells that a spreadsheet
    would run as a formula are neutralized (``segmint.store.csvsafe``)."""
    text = frame_to_csv_text(members(ws, run_id, name, label))
    part = f"-{safe_name(label)}" if label else ""
    return text, f"{safe_name(name)}{part}-members.csv"


def compare_runs(ws: Workspace, run_a: str, name_a: str, run_b: str, name_b: str) -> dict[str, Any]:
    """Migration between two segmentations: customers per (segment in A, segment in B)."""
    get_segmentation(ws, run_a, name_a)
    get_segmentation(ws, run_b, name_b)
    frame = (
        ws.store.db.cursor()
        .execute(
            "SELECT a.segment_name AS a, b.segment_name AS b, count(*) AS n "
            "FROM segment_assignments a JOIN segment_assignments b USING (customer_id) "
            "WHERE a.run_id = ? AND a.segmentation = ? AND b.run_id = ? AND b.segmentation = ? "
            "GROUP BY ALL",
            [run_a, name_a, run_b, name_b],
        )
        .df()
    )
    return migration(frame, run_a, name_a, run_b, name_b)


def migration(
    frame: pd.DataFrame, run_a: str, name_a: str, run_b: str, name_b: str
) -> dict[str, Any]:
    """The migration matrix from counts per (segment name in A ``a``, in B ``b``) ``n``."""
    rows = sorted(frame["a"].unique().tolist())
    cols = sorted(frame["b"].unique().tolist())
    table = frame.pivot_table(index="a", columns="b", values="n", fill_value=0, aggfunc="sum")
    table = table.reindex(index=rows, columns=cols, fill_value=0)
    total = int(frame["n"].sum())
    same = int(frame.loc[frame["a"] == frame["b"], "n"].sum())
    return {
        "a": {"run_id": run_a, "segmentation": name_a},
        "b": {"run_id": run_b, "segmentation": name_b},
        "rows": rows,
        "columns": cols,
        "counts": table.astype(int).to_numpy().tolist(),
        "customers": total,
        "same_name_share": same / total if total else None,
    }


def report_file(state: AppState, run_id: str) -> Path:
    """The run's HTML report; run ids are checked against the runs table, never joined raw."""
    ws = state.workspace()
    known = {r["run_id"] for r in ws.runs() if r.get("kind") == "segment"}
    if run_id not in known:
        raise NotFound(f"There is no segmentation run '{run_id}'.")
    path = (state.reports / run_id / "report.html").resolve()
    if state.reports.resolve() not in path.parents or not path.exists():
        raise NotFound(
            f"The report of run '{run_id}' is not on this server (runs made outside the web "
            "app write their report where `segmint run --out` pointed)."
        )
    return path


def safe_name(text: str) -> str:
    """A file-name-safe version of a segment or segmentation name."""
    return _SAFE.sub("_", text).strip("._")[:60] or "segment"


def validate_rules(rules: dict[str, str], columns: Any | None = None) -> dict[str, Any]:
    """Parse and check rules; every problem with its rule name and caret message. With
    ``columns`` (an Ibis schema: :func:`rule_columns`) column names and types are checked too,
    so a typo gets "did you mean" here instead of failing the run later."""
    from segmint.segment.rules import parse_rules

    errors = []
    for name, expr in rules.items():
        try:
            parse_rules([(name, expr)], columns)
        except SegmintError as exc:
            errors.append({"rule": name, "message": exc.problem})
    out: dict[str, Any] = {
        "ok": not errors,
        "errors": errors,
        "columns_checked": columns is not None,
    }
    if columns is None:
        out["note"] = (
            "Only the syntax was checked: the workspace has no data yet, so column names "
            "(plain or in backticks) are checked once orders or customers are imported."
        )
    return out


#: (workspace, its last run) → its feature columns, for the rule check as one types
_COLUMNS: dict[tuple[str, str], dict[str, Any]] = {}


def rule_columns(ws: Workspace, *, value: bool = False) -> Any | None:
    """The columns a rule can read in the next run (an Ibis schema): the feature table the
    workspace's data would give, plus the value models' outputs with ``value``; None without
    data (then only the syntax is checked)."""
    import ibis

    if not {"orders", "customers"} & set(ws.tables()):
        return None
    runs = ws.runs()
    key = (str(ws.path), runs[-1]["run_id"] if runs else "")
    if key not in _COLUMNS:  # building them scans orders: once per state of the data
        _COLUMNS.clear()
        _COLUMNS[key] = dict(ws.feature_columns().items())
    types = dict(_COLUMNS[key])
    if value:
        from segmint.segment.value import VALUE_COLUMNS

        types |= {c: "float64" for c in VALUE_COLUMNS if c not in types}
    return ibis.schema(types)


# -- activation ------------------------------------------------------------------------------

#: what the export log records as the path of a file sent over HTTP (it is deleted once sent)
DOWNLOAD = "download"


@dataclass(frozen=True)
class Download:
    """An audience file written for one response: send ``path`` as ``filename``, then
    :meth:`discard` it. ``record`` is its row in the export log."""

    path: Path
    filename: str
    record: Any

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def export_download(
    state: AppState,
    ws: Workspace,
    run_id: str,
    name: str,
    segments: Sequence[str],
    *,
    to: str,
    user: str,
    hashed: bool | None = None,
    min_size: int | None = None,
    assume_consent: bool = False,
) -> Download:
    """Write the audience file of ``segments`` for destination ``to`` to a temporary folder
    in the server's data folder and log it (created by ``user``, path ``download``).

    The run and segmentation must exist (404), and so must each segment (404, listing them);
    every other refusal (an unknown destination, an ad audience under the platform's
    minimum, hashing for a plain-text platform) is the export's own 400 paragraph."""
    from segmint.activate.export import export_audience, resolve_segments
    from segmint.activate.exporters import lookup
    from segmint.exceptions import ExportError

    result = get_segmentation(ws, run_id, name)
    try:
        chosen = resolve_segments(result, segments)
    except ExportError as exc:
        raise NotFound(exc.problem, fix=exc.fix) from None
    exporter = lookup(to)
    labels = "-".join(safe_name(n) for _, n in chosen)[:80]
    filename = f"{safe_name(name)}-{labels}-{exporter.name}.csv"
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=state.settings.folder))
    try:
        with state.write_lock:  # export ids are numbered in order: one export at a time
            # a Spark workspace: the audience rows selected in Spark, then the same export
            write = export_audience if state.engine is None else _on_engine(state.engine)
            record = write(
                ws.store,
                segmentation=name,
                segments=[label for label, _ in chosen],
                destination=exporter.name,
                out=folder / filename,
                run_id=run_id,
                hashed=hashed,
                min_size=min_size,
                assume_consent=assume_consent,
                created_by=user,
                logged_path=DOWNLOAD,
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Download(folder / filename, filename, record)


def _on_engine(ews: Any) -> Any:
    """:func:`segmint.activate.engine.export_from_engine` on the Spark workspace ``ews``,
    called as ``export_audience`` is."""
    from functools import partial

    from segmint.activate.engine import export_from_engine

    return lambda store, **options: partial(export_from_engine, store, ews.engine)(**options)


def list_exports(ws: Workspace) -> list[dict[str, Any]]:
    """The export log, newest first (``segmint exports``)."""
    return [r.to_dict() for r in ws.exports()]


# -- editing ---------------------------------------------------------------------------------


def _store_result(
    state: AppState, ws: Workspace, run_id: str, name: str, result: SegmentationResult
) -> None:
    with state.write_lock:
        ws.store.db.cursor().execute(
            "UPDATE segmentations SET result = ? WHERE run_id = ? AND name = ?",
            [result.dumps(), run_id, name],
        )


def rename_segment(
    state: AppState, ws: Workspace, run_id: str, name: str, label: str, new_name: str
) -> dict[str, Any]:
    """Give a segment a new display name everywhere the run shows it (not on a Spark
    workspace yet: its assignments carry the name and live in the engine)."""
    if getattr(state, "engine", None) is not None:  # tests pass a bare state
        from segmint.api.engine import refuse

        raise refuse("POST", "rename", "Renaming a segment")
    new_name = " ".join(str(new_name).split())
    if not new_name or len(new_name) > 80:
        raise InputError(
            f"A segment name must be 1–80 characters. Got {len(new_name)}.",
            fix="type a short descriptive name, e.g. 'Loyal big spenders'.",
        )
    result = get_segmentation(ws, run_id, name)
    _segment(result, label)
    taken = {s.name for s in result.profiles.segments if s.label != label}
    if new_name in taken:
        raise InputError(
            f"Another segment of '{name}' is already called '{new_name}'.",
            fix="choose a name that no other segment of this segmentation has.",
        )
    result = result.renamed(label, new_name)
    state.models.pop((run_id, name), None)  # scoring answers with the new name
    _store_result(state, ws, run_id, name, result)
    state.models.pop((run_id, name), None)  # a request scored meanwhile cached the old one
    with state.write_lock:
        cur = ws.store.db.cursor()
        cur.execute(
            "UPDATE segment_assignments SET segment_name = ? "
            "WHERE run_id = ? AND segmentation = ? AND segment = ?",
            [new_name, run_id, name, label],
        )
        audit.record(
            cur, "segment.rename", target=run_id, detail={"segmentation": name, "segment": label}
        )
    return _segment(result, label).to_json()


def update_targeting(
    state: AppState, ws: Workspace, run_id: str, name: str, label: str, fields: dict[str, str]
) -> dict[str, Any]:
    """Replace fields of a segment's targeting plan (goal, channel, offer, message) and its
    message templates (subject, body: checked before anything is saved)."""
    from segmint.activate.templates import check_templates

    unknown = sorted(set(fields) - set(PLAN_FIELDS))
    if unknown:
        raise InputError(
            f"Targeting plans have the fields {', '.join(PLAN_FIELDS)}; got {', '.join(unknown)}.",
            fix="send only goal, channel, offer, message, subject and body.",
        )
    too_long = [k for k, v in fields.items() if k not in TEMPLATE_FIELDS and len(str(v)) > 500]
    if too_long:
        raise InputError(
            f"Plan field(s) {', '.join(too_long)} are longer than 500 characters.",
            fix="shorten them.",
        )
    result = get_segmentation(ws, run_id, name)
    seg = _segment(result, label)
    changes = {k: str(v).strip() for k, v in fields.items() if k not in TEMPLATE_FIELDS}
    changes |= check_templates(
        {k: str(v) for k, v in fields.items() if k in TEMPLATE_FIELDS},
        where=f"segment '{seg.name}' of {name} (run {run_id})",
    )
    result = result.with_plan(label, changes)
    _store_result(state, ws, run_id, name, result)
    with state.write_lock:
        audit.record(
            ws.store.db.cursor(),
            "segment.plan",
            target=run_id,
            detail={"segmentation": name, "segment": label, "fields": sorted(fields)},
        )
    plan: Plan = result.targeting[label]
    return plan.to_json()


def message_preview(
    ws: Workspace,
    run_id: str,
    name: str,
    label: str,
    *,
    subject: str | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """The segment's message rendered for 3 example members (its saved templates, the given
    unsaved ones, or a suggestion when it has none; ``suggested`` says which)."""
    from segmint.activate.templates import preview

    result = get_segmentation(ws, run_id, name)
    _segment(result, label)
    key = customer_key_sql(ws.store, "c.customer_id", persons=False)  # golden records' ids
    return preview(
        ws.store.db.cursor(),
        result,
        run_id,
        label,
        subject=subject,
        body=body,
        customer_key=key,
        customers=customers_sql(ws.store),
    )


# -- uploads and jobs --------------------------------------------------------------------------


async def receive_upload(state: AppState, request: Request) -> Received:
    """Stream the request's multipart form into a new upload folder (size limit enforced
    while reading; see :mod:`segmint.api.uploads`). The file is not checked yet:
    :func:`check_upload` does that."""
    length = request.headers.get("content-length", "")
    return await uploads.receive(
        request.stream(),
        request.headers.get("content-type", ""),
        state.uploads,
        state.settings.max_upload_bytes,
        content_length=int(length) if length.isdigit() else None,
    )


def check_upload(state: AppState, received: Received) -> None:
    """Refuse (and delete) an upload that is not a data file or that unpacks too far."""
    from segmint.ingest.sniff import sniff

    path = received.path
    try:
        src = sniff(str(path))
        if src.kind not in UPLOAD_KINDS:
            raise UnreadableFileError(
                f"This file is a {src.kind} database, not an export file.",
                where=path.name,
                fix="upload a CSV, Excel, Parquet or JSON export (or import the database with "
                "segmint ingest URL --table NAME).",
            )
        check_inflation(path, src.kind, src.compression, state.settings.max_inflated_bytes)
    except BaseException:
        received.discard()
        raise
    with state.write_lock:
        audit.record(
            state.workspace().store.db.cursor(),
            "upload",
            target=received.upload_id,
            detail={"kind": src.kind, "bytes": path.stat().st_size},
        )


def upload_path(state: AppState, upload_id: str) -> Path:
    """The stored file of an upload id; ids are hex folder names, so no path can escape."""
    if not re.fullmatch(r"[0-9a-f]{32}", upload_id or ""):
        raise NotFound(f"There is no upload '{upload_id}'.", fix="upload the file again.")
    files = sorted((state.uploads / upload_id).glob("*"))
    if len(files) != 1 or not files[0].is_file():
        raise NotFound(f"There is no upload '{upload_id}'.", fix="upload the file again.")
    return files[0]


def preview_upload(path: Path) -> dict[str, Any]:
    """Headers, detected table and format, and the column mapping (or why there is none)."""
    from segmint.ingest.mapping import resolve
    from segmint.ingest.readers import ReadOptions, stage
    from segmint.ingest.sniff import sniff
    from segmint.store.schema import CANONICAL

    src = sniff(str(path))
    db = duckdb.connect(":memory:")
    try:
        staged = stage(db, src, ReadOptions())
    finally:
        db.close()
    headers = [c for c in staged.columns if c != "_row"]
    out: dict[str, Any] = {
        "headers": headers,
        "rows": staged.rows,
        "kind": src.kind,
        "tables": {name: list(schema.names) for name, schema in CANONICAL.items()},
    }
    try:
        cmap = resolve(headers, entity=None, where=path.name)
    except SegmintError as exc:
        out.update(table=None, format=None, mapping={}, problem=str(exc))
        return out
    out.update(table=cmap.entity, format=cmap.fmt.family, mapping=dict(cmap.columns), problem=None)
    return out


def start_ingest(
    state: AppState,
    user: str,
    path: Path,
    *,
    into: str | None = None,
    fmt: str = "auto",
    mapping: dict[str, str] | None = None,
) -> str:
    """Queue: import the file, clean every table, write the quality report."""
    settings = state.settings

    def work(progress: Any) -> dict[str, Any]:
        ws = Workspace(settings.workspace)
        progress(f"Importing {path.name}")
        result = ws.ingest(
            str(path), into=into, format=fmt, mapping=mapping or None, progress=progress
        )
        progress("Cleaning")
        ws.clean(progress=progress)
        report = ws.quality(state.reports / "quality")
        return {
            "table": result.table,
            "rows": result.rows,
            "format": result.format,
            "run_id": result.run_id,
            "mapped": result.mapped,
            "quality": report.get("summary"),
        }

    return state.jobs.submit("ingest", user, work)


def start_run(state: AppState, user: str, segmentations: list[SegmentationSpec]) -> str:
    """Queue: features, the given segmentations (or the defaults), profiles, report."""
    from segmint._run import check_spec, run_pipeline

    spec = Spec(segmentations=segmentations)
    ws = state.workspace()
    has_data = bool({"orders", "customers"} & set(ws.tables()))
    # bad rules, parameters or column names: now, not in the job
    check_spec(spec, ws.feature_columns() if has_data else None)
    settings = state.settings

    def work(progress: Any) -> dict[str, Any]:
        ws = Workspace(settings.workspace)
        if "orders" not in ws.tables() and "customers" not in ws.tables():
            raise InputError(
                "The workspace has no orders or customers yet.", fix="upload an export first."
            )
        scratch = state.reports / f"tmp-{uuid.uuid4().hex}"
        try:  # the report is written to scratch and moved into place only when complete
            output = run_pipeline(ws, spec, out_dir=scratch, progress=progress)
            final = state.reports / output.run_id
            shutil.rmtree(final, ignore_errors=True)
            scratch.rename(final)
            moved(ws.store, scratch, final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        state.models.clear()
        return {
            "run_id": output.run_id,
            "segmentations": [s.name for s in output.report.segmentations],
            "notes": list(output.report.notes),
            "seconds": round(output.seconds, 2),
        }

    return state.jobs.submit("run", user, work)
