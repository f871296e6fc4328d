"""The segmint command line: ingest, clean, quality, features, value, run, status, sample, demo
(and export, exports: :mod:`segmint.cli._export`; monitor: :mod:`segmint.cli._monitor`;
schedule: :mod:`segmint.cli._schedule`; erase, compact: :mod:`segmint.cli._erase`; retention,
subject-access: :mod:`segmint.cli._retention`, :mod:`segmint.cli._access`; pseudonymize:
:mod:`segmint.cli._pseudonymize`; audit: :mod:`segmint.cli._audit`; consent:
:mod:`segmint.cli._consent`; dedupe: :mod:`segmint.cli._dedupe`; feedback analyze:
:mod:`segmint.cli._feedback`; needs: :mod:`segmint.cli._needs`)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from segmint.cli import (
    _access,
    _audit,
    _campaigns,
    _consent,
    _dedupe,
    _erase,
    _experiment,
    _export,
    _feedback,
    _monitor,
    _needs,
    _pseudonymize,
    _retention,
    _schedule,
    _update,
)
from segmint.cli import _render as render
from segmint.cli import _render_value as render_value
from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    log_reports,
    package_version,
    parse_gates,
    parse_pairs,
    progress_display,
    split_names,
    user_errors,
    writable_file,
    writable_folder,
)
from segmint.cli._engine import (
    Engine_,
    SparkCatalog,
    SparkConf,
    SparkMaster,
    SparkWarehouse,
    check_engine,
    open_engine,
)
from segmint.exceptions import SpecError, WorkspaceError
from segmint.ingest.formats import families
from segmint.spec.model import CleanSpec, SourceOptions, SourceSpec, Spec, load_spec

app = typer.Typer(
    name="segmint",
    help=(
        "Customer segmentation from your shop's exports.\n\n"
        "A workspace (one DuckDB file, default ./segmint.duckdb) holds your data and every run.\n\n"
        "  segmint run orders.csv             # all in one go: named, ranked segments + report\n\n"
        "Or step by step:\n\n"
        "  segmint ingest orders.csv          # import an export (format detected)\n\n"
        "  segmint ingest customers.xlsx --as customers\n\n"
        "  segmint clean                      # standardize, dedupe, write the quality report\n\n"
        "  segmint features                   # the per-customer feature table\n\n"
        "  segmint value --holdout-days 90    # CLV, P(alive), value tiers; checked on a holdout\n\n"
        "  segmint run --spec segmint.yaml    # rules, RFM, clusters, ranking, report\n\n"
        "  segmint export --segmentation rfm --segment Champions --to mailchimp --out c.csv\n\n"
        "  segmint monitor                    # what changed since the previous run\n\n"
        '  segmint schedule add "0 6 * * 1" --spec segmint.yaml   # re-run it every Monday\n\n'
        "  segmint status                     # what the workspace holds\n\n"
        "New here? Run `segmint demo` to do all of it on generated sample data."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"segmint {package_version()}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Customer segmentation from your shop's exports."""
    from segmint.privacy.audit import acting_as

    ctx.with_resource(acting_as(None, "cli"))  # the audit log: the OS user, from the CLI


Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
_REPORT_HELP = "Folder for quality.json and quality.html (default: next to the workspace)."
ReportDir = Annotated[Path | None, typer.Option("--report-dir", help=_REPORT_HELP)]
SpecOption = Annotated[
    Path | None,
    typer.Option("--spec", help="A YAML spec with sources (mapping, options) and quality gates."),
]
Header = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="Whether a text file's first row holds column names (default: detected; a file "
        "whose first row looks like data is refused until you say).",
    ),
]
Columns = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="With --no-header: the columns' names, comma-separated, e.g. "
        "--columns customer_id,date,quantity,amount (default column_1, column_2, …; "
        "--map customer_id=1 maps by position).",
    ),
]
AsTable = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Target table: orders, customers, events, feedback, campaigns or "
        "campaign_contacts. Default: decided from the format or the headers (a file whose "
        "columns name no table is read as customers, one per row).",
    ),
]
MapColumns = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="Map a canonical column to a header (or, with --no-header, a position: "
        "--map customer_id=1); wins over detection. "
        "Repeatable: --map customer_id='Client No' --map ordered_at=Date",
    ),
]
DropIdentical = Annotated[
    bool,
    typer.Option(
        "--drop-identical-lines",
        help="Remove order lines identical in every column even when the source has no "
        "order id (then they may be real repeat purchases, so they are kept and reported "
        "by default). With an order id, exact duplicates are always removed.",
    ),
]
MaxInvalid = Annotated[
    list[str] | None,
    typer.Option(
        "--max-invalid",
        help="Raise or lower a quality gate, e.g. --max-invalid date=0.2 (share 0–1 or 20%). "
        "Checks: date, number, value, email, phone, country, missing_customer_id, duplicate_rows.",
    ),
]


