"""Where a split test's rows come from: a results file, or a campaign in the workspace.

A results file is read by ingest's readers (the same sniffing, encodings, Excel and Parquet
support and the same refusals as ``segmint ingest``), staged as a temp table of the
connection, never written to the workspace. A campaign is a filter on ``campaign_contacts``.
``by`` may name a segmentation instead of a column: each row's segment then comes from the
stored assignments of a run (the latest holding that segmentation unless one is named), so
"which customers were in which segment" is the one the marketer saw, not a re-computation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segmint.exceptions import ExperimentError
from segmint.privacy.pseudonyms import customer_key_sql
from segmint.store import Store, quote

__all__ = [
    "CAMPAIGN_METRICS",
    "Rows",
    "campaign_rows",
    "default_metrics",
    "file_rows",
    "is_file",
    "segmentation_names",
    "with_segmentation",
]

#: the outcome columns of ``campaign_contacts`` analysed when no metric is named
CAMPAIGN_METRICS = ("opened", "clicked", "converted", "revenue")
SEGMENT_COLUMN = "_segmint_segment"


@dataclass(frozen=True)
class Rows:
    """Where the rows are: ``relation`` is SQL usable after FROM on ``db``."""

    db: duckdb.DuckDBPyConnection
    relation: str
    label: str
    columns: Sequence[str]
    #: SQL for each row's segment when ``by`` is not a plain column (a segmentation's join)
    by_sql: str | None = None


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def is_file(source: str | os.PathLike[str]) -> bool:
    """A path that exists (anything else is taken as a campaign id)."""
    return Path(source).exists()


def file_rows(db: duckdb.DuckDBPyConnection, path: str | os.PathLike[str]) -> Rows:
    """Stage a results file on ``db`` (a temp table; nothing is written to a workspace)."""
    from segmint.ingest.readers import ReadOptions, stage
    from segmint.ingest.sniff import sniff

    src = sniff(str(path))
    staged = stage(db, src, ReadOptions())
    return Rows(db, staged.relation, src.label, list(staged.columns))


def campaign_rows(store: Store, campaign: str) -> Rows:
    """The ``campaign_contacts`` rows of one campaign."""
    if not store.has_table("campaign_contacts"):
        raise ExperimentError(
            f"There is no file '{campaign}', and this workspace has no campaign results to look "
            "it up in as a campaign.",
            fix="pass the results file, or import the contacts first: segmint ingest FILE "
            "--table campaign_contacts.",
        )
    found = store.db.execute(
        "SELECT count(*) FROM campaign_contacts WHERE campaign_id = ?", [campaign]
    ).fetchone()
    if not found or not found[0]:
        known = [
            str(r[0])
            for r in store.db.execute(
                "SELECT DISTINCT campaign_id FROM campaign_contacts ORDER BY 1 LIMIT 20"
            ).fetchall()
        ]
        raise ExperimentError(
            f"There is no file '{campaign}' and no campaign with that id in campaign_contacts.",
            fix=f"the campaigns are: {', '.join(known)}." if known else "import the contacts.",
        )
    columns = [r[0] for r in store.db.execute("DESCRIBE campaign_contacts").fetchall()]
    relation = f"(SELECT * FROM campaign_contacts WHERE campaign_id = {_lit(campaign)})"
    return Rows(store.db, relation, f"campaign '{campaign}'", columns)


def default_metrics(rows: Rows) -> list[str]:
    """The campaign outcome columns that hold at least one value (one query)."""
    present = [m for m in CAMPAIGN_METRICS if m in rows.columns]
    counts = rows.db.execute(
        f"SELECT {', '.join(f'count({quote(m)})' for m in present) or '0'} FROM {rows.relation}"
    ).fetchone()
    out = [m for m, n in zip(present, counts or (), strict=False) if n]
    if not out:
        raise ExperimentError(
            "The campaign's contacts have no outcome values (opened, clicked, converted, "
            "revenue are all empty).",
            where=rows.label,
            fix="import the results with those columns filled, or name --metrics.",
        )
    return out


def with_segmentation(
    rows: Rows,
    store: Store,
    segmentation: str,
    *,
    run: str | None = None,
    customer_column: str = "customer_id",
) -> Rows:
    """Rows joined to a run's stored assignments: ``by_sql`` gives each row's segment name."""
    from segmint.activate.export import latest_run

    if customer_column not in rows.columns:
        raise ExperimentError(
            f"To split by the segmentation '{segmentation}' the results need a "
            f"'{customer_column}' column.",
            where=rows.label,
            fix="add the customer id to the results, or name the column with --customer-column.",
        )
    run_id = run or latest_run(store, segmentation)
    held = store.db.execute(
        "SELECT count(*) FROM segmentations WHERE run_id = ? AND name = ?", [run_id, segmentation]
    ).fetchone()
    if not held or not held[0]:
        raise ExperimentError(
            f"Run '{run_id}' has no segmentation named '{segmentation}'.",
            fix="`segmint status` lists the runs; name one that holds it, or none for the latest.",
        )
    relation = (
        f"(SELECT r.*, coalesce(a.segment_name, a.segment) AS {SEGMENT_COLUMN} "
        f"FROM {rows.relation} r LEFT JOIN segment_assignments a "
        f"ON a.customer_id = {customer_key_sql(store, f'r.{quote(customer_column)}')} "
        f"AND a.run_id = {_lit(run_id)} AND a.segmentation = {_lit(segmentation)})"
    )
    return Rows(
        rows.db,
        relation,
        rows.label,
        [*rows.columns, SEGMENT_COLUMN],
        by_sql=SEGMENT_COLUMN,
    )


def segmentation_names(store: Store) -> list[str]:
    if not store.has_table("segmentations"):
        return []
    return [
        str(r[0])
        for r in store.db.execute("SELECT DISTINCT name FROM segmentations ORDER BY 1").fetchall()
    ]
