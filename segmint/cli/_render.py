"""Rich output of the CLI commands: tables and plain-words summaries."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from segmint.clean import identical_lines_note
from segmint.cli._common import console
from segmint.store.csvsafe import frame_to_csv, table_to_csv


def _n(x: Any) -> str:
    return f"{int(x):,}"


def ingest_result(result: Any, workspace: Path) -> None:
    t = Table(title=f"{result.source} → {result.table} ({result.format})", title_justify="left")
    t.add_column("canonical column")
    t.add_column("from source column")
    t.add_column("unreadable", justify="right")
    bad = {c["column"]: c for c in result.checks}
    for canon, src in result.mapped.items():
        c = bad.get(canon)
        cell = "" if c is None else (f"[red]{_n(c['n_bad'])}[/]" if c["n_bad"] else "0")
        t.add_row(canon, src, cell)
    console.print(t)
    if result.extras:
        console.print(
            f"Kept {len(result.extras)} extra column(s) as attributes: "
            + ", ".join(f"{k} ({v.lower()})" for k, v in result.extras.items())
        )
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}")
    console.print(
        f"[green]Imported {_n(result.rows)} rows into {result.table}[/] "
        f"(run {result.run_id}, {result.seconds:.1f} s) in {workspace}.",
        soft_wrap=True,
    )
    if result.bad_values:
        console.print(
            f"{_n(result.bad_values)} value(s) could not be read and were left empty; "
            "`segmint quality` lists them with their rows."
        )
    console.print("Next: [bold]segmint clean[/] to standardize and deduplicate.")


def clean_result(result: Any, report: dict[str, Any]) -> None:
    t = Table(title=f"Cleaned (run {result.run_id})", title_justify="left")
    for col in ("table", "rows before", "rows after", "duplicates removed", "marked"):
        t.add_column(col, justify="right" if col != "table" and col != "marked" else "left")
    for name, info in result.tables.items():
        removed = info.get("duplicates_removed", 0) + info.get("duplicate_ids_removed", 0)
        marked = ", ".join(f"{k} {_n(v)}" for k, v in info.get("marked", {}).items() if v)
        if info.get("added_from_orders"):
            marked = f"added from orders {_n(info['added_from_orders'])}"
        t.add_row(name, _n(info["rows_before"]), _n(info["rows"]), _n(removed), marked)
    console.print(t)
    for name, info in result.tables.items():
        identical_lines(name, info.get("identical_lines"))
    _checks_table(result.checks)
    quality_files(report)
    console.print("Next: [bold]segmint features[/] for recency, frequency, monetary and tenure.")


def identical_lines(table: str, info: dict[str, Any] | None) -> None:
    """Say which identical lines were kept (a source without order ids) and how to drop them."""
    if info and info.get("kept"):
        console.print(f"[yellow]Note:[/] {identical_lines_note(table, info)}", markup=True)


def _checks_table(checks: list[dict[str, Any]]) -> None:
    shown = [c for c in checks if c["n_bad"]]
    if not shown:
        return
    t = Table(title="Values fixed or flagged", title_justify="left")
    for col in ("table.column", "check", "bad", "of", "share"):
        t.add_column(col, justify="left" if col in ("table.column", "check") else "right")
    for c in shown:
        t.add_row(
            f"{c['table']}.{c['column']}",
            c["check"],
            _n(c["n_bad"]),
            _n(c["n_checked"]),
            f"{c['share']:.1%}",
        )
    console.print(t)


def quality_files(report: dict[str, Any]) -> None:
    files = report.get("files")
    if files:
        # soft_wrap: paths stay whole so they can be copied
        console.print(
            f"Quality report: [bold]{files['html']}[/] (and {files['json']})", soft_wrap=True
        )


def quality_summary(report: dict[str, Any]) -> None:
    s = report["summary"]
    t = Table(title="Data quality", title_justify="left")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("most missing column")
    for name, info in report["tables"].items():
        cols = {c: v for c, v in info["columns"].items() if v.get("in_source", True)}
        worst = max(cols.items(), key=lambda kv: kv[1]["missing_share"]) if cols else None
        cell = f"{worst[0]} ({worst[1]['missing_share']:.0%})" if worst else ""
        t.add_row(name, _n(info["rows"]), cell)
    console.print(t)
    gates = report.get("gates", [])
    for g in gates:
        if g.get("status") == "not checked":  # no rows to check: the detail says why
            console.print(f"  gate {g['name']}: [dim]{g['detail']}[/]")
            continue
        mark = "[green]passed[/]" if g["passed"] else "[red]FAILED[/]"
        console.print(f"  gate {g['name']} ≤ {g['threshold']:.0%}: {mark} — {g['detail']}")
    console.print(
        f"{_n(s['issues_total'])} value(s) flagged in total; "
        f"{report['issues_shown']} listed in the report."
    )
    for note in report.get("notes", []):
        console.print(f"[yellow]Note:[/] {note}")
    quality_files(report)


def export_table(table: Any, out: Path) -> None:
    """A workspace table to .parquet, or to CSV by the engine with formula cells neutralized."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        table.to_parquet(out)
    else:
        table_to_csv(table, out)