def _open(path: Path, *, read_only: bool = False) -> Any:
    from segmint._workspace import Workspace

    return Workspace(path, read_only=read_only)


@app.command()
@user_errors
def ingest(
    file: Annotated[
        str | None,
        typer.Argument(
            help="A file (CSV/TSV, Parquet, .xlsx, JSON/NDJSON) or a "
            "database URL (sqlite:///shop.db, postgresql://…). Optional with --spec."
        ),
    ] = None,
    as_: AsTable = None,
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f", help=f"Export layout: auto, generic, {', '.join(families())}."
        ),
    ] = "auto",
    map_: MapColumns = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding: utf-8 or latin-1 (default: detected; in a file mixing "
            "UTF-8 and Windows-1252 lines each line is read as written, and the others listed)."
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name or 0-based index.")] = None,
    table: Annotated[str | None, typer.Option(help="Database table to import.")] = None,
    query: Annotated[str | None, typer.Option(help="Database query to import instead.")] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of times written without one, e.g. Europe/Berlin (default UTC)."
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            help="strptime format for dates when detection is ambiguous, e.g. '%d/%m/%Y'."
        ),
    ] = None,
    header: Header = None,
    columns: Columns = None,
    max_invalid: MaxInvalid = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the table's rows instead of adding to them.")
    ] = False,
    spec: SpecOption = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Import a file or database table into the workspace: all rows or none.

    Columns are matched by their headers (Shopify, Stripe, HubSpot, Mailchimp, GA4, Segment
    and UCI Online Retail exports are recognised); other columns are kept as extra attributes.
    Values that cannot be read are counted and listed in the quality report; too many of them
    stop the import (see --max-invalid).

    Examples:

      segmint ingest "Online Retail.xlsx"

      segmint ingest contacts.csv --as customers --map customer_id="Client No"

      segmint ingest "sqlite:///shop.db" --table orders

      segmint ingest CDNOW_sample.txt --no-header --columns customer_id,sample_id,date,number_of_cds,dollar_value

      segmint ingest --spec segmint.yaml      # every source listed in the spec

    With --spec, a source's mapping and options come from the spec (matched by path when FILE
    is given); options given on the command line win over the spec.
    """
    loaded = load_spec(spec) if spec else Spec()
    sources = _sources(loaded, file)
    cli_map = parse_pairs(map_, "--map", "--map customer_id='Client No'")
    gates = parse_gates(max_invalid, loaded.quality)
    cli = {
        "delimiter": delimiter,
        "encoding": encoding,
        "sheet": sheet,
        "table": table,
        "query": query,
        "timezone": timezone,
        "date_format": date_format,
        "header": header,
        "columns": split_names(columns),
    }
    with _open(workspace) as ws:
        for src in sources:
            opts = src.options.model_dump() | {k: v for k, v in cli.items() if v is not None}
            with progress_display(ws.store.db) as step:
                result = ws.ingest(
                    loaded.source_path(src),
                    into=as_ or src.as_,
                    format=format if format != "auto" else src.format,
                    mapping=(src.mapping | cli_map) or None,
                    gates=gates,
                    replace=replace or src.replace,
                    progress=step,
                    **opts,
                )
            render.ingest_result(result, workspace)


def _sources(spec: Spec, file: str | None) -> list[SourceSpec]:
    if file is not None:
        return [
            spec.source_for(file)
            or SourceSpec(path=os.path.abspath(file) if "://" not in file else file)
        ]
    if not spec.sources:
        raise SpecError(
            "Nothing to import: give a FILE, or a --spec whose sources: list files.",
            fix="run segmint ingest orders.csv, or segmint ingest --spec segmint.yaml.",
        )
    return spec.sources


@app.command()
@user_errors
def clean(
    region: Annotated[
        str | None,
        typer.Option(
            help="Country (ISO alpha-2, e.g. DE) for phone numbers written without +code when the "
            "customer's country is unknown."
        ),
    ] = None,
    max_invalid: MaxInvalid = None,
    drop_identical_lines: DropIdentical = False,
    spec: SpecOption = None,
    report_dir: ReportDir = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Standardize and deduplicate the workspace, then write the data quality report.

    E-mails are trimmed and lower-cased, phones become E.164, countries ISO codes; exact
    duplicate rows and duplicate customer ids are removed and counted; cancellations, refunds
    and returns are kept and marked. Order lines identical in every column are kept and
    reported when the source has no order id (they may be real repeat purchases): pass
    --drop-identical-lines to remove them too. A quality gate that fails stops the run with the reason
    and changes nothing.
    """
    loaded = load_spec(spec) if spec else Spec()
    gates = parse_gates(max_invalid, loaded.quality if spec else None)
    drop = drop_identical_lines or loaded.clean.drop_identical_lines
    folder = report_dir or _report_dir(workspace)
    with _open(workspace) as ws:
        writable_folder(folder, "the quality report", "--report-dir")
        with progress_display(ws.store.db) as step:
            result = ws.clean(
                gates=gates, default_region=region, drop_identical_lines=drop, progress=step
            )
            try:
                report = ws.quality(folder)
            except WorkspaceError as exc:  # e.g. the disk filled up after clean committed
                raise type(exc)(
                    f"{exc.problem} The clean itself was saved (run {result.run_id}); "
                    "`segmint quality` writes the report again.",
                    fix=exc.fix,
                    where=exc.where,
                ) from exc
        render.clean_result(result, report)


