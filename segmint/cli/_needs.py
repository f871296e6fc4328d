"""``segmint needs``: the factor solution of the workspace's survey items.

What ``method: needs`` segments on, shown before (or without) a run: how many factors the
items carry and by which rule (eigenvalues against the rule's thresholds), the rotated
loadings, each factor's name from its top-loading items, and Cronbach's alpha of each scale.
The workspace is opened read-only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from segmint.cli._common import DEFAULT_WORKSPACE, WORKSPACE_HELP, user_errors

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


def parse_factors(text: str) -> int | str:
    """``auto`` or a whole number ≥ 1 (InputError otherwise)."""
    from segmint.exceptions import InputError

    value = text.strip().lower()
    if value == "auto":
        return "auto"
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise InputError(
        f"--factors must be 'auto' or a whole number ≥ 1. Got '{text}'.",
        fix="use --factors auto (the rule decides) or e.g. --factors 3.",
    )


def needs(
    factors: Annotated[
        str, typer.Option("--factors", help="Number of factors: auto (by --rule) or N.")
    ] = "auto",
    rule: Annotated[
        str,
        typer.Option(
            "--rule",
            help="How auto counts factors: parallel (Horn's parallel analysis) or kaiser "
            "(eigenvalue > 1).",
        ),
    ] = "parallel",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """The factor solution of the survey items in feedback: eigenvalues against the rule,
    loadings (varimax), factor names and the alpha of each scale (docs/needs.md).

      segmint needs

      segmint needs --factors 3 --json
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError

    n = parse_factors(factors)
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace with -w PATH (default ./segmint.duckdb).",
        )
    with Workspace(workspace, read_only=True) as ws:
        solution = ws.needs(n, rule=rule)
    if as_json:
        typer.echo(json.dumps(solution.extras().to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(solution.summary())


def register(app: typer.Typer) -> None:
    """Add ``segmint needs`` to the CLI."""
    app.command(name="needs")(user_errors(needs))
