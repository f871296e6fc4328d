"""``segmint pseudonymize``: keyed pseudonyms instead of customer ids in the derived tables.

A command of its own because it changes what every later run writes (the workspace setting
``pseudonyms``); the work is :func:`segmint.privacy.pseudonyms.pseudonymize`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from segmint.cli._common import DEFAULT_WORKSPACE, WORKSPACE_HELP, console, user_errors

__all__ = ["register"]


def pseudonymize(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Count the rows that would be rewritten; change nothing."),
    ] = False,
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)
    ] = DEFAULT_WORKSPACE,
) -> None:
    """Replace customer ids in derived tables by keyed pseudonyms, and keep them so.

    Every table segmint derives from your data (customer_features and its per-run snapshots,
    segment_assignments, customer_values, value_summaries, export_members,
    experiment_assignments) then names each customer `p_` + 32 hex digits of the
    HMAC-SHA-256 of its id, and e-mail, phone, name and street-address columns are dropped
    from them. The canonical tables (customers, orders, events, …) keep the real data, so
    exports still reach the right people. Later runs, updates, exports and experiment designs
    write pseudonyms too (the workspace setting `pseudonyms`).

    The key is not in the workspace: SEGMINT_PRIVACY_KEY, the file SEGMINT_PRIVACY_KEY_FILE
    names, or WORKSPACE.key next to the workspace. Keep it: with another key the workspace
    refuses to open for these operations. Running it again changes only ids that are not
    pseudonyms yet.

      segmint pseudonymize --dry-run        # what would be rewritten

      segmint pseudonymize --workspace shop.duckdb

    See docs/privacy.md#pseudonyms.
    """
    from segmint._workspace import Workspace
    from segmint.privacy.audit import acting_as

    with acting_as(origin="cli"), Workspace(workspace) as ws:
        counts = ws.pseudonymize(dry_run=dry_run)
    t = Table(title="Would be rewritten" if dry_run else "Pseudonymized")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    total = sum(counts.values())
    if dry_run:
        console.print(f"{total:,} ids would become pseudonyms; nothing was changed.")
    else:
        console.print(f"{total:,} ids are now pseudonyms; later writes stay pseudonymized.")


def register(app: typer.Typer) -> None:
    app.command(name="pseudonymize")(user_errors(pseudonymize))