@app.command()
@user_errors
def quality(
    out: Annotated[Path | None, typer.Option("--out", help=_REPORT_HELP)] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Write the data quality report (JSON + HTML) and print its summary.

    The report names every value that could not be read or was invalid, with file, row,
    column and reason, plus missing shares, duplicates, outliers and quality gates.
    """
    with _open(workspace, read_only=True) as ws:
        report = ws.quality(out or _report_dir(workspace))
        render.quality_summary(report)
    log_reports(workspace, "quality", [Path(p) for p in report["files"].values()])


@app.command()
@user_errors
def features(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Compute as of this date (YYYY-MM-DD); default: the last order."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the features to a .csv or .parquet file.")
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_catalog: SparkCatalog = None,
    spark_conf: SparkConf = None,
) -> None:
    """Compute the per-customer feature table (one row per customer).

    Behavioural (recency, frequency, monetary value, tenure, inter-purchase time, category and
    channel mix, discounts, returns, web events), demographic, geographic, psychographic
    (survey answers) and firmographic features, computed in the engine. The result is saved in
    the workspace as table customer_features; every feature and its unit is listed in
    docs/features.md. The as-of date is recorded with the run.
    """
    if out is not None:
        writable_file(out)
    if check_engine(engine, spark_catalog) == "spark":
        with open_engine(
            workspace,
            spark_master,
            spark_warehouse,
            must_exist=True,
            conf=spark_conf,
            catalog=spark_catalog,
        ) as ews:
            table = ews.features(as_of=as_of)
            if out is not None:
                render.export_engine_table(table, out)
            render.features_summary(table, ews.runs()[-1], out)
        return
    with _open(workspace) as ws:
        with progress_display(ws.store.db) as step:
            step("Computing customer features")
            table = ws.features(as_of=as_of)
        if out is not None:
            render.export_table(table, out)
        render.features_summary(table, ws.runs()[-1], out)


@app.command()
@user_errors
def value(
    holdout_days: Annotated[
        int | None,
        typer.Option(
            "--holdout-days",
            min=1,
            max=36_500,
            help="Check the model: fit on the history up to N days before the end, predict "
            "those N days, and compare with what customers really bought.",
        ),
    ] = None,
    horizon_days: Annotated[
        float, typer.Option("--horizon-days", min=1, max=36_500, help="CLV horizon in days.")
    ] = 365,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Annual discount rate (0.1 = 10 %).")
    ] = 0.10,
    margin: Annotated[
        float, typer.Option(help="Share of revenue that is profit (1 = CLV in revenue).")
    ] = 1.0,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The end of the history (YYYY-MM-DD); default: last order."),
    ] = None,
    unit: Annotated[str, typer.Option(help="Model time unit: weeks or days.")] = "weeks",
    penalizer: Annotated[
        float, typer.Option(help="Shrinkage for small or odd data (e.g. 0.001); 0 = plain MLE.")
    ] = 0.0,
    out: Annotated[
        Path | None,
        typer.Option(help="Write per-customer values and segments to a .csv or .parquet file."),
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Customer lifetime value: expected purchases, P(alive), expected spend, CLV and tiers.

    Fits the MBG/NBD model (how often customers buy and when they stop) and the Gamma-Gamma
    model (how much they spend) on the orders in the workspace, then prints the parameters
    with standard errors and the value segments (Top 1%, Top 10%, Middle, Low, Churn risk).
    With --holdout-days it first shows how well the model predicted the last N days. See
    docs/value.md.

      segmint value --holdout-days 90 --horizon-days 365 --out clv.csv
    """
    from segmint.segment.value import ValueSegmenter
    from segmint.segment.value.holdout import holdout_check

    if out is not None:
        writable_file(out)
    with _open(workspace, read_only=True) as ws:
        with progress_display(ws.store.db) as step:
            step("Summarising purchases per customer")
            summary = ws.value_summary(as_of, unit=unit)
            step("Fitting MBG/NBD and Gamma-Gamma")
            seg = ValueSegmenter(
                horizon_days=horizon_days,
                discount_rate=discount_rate,
                margin=margin,
                penalizer=penalizer,
                unit=unit,
            ).fit(summary)
            holdout = None
            if holdout_days is not None:
                step(f"Holdout check over the last {holdout_days} days")
                calib = ws.value_summary(as_of, unit=unit, holdout_days=holdout_days)
                holdout = holdout_check(calib, penalizer=seg.bgnbd_.penalizer)
        if out is not None:
            frame = summary.join(seg.values_).assign(segment=seg.labels_).reset_index()
            render.export_frame(frame, out)
        render_value.value_result(seg, holdout, unit, out)


@app.command()
@user_errors
def serve(
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Folder for uploads and reports (default: next to the workspace)."
        ),
    ] = None,
    max_upload_mb: Annotated[
        int,
        typer.Option(
            "--max-upload-mb",
            min=1,
            envvar="SEGMINT_MAX_UPLOAD_MB",
            help="Largest upload accepted, in MB (streamed to disk; refused with 413 as soon "
            "as it passes the limit).",
        ),
    ] = 200,  # segmint.api.limits.MAX_UPLOAD_BYTES (not imported: FastAPI is an extra)
    max_body_kb: Annotated[
        int,
        typer.Option(
            "--max-body-kb",
            min=1,
            envvar="SEGMINT_MAX_BODY_KB",
            help="Largest JSON or form body accepted, in KB (413 above it, before it is read).",
        ),
    ] = 1024,  # segmint.api.limits.MAX_BODY_BYTES
    max_inflated_mb: Annotated[
        int,
        typer.Option(
            "--max-inflated-mb",
            min=1,
            envvar="SEGMINT_MAX_INFLATED_MB",
            help="Most MB a compressed upload (.gz, .xlsx, Parquet) may unpack to; it may also "
            "unpack to at most 100 times its size.",
        ),
    ] = 1024,  # segmint.api.uploads.MAX_INFLATED_BYTES
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Mark sign-in cookies Secure (use when the app is served over HTTPS, e.g. "
            "behind a reverse proxy).",
        ),
    ] = False,
    schedule_poll: Annotated[
        float,
        typer.Option(
            "--schedule-poll",
            min=0,
            help="Seconds between checks for due schedules (segmint schedule add); each due "
            "one runs as a background job. 0: the server runs no schedules.",
        ),
    ] = 60.0,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_conf: SparkConf = None,
) -> None:
    """Start the web app and the REST API (OpenAPI description at /docs).

    On the first start the terminal shows an admin token: sign in with it in the browser,
    then create tokens for your team (viewer, analyst, admin) on the Tokens page or with
    `segmint token NAME --role analyst`. Tokens are stored hashed; a lost one cannot be shown
    again, only replaced. While it runs, the workspace's due schedules (segmint schedule add)
    run in its background worker, one job at a time.

      segmint serve --workspace shop.duckdb          # then open http://127.0.0.1:8000

    With --engine spark it serves a Spark workspace (--workspace DIR): the runs, results,
    segment sizes, members, one customer and scoring, read in Spark; what needs the embedded
    engine (uploads, new runs, exports, monitoring, …) answers 409 naming the command to use
    (docs/scale.md, Serving).
    """
    from segmint.api import Settings

    options: dict[str, Any] = {
        "data_dir": data_dir,
        "max_upload_bytes": max_upload_mb * 1024 * 1024,
        "max_body_bytes": max_body_kb * 1024,
        "max_inflated_bytes": max_inflated_mb * 1024 * 1024,
        "secure_cookies": secure_cookies,
        "schedule_poll_s": schedule_poll,
    }
    if check_engine(engine) == "spark":
        with open_engine(
            workspace, spark_master, spark_warehouse, must_exist=True, conf=spark_conf
        ) as ews:
            _serve(Settings.on_engine(ews, **options), host, port, ews.path)
        return
    _serve(Settings(workspace=workspace, **options), host, port, workspace)


