"""``--engine spark``: the options every workspace command shares, and opening that workspace.

A Spark workspace is a folder (``--workspace DIR``, default ``segmint-spark``): its tables are
Parquet folders under ``DIR/tables`` (or ``--spark-warehouse URI``, a path the cluster
reaches), or catalog tables of ``--spark-catalog DB``, and its runs, results and models are in
``DIR/segmint.duckdb`` on the driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from segmint.cli._common import DEFAULT_WORKSPACE
from segmint.exceptions import SpecError

__all__ = [
    "ENGINES",
    "Engine_",
    "SparkCatalog",
    "SparkConf",
    "SparkMaster",
    "SparkWarehouse",
    "open_engine",
    "spark_path",
]

ENGINES = ("duckdb", "spark")
#: where a Spark workspace lives when --workspace is left at the embedded default
SPARK_DEFAULT = Path("segmint-spark")

Engine_ = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Where the data lives and runs: duckdb (one embedded file, the default) or spark "
        "(a local Spark or your cluster; tables as Parquet; docs/scale.md).",
    ),
]
SparkMaster = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: local[2], spark://host:7077, yarn … (default local[*]).",
    ),
]
SparkWarehouse = Annotated[
    str | None,
    typer.Option(
        "--spark-warehouse",
        help="With --engine spark: where the tables live, a path every executor reaches "
        "(hdfs://…, s3a://…; default WORKSPACE/tables).",
    ),
]
SparkCatalog = Annotated[
    str | None,
    typer.Option(
        "--spark-catalog",
        help="With --engine spark: keep the tables in this database of the session's catalog "
        "(DB or CATALOG.DB: Hive metastore, Unity Catalog, Glue) instead of Parquet folders; "
        "a workspace remembers it.",
    ),
]

SparkConf = Annotated[
    list[str] | None,
    typer.Option(
        "--spark-conf",
        help="With --engine spark: a Spark setting KEY=VALUE for the session segmint starts "
        "(repeatable), e.g. --spark-conf spark.driver.memory=4g.",
    ),
]


def check_engine(engine: str, catalog: str | None = None) -> str:
    """``engine``, checked; SpecError for an unknown one or a Spark-only option without it."""
    if engine not in ENGINES:
        raise SpecError(
            f"--engine must be one of {', '.join(ENGINES)}. Got {engine!r}.",
            fix="leave it out for the embedded engine, or pass --engine spark.",
        )
    if catalog is not None and engine != "spark":
        raise SpecError(
            "--spark-catalog keeps a Spark workspace's tables in a catalog; it needs "
            "--engine spark.",
            fix="add --engine spark, or leave out --spark-catalog for the embedded workspace.",
        )
    return engine


def spark_path(workspace: Path) -> Path:
    """The Spark workspace folder: ``--workspace`` unless it was left at the embedded file."""
    return SPARK_DEFAULT if workspace == DEFAULT_WORKSPACE else workspace


def open_engine(
    workspace: Path,
    master: str | None,
    warehouse: str | None,
    *,
    must_exist: bool = False,
    conf: list[str] | None = None,
    catalog: str | None = None,
) -> Any:
    """The Spark workspace at ``workspace`` (WorkspaceError when ``must_exist`` and it is not)."""
    from segmint._engine_workspace import METADATA_FILE, EngineWorkspace
    from segmint.exceptions import WorkspaceError

    path = spark_path(workspace)
    if must_exist and not (path / METADATA_FILE).exists():
        raise WorkspaceError(
            f"There is no Spark workspace at '{path}' (no {METADATA_FILE} in it).",
            fix="run segmint run --engine spark FILE --workspace DIR first, or pass the "
            "--workspace of an existing one.",
        )
    from segmint.cli._common import parse_pairs

    settings = parse_pairs(conf, "--spark-conf", "--spark-conf spark.driver.memory=4g")
    return EngineWorkspace.spark(
        settings or None,
        path,
        master=master,
        warehouse=warehouse,
        catalog=catalog,
        must_exist=must_exist,
    )
