"""``segmint consent set`` and ``segmint consent show``: one customer's consent, by hand.

A customer who writes to support ("stop e-mailing me", "do not profile me") is served here,
between imports; the record keeps when and from where, as an import's do
(:mod:`segmint.privacy.consent`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import DEFAULT_WORKSPACE, WORKSPACE_HELP, console, user_errors
from segmint.exceptions import SpecError, WorkspaceError

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
Customer_ = Annotated[str, typer.Option("--customer", help="The customer id, as imported.")]

consent_app = typer.Typer(
    help="Consent per customer and channel (email, sms, ads, profiling): set it, show its history.",
    no_args_is_help=True,
)

SET_HELP = """Grant, deny or revoke one customer's consent on one channel.

Sets the customer's consent_<channel> flag (true for --grant, false otherwise) and adds a
dated record to their history (segmint consent show), with --source saying where it came
from. Exports and split-test files leave out customers without consent for their channel;
--deny on profiling leaves the customer out of later segment runs (an objection, GDPR
art. 21).

Examples:

  segmint consent set --customer C000042 --channel email --revoke --source "ticket 1234"

  segmint consent set --customer C000042 --channel profiling --deny

Semantics per channel: docs/privacy.md, "Consent".
"""


def set_(
    customer: Customer_,
    channel: Annotated[
        str, typer.Option("--channel", help="email, sms, ads or profiling.", show_default=False)
    ],
    grant: Annotated[bool, typer.Option("--grant", help="The customer consents.")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="The customer refuses.")] = False,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="The customer takes back a consent given.")
    ] = False,
    source: Annotated[
        str, typer.Option("--source", help="Where the decision came from (kept in the record).")
    ] = "segmint consent",
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    from segmint._workspace import Workspace
    from segmint.privacy.audit import acting_as

    chosen = [name for name, on in (("grant", grant), ("deny", deny), ("revoke", revoke)) if on]
    if len(chosen) != 1:
        raise SpecError(
            "Give exactly one of --grant, --deny and --revoke"
            + (f" (got {', '.join('--' + c for c in chosen)})." if chosen else "."),
            fix="e.g. segmint consent set --customer C000042 --channel email --revoke",
        )
    _exists(workspace)
    with acting_as(origin="cli"), Workspace(workspace) as ws:
        event = ws.set_consent(customer, channel, chosen[0], source=source)
    console.print(
        f"Consent of [bold]{escape(event.customer_id)}[/] on {event.channel}: "
        f"[bold]{event.status}[/] (recorded {event.recorded_at.isoformat(timespec='seconds')} "
        f"UTC, source {escape(event.source or '')})."
    )


def show(
    customer: Customer_,
    as_json: Annotated[bool, typer.Option("--json", help="Print the history as JSON.")] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Show one customer's consent history, oldest first: channel, status, when, source.

    segmint consent show --customer C000042
    """
    from segmint._workspace import Workspace

    _exists(workspace)
    with Workspace(workspace, read_only=True) as ws:
        events = ws.consent_history(customer)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in events], indent=2, ensure_ascii=False))
        return
    if not events:
        console.print(f"No consent records for customer {escape(customer)}.")
        return
    t = Table(title=f"Consent of {escape(customer)}", title_justify="left")
    for col in ("channel", "status", "given (UTC)", "source", "import run", "recorded (UTC)"):
        t.add_column(col, overflow="fold")
    for e in events:
        t.add_row(
            e.channel,
            e.status,
            e.at.isoformat(sep=" ", timespec="seconds"),
            escape(e.source or ""),
            e.run_id or "",
            e.recorded_at.isoformat(sep=" ", timespec="seconds"),
        )
    console.print(t)


def _exists(workspace: Path) -> None:
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace of your customers with -w PATH (default ./segmint.duckdb).",
        )


def register(app: typer.Typer) -> None:
    """Add ``segmint consent set`` and ``segmint consent show`` to the command line."""
    consent_app.command(name="set", help=SET_HELP)(user_errors(set_))
    consent_app.command(name="show")(user_errors(show))
    app.add_typer(consent_app, name="consent")