def export_engine_table(table: Any, out: Path) -> None:
    """A table of another engine (Spark) to a file on this machine: .parquet as is, CSV with
    formula cells neutralized; the rows come to the driver, which is what a file here means."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = table.to_pyarrow()
    if out.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(rows, out)
    else:
        frame_to_csv(rows.to_pandas(), out)


def export_frame(frame: Any, out: Path) -> None:
    """A frame (without its index) to .parquet, or to CSV with formula cells neutralized."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame_to_csv(frame, out)


#: the order features the summary shows when the workspace has orders
_ORDER_SUMMARY = ("recency_days", "frequency", "monetary_total", "avg_order_value", "tenure_days")


def _summary_columns(table: Any) -> list[str]:
    """The order features when there are orders, else the numeric attributes (a
    customers-only workspace)."""
    present = [c for c in _ORDER_SUMMARY if c in table.columns]
    if present:
        return present
    schema = table.schema()
    return [c for c in table.columns if c != "customer_id" and schema[c].is_numeric()]


def features_summary(table: Any, run: dict[str, Any], out: Path | None) -> None:
    df = table.select(*_summary_columns(table)).to_pandas().dropna(axis=1, how="all").iloc[:, :8]
    t = Table(
        title=f"Customer features as of {str(run['spec']['as_of'])[:10]} ({_n(len(df))} customers)",
        title_justify="left",
    )
    t.add_column("feature")
    for col in ("median", "mean", "p90", "max"):
        t.add_column(col, justify="right")
    for name in df.columns:
        s = df[name].dropna()
        if s.empty:
            continue
        t.add_row(
            name,
            f"{s.median():,.1f}",
            f"{s.mean():,.1f}",
            f"{s.quantile(0.9):,.1f}",
            f"{s.max():,.1f}",
        )
    console.print(t)
    console.print(
        "Saved as table [bold]customer_features[/] in the workspace"
        + (f" and written to {out}." if out else ".")
    )


def status(info: dict[str, Any]) -> None:
    t = Table(title=f"Workspace {info['workspace']}", title_justify="left")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in info["tables"].items():
        t.add_row(name, _n(n))
    console.print(t)
    r = Table(title="Runs", title_justify="left")
    for col in ("run", "finished (UTC)", "source", "result"):
        r.add_column(col)
    for run in info["runs"]:
        src = Path(run["source"]).name if run.get("source") else ""
        r.add_row(run["run_id"], str(run["finished_at"])[:19], src, _run_result(run))
    console.print(r)
    if not info["tables"]:
        console.print("The workspace is empty: import a file with [bold]segmint ingest FILE[/].")


def _run_result(run: dict[str, Any]) -> str:
    counts = run.get("row_counts") or {}
    spec = run.get("spec") or {}
    if run["kind"] == "ingest":
        return f"{_n(counts.get('written', 0))} rows → {spec.get('table', '')}"
    if run["kind"] == "clean":
        return "; ".join(f"{t} {_n(c.get('rows', 0))}" for t, c in counts.items())
    if run["kind"] == "features":
        return f"{_n(counts.get('customers', 0))} customers as of {spec.get('as_of', '')[:10]}"
    return ""


def formats() -> None:
    from segmint.ingest.formats import all_formats

    t = Table(title="Export layouts recognised by --format auto", title_justify="left")
    t.add_column("--format")
    t.add_column("--as")
    t.add_column("what")
    t.add_column("identified by headers like")
    for f in all_formats():
        t.add_row(f.family, f.entity, f.title, ", ".join(f.signature[:5]))
    console.print(t)
    console.print(
        "Anything else: --format generic matches common header names; map the rest "
        "with --map canonical=Header. Canonical columns: docs/data-model.md."
    )


def files_written(files: dict[str, Path]) -> None:
    for name, path in files.items():
        console.print(f"{name:<18} {path}")