def _serve(settings: Any, host: str, port: int, shown: Path) -> None:
    import uvicorn

    from segmint.api import create_app, first_admin_token

    server = create_app(settings)
    token = first_admin_token(server)
    render.serve_banner(f"http://{host}:{port}", shown, token)
    uvicorn.run(server, host=host, port=port, log_level="warning")


@app.command()
@user_errors
def token(
    name: Annotated[str, typer.Argument(help="Who the token is for, e.g. 'maria'.")],
    role: Annotated[
        str, typer.Option(help="viewer (read), analyst (run, rename, export) or admin.")
    ] = "viewer",
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Create an API / web sign-in token and show it once (stored hashed).

    segmint token maria --role analyst --workspace shop.duckdb
    """
    from segmint.api.auth import ROLES, TokenStore

    if role not in ROLES:
        raise SpecError(
            f"The role must be one of {', '.join(ROLES)}. Got {role!r}.", fix="e.g. --role analyst."
        )
    import threading

    with _open(workspace) as ws:
        principal, secret = TokenStore(ws.store.db, threading.Lock()).create(name, role)
    render.token_created(principal, secret)


_dedupe.register(app)
_feedback.register(app)
_export.register(app)
_experiment.register(app)
_campaigns.register(app)
_monitor.register(app)
_update.register(app)
_schedule.register(app)
_erase.register(app)
_retention.register(app)
_access.register(app)
_pseudonymize.register(app)
_audit.register(app)
_consent.register(app)
_needs.register(app)


@app.command()
@user_errors
def status(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"tables": …, "runs": [{"id", "kind", "at", …}]} (oldest run first), '
            "e.g. to pick a baseline for segmint monitor.",
        ),
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_catalog: SparkCatalog = None,
    spark_conf: SparkConf = None,
) -> None:
    """Show what the workspace holds: tables with row counts and the runs so far."""
    import json

    if check_engine(engine, spark_catalog) == "spark":
        with open_engine(
            workspace,
            spark_master,
            spark_warehouse,
            must_exist=True,
            conf=spark_conf,
            catalog=spark_catalog,
        ) as ews:
            info = ews.status()
    else:
        with _open(workspace, read_only=True) as ws:
            info = ws.status()
    if as_json:
        typer.echo(json.dumps(_monitor.status_json(info), indent=2, ensure_ascii=False))
        return
    render.status(info)


@app.command()
@user_errors
def formats() -> None:
    """List the export layouts segmint recognises and the headers that identify them."""
    render.formats()


@app.command()
@user_errors
def sample(
    directory: Annotated[Path, typer.Argument(help="Folder to write the sample files to.")],
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 0,
    file_format: Annotated[str, typer.Option("--file-format", help="csv or parquet.")] = "csv",
) -> None:
    """Write generated sample shop data (customers, orders, events, …) to a folder."""
    from segmint.datasets import make_retail

    if file_format not in ("csv", "parquet"):
        raise SpecError(
            f"--file-format must be csv or parquet, not '{file_format}'.",
            fix="pass --file-format csv or --file-format parquet.",
        )
    data = make_retail(customers, seed=seed)
    files = data.to_files(directory, format="csv" if file_format == "csv" else "parquet")
    render.files_written(files)


@app.command()
@user_errors
def run(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Exports to import first (optional when the spec lists sources)."),
    ] = None,
    spec: SpecOption = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for report.html, report.json and quality/.")
    ] = Path("segmint-report"),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute features as of this date.")
    ] = None,
    as_: AsTable = None,
    map_: MapColumns = None,
    header: Header = None,
    columns: Columns = None,
    drop_identical_lines: DropIdentical = False,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Cluster on these feature columns, comma-separated (order features or the "
            "customers' own attributes, e.g. history,mens,womens).",
        ),
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_catalog: SparkCatalog = None,
    spark_conf: SparkConf = None,
    sample_size: Annotated[
        int | None,
        typer.Option(
            "--sample-size",
            min=1,
            help="Customers the models are fitted and profiled on when there are more "
            "(default 1,000,000); every customer is still assigned, inside DuckDB or Spark.",
        ),
    ] = None,
) -> None:
    """Everything in one go: ingest → clean → features → segments → profiles → ranking → report.

    Without a spec, segmint imports FILES, builds RFM segments and a k-means clustering with
    automatic k, profiles and ranks the segments, proposes a targeting plan per segment, and
    writes one self-contained HTML report (plus the same numbers as JSON). With --spec you
    choose sources, rules ("Young Professionals: age between 22 and 35 and income > 50000"),
    clustering features and k, ranking weights and plan overrides (docs/spec.md).

    Examples:

      segmint run orders.csv

      segmint run customers.csv --features history,mens,womens   # a file without orders

      segmint run --spec segmint.yaml --out reports/

      segmint run CDNOW_sample.txt --no-header --columns customer_id,sample_id,date,number_of_cds,dollar_value

      segmint run orders.parquet --engine spark --spark-master local[2] --workspace shop-spark

    --as, --map, --no-header, --columns apply to the FILES given here (a spec's sources have
    their own). A file of customers without orders is clustered on its numeric attributes (RFM
    and value need purchases); without a customer id column, its rows are numbered 1…N as
    customer_id (the output says so). Feature and column names are checked against the workspace
    first, with "did you mean" for a typo.
    """
    from segmint._run import check_spec, run_pipeline

    loaded = load_spec(spec) if spec else Spec()
    chosen = _feature_list(features) if features is not None else None
    check_spec(loaded, features=chosen)
    read = SourceOptions(header=header, columns=split_names(columns))
    cli_map = parse_pairs(map_, "--map", "--map customer_id='Client No'")
    extra = [
        SourceSpec(
            path=os.path.abspath(f) if "://" not in f else f,
            options=read,
            mapping=cli_map,
            **{"as": as_},
        )
        for f in files or []
    ]
    loaded = loaded.model_copy(update={"sources": [*loaded.sources, *extra]})
    if drop_identical_lines:
        loaded = loaded.model_copy(update={"clean": CleanSpec(drop_identical_lines=True)})
    if as_of:
        loaded = loaded.model_copy(
            update={"features": loaded.features.model_copy(update={"as_of": as_of})}
        )
    if not loaded.sources and not workspace.exists():
        raise SpecError(
            "Nothing to segment: no files were given, the spec lists no sources, and the "
            f"workspace '{workspace}' does not exist yet.",
            fix="run segmint run orders.csv (or list sources: in a spec).",
        )
    writable_folder(out, "the report")
    if check_engine(engine, spark_catalog) == "spark":
        with (
            open_engine(
                workspace, spark_master, spark_warehouse, conf=spark_conf, catalog=spark_catalog
            ) as ews,
            progress_display(None) as step,
        ):
            output = ews.run(loaded, out_dir=out, progress=step, sample_size=sample_size)
        render.run_summary(output)
        return
    with _open(workspace) as ws:
        if not loaded.sources and {"orders", "customers"} & set(ws.tables()):
            # nothing new to import: check feature and column names against the data now
            check_spec(loaded, ws.feature_columns(loaded.features.families), chosen)
        with progress_display(ws.store.db) as step:
            output = run_pipeline(
                ws,
                loaded,
                out_dir=out,
                progress=step,
                cluster_features=chosen,
                sample_size=sample_size,
            )
        render.run_summary(output)


def _feature_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SpecError(
            f"--features needs feature names, comma-separated. Got {text!r}.",
            fix="e.g. --features recency_days,frequency,monetary_total (see docs/features.md).",
        )
    return names


@app.command()
@user_errors
def demo(
    workspace: Workspace_ = Path("segmint-out/demo.duckdb"),
    out: Annotated[Path, typer.Option(help="Folder for the sample data and reports.")] = Path(
        "segmint-out"
    ),
    customers: Annotated[int, typer.Option(help="Number of sample customers.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The whole pipeline on generated sample data, with a spec you can edit and rerun.

    Writes a sample shop (customers, orders, events, feedback, campaigns) and a spec
    (demo.yaml: rules, RFM, k-means with automatic k, value tiers) to the output folder, then runs
    `segmint run --spec` on a fresh workspace: report, quality report and features.
    """
    from segmint._run import run_pipeline
    from segmint.datasets import make_retail

    for p in (workspace, Path(f"{workspace}.wal")):
        p.unlink(missing_ok=True)
    data = make_retail(customers, seed=seed)
    files = data.to_files(out / "sample-data", format="csv")
    spec_path = out / "demo.yaml"
    spec_path.write_text(_demo_spec(files, spec_path, workspace), encoding="utf-8")
    loaded = load_spec(spec_path)
    with _open(workspace) as ws:
        with progress_display(ws.store.db) as step:
            output = run_pipeline(ws, loaded, out_dir=out / "report", progress=step)
            step("Writing customer features")
            render.export_table(ws.table("customer_features"), out / "customer_features.csv")
        render.run_summary(output)
        render.demo_next_steps(out, workspace, spec_path, output)


def _demo_spec(files: dict[str, Path], spec: Path, workspace: Path) -> str:
    order = ["customers", "orders", "events", "feedback", "campaigns", "campaign_contacts"]
    sources = "".join(
        f"  - {{path: sample-data/{files[n].name}, as: {n}}}\n" for n in order if n in files
    )
    where = " ".join(
        f"{flag} {shlex.quote(os.path.abspath(p))}"
        for flag, p in (("--spec", spec), ("--workspace", workspace))
    )
    return (
        "# segmint demo spec: edit and rerun with\n"
        f"#   segmint run {where}\n"
        "sources:\n" + sources + "segmentations:\n"
        "  - name: lifestyle\n"
        "    method: rules\n"
        "    rules:\n"
        "      Young Professionals: age between 22 and 35 and income > 50000\n"
        "      Families: children > 0\n"
        "  - name: rfm\n"
        "    method: rfm\n"
        "  - name: clusters\n"
        "    method: kmeans\n"
        "    k: auto\n"
        "  - name: value\n"
        "    method: value\n"
        "    horizon_days: 365\n"
        "    holdout_days: 90\n"
    )


def _report_dir(workspace: Path) -> Path:
    return workspace.parent / f"{workspace.stem}-quality"
