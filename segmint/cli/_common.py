"""Shared CLI plumbing: the console, user-error handling, progress, option parsing."""

from __future__ import annotations

import errno
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from segmint.exceptions import SegmintError, SpecError, WorkspaceError
from segmint.spec.gates import QualityGates
from segmint.store import engine_errors
from segmint.store.errors import file_error, file_errors

console = Console(highlight=False, emoji=False)  # user text like "root:x:0" stays text
err_console = Console(stderr=True, highlight=False, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])

WORKSPACE_HELP = "The workspace file (a DuckDB database). Created on the first import."
DEFAULT_WORKSPACE = Path("segmint.duckdb")
_SHOWN_PROBLEMS = 20  # a spec with hundreds of problems shows the first ones

_GATE_NAMES = {
    "date": "max_invalid_dates",
    "dates": "max_invalid_dates",
    "number": "max_invalid_numbers",
    "numbers": "max_invalid_numbers",
    "value": "max_invalid_values",
    "boolean": "max_invalid_values",
    "json": "max_invalid_values",
    "email": "max_invalid_emails",
    "emails": "max_invalid_emails",
    "phone": "max_invalid_phones",
    "phones": "max_invalid_phones",
    "country": "max_unknown_countries",
    "countries": "max_unknown_countries",
    "missing_customer_id": "max_missing_customer_id",
    "duplicate_rows": "max_duplicate_rows",
    "duplicates": "max_duplicate_rows",
}


def user_errors(fn: F) -> F:
    """Print a SegmintError as one paragraph (no traceback) and exit with code 2.

    DuckDB running out of memory or failing on a file becomes one too (``engine_errors``),
    and so does an :class:`OSError` about a path (a read-only ``--out``, a spec that is a
    folder): the user gave that path, so it is theirs to fix, not a bug.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with engine_errors():
                return fn(*args, **kwargs)
        except SegmintError as exc:
            show_error(exc)
            raise typer.Exit(2) from None
        except OSError as exc:
            if exc.filename is None:  # not about a path the user gave: a bug, keep the trace
                raise
            show_error(path_error(exc))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print(
                "[yellow]Interrupted.[/] Nothing was committed by the step that "
                "was running; the workspace is as it was before it."
            )
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def path_error(exc: OSError) -> SegmintError:
    """A path from the command line that could not be used (a read-only or full disk, a
    folder where a file was expected, a missing folder), as a user error naming the path."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return file_error(exc, Path(str(exc.filename)), "the output")
    return WorkspaceError(
        f"segmint could not use '{exc.filename}': {exc.strerror or type(exc).__name__}.",
        fix="check the paths given on the command line: an existing file where one is read, "
        "a folder you can write to where one is written (--out, --workspace).",
    )


def writable_folder(folder: Path, what: str, option: str = "--out") -> None:
    """Stop before any work when ``folder`` cannot be created or written (a read-only disk, a
    file in the way), so a long run does not fail at its last step with its work committed."""
    import tempfile

    with file_errors(folder, what, option):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass


def writable_file(path: Path, option: str = "--out") -> None:
    """Stop before any work when the file ``path`` cannot be written: its folder is not
    writable, or it is a folder itself."""
    if path.is_dir():
        raise WorkspaceError(
            f"'{path}' is a folder; {option} takes the name of a file to write.",
            fix=f"give a file name, e.g. {option} {path / 'out.csv'}.",
        )
    writable_folder(path.parent, f"'{path.name}'", option)


