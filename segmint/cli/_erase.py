"""``segmint erase``: remove one person from the workspace, its file and its reports.

The work is :func:`segmint.privacy.erase.erase`; this module prints what went, what was
rewritten, and the audience files to withdraw from the platforms (segmint cannot delete what
a platform already received).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    console,
    json_or_show,
    progress_display,
    user_errors,
    writable_file,
)

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


def erase(
    customer: Annotated[
        str | None, typer.Option("--customer", help="The customer id to erase.")
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Erase the customer with this e-mail.")
    ] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="Erase the customer with this phone number.")
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Why (kept in the audit log): a ticket number, not the person's name.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would go; change nothing.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write what was erased as JSON ('-': print).")
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Erase one person (GDPR art. 17, CCPA delete): rows, report quotes and file bytes.

    Removes the customer from every table about customers (imported data, features and
    their per-run snapshots, segment assignments, values, quality samples, export and
    experiment member lists), replaces their quotes in stored results and in the reports
    segmint wrote with [erased], and rewrites the workspace file so that no deleted byte
    remains. Their id, e-mail and phone go on the suppression list as keyed hashes: a later
    import leaves their rows out. The audit log records the erasure.

      segmint erase --email ann@example.org --reason "ticket 4711" --dry-run

      segmint erase --customer C0042 --reason "ticket 4711"

    Audience files already sent to a platform are listed, not recalled: withdraw them there.
    Aggregate models fitted on the customer (cluster centres, RFM cut points, value model
    parameters) stay; docs/privacy.md says why.
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError

    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="pass the workspace that holds the customer with --workspace PATH.",
        )
    if json_out is not None and str(json_out) != "-":
        writable_file(json_out, "--json")
    with Workspace(workspace) as ws, progress_display() as step:
        done = ws.erase(
            customer_id=customer,
            email=email,
            phone=phone,
            reason=reason,
            dry_run=dry_run,
            progress=step,
        )
    json_or_show(done.as_dict(), json_out, show)


def show(data: dict[str, Any]) -> None:
    """The rows per table, quotes and reports rewritten, exports to withdraw, the file."""
    verb = "Would erase" if data["dry_run"] else "Erased"
    console.print(
        f"{verb} {data['customers']} customer id(s) ({data['total_rows']:,} rows; "
        f"erasure [bold]{data['erasure_id']}[/] in the audit log)."
    )
    t = Table(title="Rows", title_justify="left")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for table, n in data["rows"].items():
        t.add_row(escape(table), f"{n:,}")
    console.print(t)
    if data["quotes"]:
        quoted = ", ".join(f"{k} ({v})" for k, v in data["quotes"].items())
        console.print(f"Quotes replaced by \\[erased]: {escape(quoted)}.")
    rewritten = "Reports to rewrite" if data["dry_run"] else "Reports rewritten"
    for label, paths in (
        (rewritten, data["reports_rewritten"]),
        ("Reports deleted (could not be rewritten safely)", data["reports_deleted"]),
        ("Server uploads deleted", data["files_deleted"]),
    ):
        if paths:
            console.print(f"{label}:")
            for p in paths:
                console.print(f"  {escape(str(p))}")
    if data["exports"]:
        console.print(
            "[yellow]Audience files that held them[/] (withdraw these from the platforms; "
            "segmint cannot):"
        )
        for e in data["exports"]:
            console.print(
                f"  {e['export_id']}  {str(e['created_at'])[:16]}  {e['destination']:<10} "
                f"{escape(str(e['path']))}"
            )
    if data["source_files"]:
        console.print("Files their rows were imported from (yours; segmint did not change them):")
        for p in data["source_files"]:
            console.print(f"  {escape(str(p))}")
    console.print(
        f"Suppression list: {data['suppressed']} keyed hash(es) "
        f"{'would be ' if data['dry_run'] else ''}added; later imports leave their rows out."
    )
    f = data.get("file") or {}
    if f:
        console.print(
            f"Workspace file rewritten ({f['bytes_before'] / 1e6:,.1f} MB → "
            f"{f['bytes_after'] / 1e6:,.1f} MB, {f['seconds']:.1f} s): no deleted row remains."
        )
    console.print(f"Done in {data['seconds']:.1f} s.")


def compact(workspace: Workspace_ = DEFAULT_WORKSPACE) -> None:
    """Rewrite the workspace file from its live rows, so that deleted rows leave no bytes.

    DuckDB only marks deleted rows; their bytes stay in the file until it is rewritten.
    `segmint erase` and `segmint retention apply` rewrite it themselves; run this after a
    retention run that could not (the server says so), or after deleting rows yourself.

      segmint compact -w shop.duckdb
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError

    if not workspace.exists():
        raise WorkspaceError(f"There is no workspace '{workspace}'.", fix="check --workspace.")
    with Workspace(workspace) as ws, progress_display() as step:
        step("Rewriting the workspace file")
        done = ws.compact()
    console.print(
        f"Workspace file rewritten: {done['bytes_before'] / 1e6:,.1f} MB → "
        f"{done['bytes_after'] / 1e6:,.1f} MB in {done['seconds']:.1f} s."
    )


def register(app: typer.Typer) -> None:
    app.command(name="erase")(user_errors(erase))
    app.command(name="compact")(user_errors(compact))
