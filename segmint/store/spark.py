"""A Spark session for a segmint workspace: the settings segmint relies on, in one place.

segmint does not ship Spark: ``pip install 'segmint[spark]'`` brings PySpark (pinned to what
Ibis 12 supports, 4.0) and Java 17 must be on the machine. A user with a cluster passes their
own session (``Workspace.spark(session)``); segmint then only checks the settings it needs
(UTC session time zone) and sets them on that session.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from segmint.exceptions import WorkspaceError

__all__ = ["SESSION_CONF", "spark_session"]

#: what segmint sets on every session: times are UTC (as in DuckDB), no web UI for local runs
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
}
#: added to a session segmint starts itself (not to one the user passes)
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.extraJavaOptions": "-Dderby.system.home=/tmp",
}


def spark_session(
    master: str | None = None,
    conf: Mapping[str, Any] | None = None,
    *,
    app_name: str = "segmint",
) -> Any:
    """A SparkSession on ``master`` (``local[2]``, ``spark://host:7077``, ``yarn``; default:
    ``local[*]``), with ``conf`` on top of segmint's settings.

    An active session in this process is reused (Spark allows one per driver), with segmint's
    settings applied to it. WorkspaceError, naming what to install, when PySpark or Java is
    missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WorkspaceError(
            "The Spark engine needs PySpark, which is not installed.",
            fix="pip install 'segmint[spark]' (PySpark 4.0; Java 17 must be installed), or "
            "run on the default engine (leave out --engine spark).",
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return configure(active)
    if not _has_java():
        raise WorkspaceError(
            "The Spark engine needs Java (17 or later), but no 'java' was found on the PATH "
            "and JAVA_HOME is not set.",
            fix="install a JDK (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME.",
        )
    master = master or "local[*]"
    builder = SparkSession.builder.appName(app_name).master(master)
    # Python workers run segmint's functions (value predictions, standardizing): on a local
    # master they must be this interpreter (its packages), not the first python3 on the PATH
    # (PySpark reads PYSPARK_PYTHON when the context starts; a value the user set wins)
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in {**LOCAL_CONF, **SESSION_CONF, **dict(conf or {})}.items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def configure(session: Any) -> Any:
    """Apply segmint's session settings (UTC) to a session the user passed."""
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session


def _has_java() -> bool:
    import shutil

    home = os.environ.get("JAVA_HOME")
    return bool(
        shutil.which("java") or (home and os.path.exists(os.path.join(home, "bin", "java")))
    )