def show_error(exc: SegmintError) -> None:
    body = exc.problem
    body = f"[bold]{_esc(exc.where)}[/]: {_esc(body)}" if exc.where else _esc(body)
    if exc.fix:
        body += f"\n\n[bold]How to fix:[/] {_esc(exc.fix)}"
    if isinstance(exc, SpecError) and len(exc.problems) > 1:
        shown = exc.problems[:_SHOWN_PROBLEMS]
        body += "\n\n" + "\n".join(f"• {_esc(p)}" for p in shown)
        if len(exc.problems) > len(shown):
            body += f"\n… and {len(exc.problems) - len(shown)} more."
    err_console.print(
        Panel(
            body,
            title=f"[red]{type(exc).__name__}[/]",
            title_align="left",
            border_style="red",
            expand=False,
        )
    )


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def parse_pairs(values: list[str] | None, what: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        if "=" not in item:
            raise SpecError(
                f"{what} '{item}' is not of the form NAME=VALUE.",
                fix=f"write it like {example}.",
            )
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip().strip("'\"")
    return out


def package_version() -> str:
    """The installed package's version (its metadata), as pip and ``segmint --version`` see it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("segmint")
    except PackageNotFoundError:  # running from a source tree that was never installed
        import segmint

        return segmint.__version__


def split_names(value: str | None) -> list[str] | None:
    """'a, b,c' → ['a', 'b', 'c'] (None stays None)."""
    if value is None:
        return None
    return [n.strip() for n in value.split(",") if n.strip()]


def parse_gates(values: list[str] | None, base: QualityGates | None = None) -> QualityGates | None:
    """--max-invalid settings on top of ``base`` (the spec's quality gates, if any)."""
    pairs = parse_pairs(values, "--max-invalid", "--max-invalid date=0.2")
    if not pairs:
        return base
    settings: dict[str, float] = {}
    for k, v in pairs.items():
        name = _GATE_NAMES.get(k.lower(), k if k.startswith("max_") else "")
        if name not in QualityGates.model_fields:
            raise SpecError(
                f"'{k}' is not a quality check.",
                fix=f"use one of: {', '.join(sorted(set(_GATE_NAMES) - {'dates', 'numbers'}))}.",
            )
        try:
            share = float(v[:-1]) / 100 if v.endswith("%") else float(v)
        except ValueError:
            raise SpecError(
                f"--max-invalid {k}={v}: '{v}' is not a number.",
                fix="give a share like 0.2 or 20%.",
            ) from None
        settings[name] = share
    try:
        return QualityGates(**((base.model_dump() if base else {}) | settings))
    except ValidationError as exc:
        raise SpecError(
            "--max-invalid shares must be between 0 and 1 (or 0% and 100%): "
            + "; ".join(str(e["msg"]) for e in exc.errors()),
            fix="give a share like 0.2 or 20%.",
        ) from None


@contextmanager
def progress_display(store_db: Any = None) -> Iterator[Callable[[str], None]]:
    """A Rich progress line: the step name, plus DuckDB's own progress when a query runs long."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = progress.add_task("Starting", total=100)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.2):
            try:
                pct = store_db.query_progress() if store_db is not None else -1
            except Exception:
                pct = -1
            if pct is not None and pct >= 0:
                progress.update(task, completed=float(pct))

    def step(message: str) -> None:
        progress.update(task, description=message, completed=0)

    with progress:
        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield step
        finally:
            stop.set()
            thread.join(timeout=1)


def json_or_show(data: Any, json_out: Path | None, show: Callable[[Any], None]) -> None:
    """``--json -`` prints the JSON alone (for scripts); otherwise ``show`` draws the tables
    and ``--json FILE`` also writes the JSON there (``segmint monitor``, ``segmint update``)."""
    import json

    from rich.markup import escape

    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if json_out is not None and str(json_out) == "-":
        typer.echo(text)
        return
    show(data)
    if json_out is not None:
        json_out.write_text(text, encoding="utf-8")
        console.print(f"JSON: {escape(str(json_out))}")


def log_reports(
    workspace: Path, kind: str, paths: list[Path | None], run_id: str | None = None
) -> None:
    """Record report files a command wrote from a workspace it read (``report_files``), so
    that an erasure finds them. A workspace another process holds for writing (a running
    server) cannot take the record: that is said, and the command still succeeds."""
    from rich.markup import escape

    from segmint.privacy.reports import register_report
    from segmint.store import Store

    written = [p for p in paths if p is not None and str(p) != "-"]
    if not written or not workspace.exists():
        return
    try:
        store = Store(workspace)
        try:
            for path in written:
                register_report(store, path, kind, run_id)
        finally:
            store.close()
    except SegmintError as exc:
        err_console.print(
            f"Note: the workspace's report log could not record {len(written)} file(s) "
            f"({escape(exc.problem)}); an erasure will not rewrite them."
        )
