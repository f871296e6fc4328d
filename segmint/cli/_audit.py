"""``segmint audit``: who did what to the workspace, when and from where.

Reads the audit log (:mod:`segmint.privacy.audit`) through :meth:`Workspace.audit`, newest
first, as a table or as JSON. The workspace is opened read-only, so the log can be read while a
server holds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import DEFAULT_WORKSPACE, WORKSPACE_HELP, console, user_errors

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


def audit(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only rows from this date or time on (UTC): 2026-12-01."),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action",
            help="Only this action and those under it: ingest, clean, run, export, token "
            "(token.create, token.revoke), signin, schedule, …",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many rows (newest).")
    ] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """The audit log: every import, clean, run, export, token change and sign-in, with who
    (the token's name, or the OS user), when (UTC) and from where (the client's address,
    cli or python). It holds no customer data.

      segmint audit --since 2026-12-01

      segmint audit --action token --json
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError
    from segmint.privacy.audit import parse_since

    moment = parse_since(since)  # a bad date is refused before the workspace is opened
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace with -w PATH (default ./segmint.duckdb).",
        )
    with Workspace(workspace, read_only=True) as ws:
        rows = ws.audit(moment, action, limit=limit)
    if as_json:
        shown = [{**r, "logged_at": r["logged_at"].isoformat()} for r in rows]  # as the API
        typer.echo(json.dumps(shown, indent=2, ensure_ascii=False, default=str))
        return
    show(rows)


def show(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("The audit log has no rows that match.")
        return
    t = Table(title=f"Audit log ({len(rows)} rows, newest first)", title_justify="left")
    for col in ("When (UTC)", "Who", "From", "Action", "Target", "Detail"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            f"{r['logged_at']:%Y-%m-%d %H:%M:%S}",
            escape(str(r["actor"])),
            escape(str(r["origin"])),
            escape(str(r["action"])),
            escape(str(r["target"] or "")),
            escape(_detail(r["detail"])),
        )
    console.print(t)


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in detail.items()
    )


def register(app: typer.Typer) -> None:
    """Add ``segmint audit`` to the CLI."""
    app.command(name="audit")(user_errors(audit))
