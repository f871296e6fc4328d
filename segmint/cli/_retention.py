"""``segmint retention show|apply``: the spec's retention limits, and deleting what is older.

``apply`` is one transaction with its audit row (:mod:`segmint.privacy.retention`);
``--dry-run`` counts the same rows and changes nothing. Scheduled runs apply their spec's
limits by themselves before running.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import DEFAULT_WORKSPACE, WORKSPACE_HELP, console, user_errors
from segmint.exceptions import SpecError, WorkspaceError

if TYPE_CHECKING:
    from segmint.spec.retention import RetentionSpec

__all__ = ["register", "retention_app"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
SpecFile = Annotated[
    Path, typer.Option("--spec", help="The YAML spec whose retention: section applies.")
]

retention_app = typer.Typer(
    help="Delete rows older than the spec's retention: limits (orders 3y, events 13m, …).\n\n"
    "  segmint retention show --spec segmint.yaml\n\n"
    "  segmint retention apply --spec segmint.yaml --dry-run\n\n"
    "docs/privacy.md, Retention.",
    no_args_is_help=True,
)


def show(spec: SpecFile) -> None:
    """Print the spec's retention limits and the cutoff each gives today (UTC)."""
    from segmint.spec.retention import RETENTION_TABLES

    policy = _policy(spec)
    cutoffs = policy.cutoffs()
    t = Table(title="Retention (cutoffs counted back from now, UTC)", title_justify="left")
    for col in ("rows", "kept for", "older than", "what goes"):
        t.add_column(col, overflow="fold")
    for key, limit in policy.limits().items():
        t.add_row(key, limit, f"{cutoffs[key]:%Y-%m-%d %H:%M}", RETENTION_TABLES[key])
    console.print(t)


def apply(
    spec: SpecFile,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Delete the rows older than the spec's retention: limits, in one transaction.

    Limits are counted back from now (UTC). The audit log records the counts and cutoffs;
    customers whose rows all went keep their customers row (erase them with segmint erase).

      segmint retention apply --spec segmint.yaml --dry-run -w shop.duckdb
    """
    from segmint._workspace import Workspace
    from segmint.privacy.audit import acting_as

    policy = _policy(spec)
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace with -w PATH (default ./segmint.duckdb).",
        )
    with acting_as(origin="cli"), Workspace(workspace) as ws:
        result = ws.apply_retention(policy, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    t = Table(title="Retention" + (" (dry run: nothing changed)" if dry_run else ""))
    for col in ("rows", "table", "older than", "would go" if dry_run else "removed"):
        t.add_column(col, overflow="fold")
    for key, row in result.to_dict()["tables"].items():
        t.add_row(key, row["table"], row["older_than"][:16], f"{row['removed']:,}")
    console.print(t)
    console.print(escape(result.summary()))
    if result.absent:
        console.print(f"Not in this workspace (nothing to remove): {', '.join(result.absent)}.")


def _policy(spec: Path) -> RetentionSpec:
    from segmint.spec.model import load_spec

    policy = load_spec(spec).retention
    if not policy.limits():
        raise SpecError(
            "The spec has no retention: limits, so nothing would be removed.",
            where=str(spec),
            fix="add e.g. 'retention: {orders: 3y, events: 13m, quality_samples: 30d}' "
            "(docs/privacy.md, Retention).",
        )
    return policy


def register(app: typer.Typer) -> None:
    """Add ``segmint retention`` and its commands to the CLI."""
    retention_app.command(name="show")(user_errors(show))
    retention_app.command(name="apply")(user_errors(apply))
    app.add_typer(retention_app, name="retention")