def run_summary(output: Any) -> None:
    """The final ranked table of every segmentation, then where the report is."""
    for seg in output.report.segmentations:
        t = Table(
            title=f"{seg.name} ({seg.method}, {len(seg.profiles.segments)} segments, "
            f"{_n(seg.n_customers)} customers)",
            title_justify="left",
        )
        for col in ("#", "segment", "customers", "share", "revenue", "score", "goal", "channel"):
            t.add_column(
                col,
                justify="right"
                if col in ("#", "customers", "share", "revenue", "score")
                else "left",
            )
        ranked = sorted(seg.ranking.segments, key=lambda r: r.rank or 0)
        for r in ranked:
            p = seg.profiles.segment(r.label)
            plan = seg.targeting.get(r.label)
            t.add_row(
                str(r.rank),
                p.name if p else r.label,
                _n(p.size if p else 0),
                f"{(p.share if p else 0) or 0:.0%}",
                f"{(p.revenue_share if p else 0) or 0:.0%}",
                f"{r.score or 0:.1f}",
                plan.goal if plan else "",
                plan.channel if plan else "",
            )
        console.print(t)
        if seg.ranking.dropped:
            left_out = ", ".join(seg.ranking.dropped)
            console.print(f"  Score without {left_out}: no information here (the report says why)")
        if seg.chosen_k:
            from segmint.segment.cluster.guard import guard_summary

            console.print(f"  {guard_summary(seg.chosen_k, seg.guard)}")
            if seg.k_rule:
                console.print(f"  rule for k: {seg.k_rule}")
        for w in seg.warnings:
            console.print(f"  [yellow]Warning:[/] {w}")
    for note in output.report.notes:  # e.g. a step skipped: no orders, no repeats
        console.print(f"[yellow]Note:[/] {note}", soft_wrap=True)
    quality = output.files.get("quality")  # a run on Spark has no quality report file
    console.print(
        f"[bold green]Done[/] in {output.seconds:.1f} s (run {output.run_id}). "
        f"Report: [bold]{output.files['html']}[/] (numbers: {output.files['json']})"
        + (f"; data quality: {quality}" if quality else ""),
        soft_wrap=True,
    )


def demo_next_steps(out: Path, workspace: Path, spec: Path, output: Any) -> None:
    """Where the demo's outputs are and what to run next, as paths that work from any folder."""
    console.print(f"Outputs are in [bold]{_abs(out)}/[/]:")
    for label, path in (
        ("report", output.files["html"]),
        ("quality report", output.files["quality"]),
        ("spec (edit me)", spec),
        ("features", out / "customer_features.csv"),
        ("workspace", workspace),
        ("sample data", out / "sample-data"),
    ):
        console.print(f"  {label:<16} {_abs(Path(path))}", soft_wrap=True)
    cmd = segmint_command()
    console.print("Try next:")
    console.print(
        f"  {cmd} run --spec {_abs(spec)} --workspace {_abs(workspace)} --out {_abs(out / 'report')}",
        soft_wrap=True,
        markup=False,
    )
    console.print(f"  {cmd} status --workspace {_abs(workspace)}", soft_wrap=True, markup=False)
    console.print(f"  {cmd} --help", markup=False)


def _abs(path: Path) -> str:
    """An absolute path, quoted for a shell when it needs quotes."""
    return shlex.quote(os.path.abspath(path))


def segmint_command() -> str:
    """How to call this segmint again: ``segmint`` when that is on PATH, else its full path."""
    exe = Path(sys.argv[0])
    if exe.name != "segmint" or not exe.exists():
        return "segmint"
    found = shutil.which("segmint")
    if found and Path(found).resolve() == exe.resolve():
        return "segmint"
    return _abs(exe)


def serve_banner(url: str, workspace: Path, token: str | None) -> None:
    console.print(
        f"segmint is serving [bold]{workspace}[/] at [bold]{url}[/]  (API docs: {url}/docs)"
    )
    if token:
        console.print(
            "First start: your admin token (shown once, stored hashed — keep it safe):\n"
            f"  [bold]{token}[/]\nSign in with it in the browser. Stop the server with Ctrl+C."
        )
    else:
        console.print(
            "Sign in with your token. Lost it? Create a new one: segmint token NAME --role admin"
        )


def token_created(principal: Any, secret: str) -> None:
    console.print(f"Token for {principal.name} ({principal.role}), shown once — keep it safe:")
    console.print(f"  [bold]{secret}[/]")
