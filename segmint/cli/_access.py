"""``segmint subject-access``: one person's data as one JSON file (GDPR art. 15 and 20).

The file is written whole or not at all (a temporary file in the same folder, then
``os.replace``); when nobody matches, nothing is written and the exit code is 2.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    console,
    user_errors,
    writable_file,
)
from segmint.exceptions import WorkspaceError

__all__ = ["register", "subject_access", "write_json"]


def subject_access(
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write (UTF-8).")],
    customer: Annotated[str | None, typer.Option("--customer", help="A customer id.")] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="An e-mail address (any case).")
    ] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="A phone number (any punctuation).")
    ] = None,
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)
    ] = DEFAULT_WORKSPACE,
) -> None:
    """Write everything the workspace holds about one person to a JSON file.

    Their rows in every table about customers, the segments they were in per run, the
    audience files and split tests that held them, consent history, quality samples and
    audit rows. Give one of --customer, --email, --phone. Exit code 2 when nobody matches
    (nothing is written). docs/privacy.md, Access and portability.

      segmint subject-access --email ann@example.org --out ann.json -w shop.duckdb
    """
    from segmint._workspace import Workspace
    from segmint.privacy.audit import acting_as

    writable_file(out)
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace with -w PATH (default ./segmint.duckdb).",
        )
    with acting_as(origin="cli"), Workspace(workspace) as ws:
        data = ws.subject_access(customer_id=customer, email=email, phone=phone)
    write_json(data, out)
    console.print(escape(data["summary"]))
    console.print(f"Written: {escape(str(out))}")


def write_json(data: object, out: Path) -> None:
    """Write ``data`` as UTF-8 JSON to ``out`` whole or not at all."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add ``segmint subject-access`` to the CLI."""
    app.command(name="subject-access")(user_errors(subject_access))
