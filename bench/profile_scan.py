"""Where does `imagehunt scan` spend its time? A breakdown over one benchmark corpus.

Runs the same pipeline as the CLI (``load_pack`` -> ``run_scan``) in this process and reports:

1. start-up: importing the CLI in a fresh interpreter, loading the pack, compiling the rules;
2. the scan under cProfile (the imagehunt functions that take the time, DuckDB included in
   the callers' totals) and DuckDB's own per-operator profile of every query over 0.5 s;
3. each detection rule alone (``load_pack(select=[rule])``), against a cheap one-rule run;
4. with the one-pass engine of commit acb12f1 and earlier (``count_lines_if_regular`` and
   ``ecs.fast_raw_sql`` present), two what-ifs: image_typosquat's argv regex applied once to
   the joined argv instead of inside a ``list_transform`` lambda, and that query without
   ``row_number()`` (parallel, but not exact: DuckDB's parallel JSON scan does not keep row
   order, so it only bounds what parallelism could give).

    .venv/bin/python bench/profile_scan.py bench/out/ecs_1000000_s1204.ndjson
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"
SLOW_QUERY_S = 0.5


def record(label: str, results: dict[str, float], seconds: float) -> None:
    """Store and print one measurement."""
    results[label] = round(seconds, 3)
    print(f"  {label:60s} {seconds:8.2f} s", flush=True)


def timed(label: str, results: dict[str, float], func: Callable[..., Any], *args: Any) -> Any:
    """Call ``func(*args)``, record and print its wall time under ``label``."""
    started = time.perf_counter()
    value = func(*args)
    record(label, results, time.perf_counter() - started)
    return value


def import_seconds() -> float:
    """Wall time of importing the CLI in a fresh interpreter (what every scan pays)."""
    code = "import time; t = time.perf_counter(); import imagehunt.cli.main; "
    code += "print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def summarize_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Seconds per operator type, CPU time and the first words of the SQL of one query."""
    by_type: dict[str, float] = {}

    def walk(node: dict[str, Any]) -> None:
        kind = str(node.get("type", "?"))
        by_type[kind] = by_type.get(kind, 0.0) + float(node.get("timing", 0.0))
        for child in node.get("children", []):
            walk(child)

    for node in profile.get("operator", []):
        walk(node)
    query = profile.get("query", {})
    return {
        "total_s": round(float(query.get("total_time", 0.0)), 3),
        "cpu_s": round(float(query.get("cpu_time", 0.0)), 3),
        "sql_head": str(query.get("sql", ""))[:80],
        "operators_s": {k: round(v, 3) for k, v in sorted(by_type.items(), key=lambda i: -i[1])},
    }


@contextmanager
def duckdb_profiles(sink: list[dict[str, Any]]) -> Iterator[None]:
    """Profile every query on connections made by imagehunt.engine.session.connect."""
    from imagehunt.engine import detect, session

    folder = Path(tempfile.mkdtemp(prefix="ih-prof-"))
    original = session.connect
    wrapped: list[Any] = []

    class Profiled:
        """A connection proxy that saves DuckDB's JSON profile after each execute."""

        def __init__(self, con: Any) -> None:
            self._con = con
            con.execute("PRAGMA enable_profiling='json'")

        def execute(self, sql: str, *args: Any) -> Any:
            # one file per query, written by DuckDB when the query's result is consumed
            target = folder / f"q{time.monotonic_ns()}.json"
            self._con.execute(f"PRAGMA profiling_output='{target}'")
            return self._con.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    def connect(*args: Any, **kwargs: Any) -> Any:
        proxy = Profiled(original(*args, **kwargs))
        wrapped.append(proxy)
        return proxy

    detect.connect = connect  # type: ignore[attr-defined]
    try:
        yield
    finally:
        detect.connect = original  # type: ignore[attr-defined]
        for path in sorted(folder.iterdir()):
            summary = summarize_profile(json.loads(path.read_text(encoding="utf-8")))
            if summary["total_s"] >= SLOW_QUERY_S:
                sink.append(summary)
            path.unlink()
        folder.rmdir()


def scan_once(corpus: Path, select: tuple[str, ...] = ()) -> int:
    """Run the CLI's pipeline over ``corpus``; number of alerts."""
    from imagehunt.engine.detect import run_scan
    from imagehunt.rulepack import load_pack
    from imagehunt.sources.inputs import expand

    pack = load_pack(select=select)
    with tempfile.TemporaryDirectory() as spool:
        inputs = list(expand([str(corpus)], Path(spool)))
        return len(run_scan(pack, inputs).alerts)


def old_engine_what_ifs(corpus: Path, times: dict[str, float]) -> None:
    """The typosquat and row_number what-ifs, on the one-pass engine of acb12f1."""
    from imagehunt.engine import scan as scan_module
    from imagehunt.engine.compile import CompiledRule, compile_rules, rules_to_run
    from imagehunt.engine.session import connect
    from imagehunt.rulepack import load_pack
    from imagehunt.sources import ecs as ecs_module

    scan: Any = scan_module  # this API exists only in older engines: no static checks
    ecs: Any = ecs_module
    if not (hasattr(scan, "count_lines_if_regular") and hasattr(ecs, "fast_raw_sql")):
        print("  (skipped: this engine no longer has the one-pass fast path)")
        return
    con = connect()
    compiled, _errors = compile_rules(rules_to_run(load_pack())[0], con)
    lam = re.compile(
        r"coalesce\(list_bool_or\(list_transform\(\"process\.args\", lambda x: "
        r"regexp_matches\(x, '\(\?i\)\^((?:[^']|'')*)\$'\)\)\), false\)"
    )

    def scalar(sql: str) -> str:
        found = lam.search(sql)
        if found is None:
            return sql
        joined = 'chr(31) || array_to_string("process.args", chr(31)) || chr(31)'
        new = f"coalesce(regexp_matches({joined}, '(?i)\\x1f{found.group(1)}\\x1f'), false)"
        return sql.replace(found.group(0), new)

    def relation(row_number: bool) -> str:
        raw = ecs.fast_raw_sql(corpus)
        if not row_number:
            raw = raw.replace("row_number() OVER ()", "CAST(0 AS BIGINT)")
        return (
            "SELECT 'f' AS _file, raw._line AS _line, 'ecs' AS _format, "
            f"({ecs.all_null_sql()}) AS _empty,\n  {ecs.projection_sql()}\nFROM ({raw}) AS raw"
        )

    def run(rules: list[Any], row_number: bool = True) -> int:
        query = scan.PackQuery(rules, scan.TimeWindow())
        sql = query.over(relation(row_number), empty_flag=True)
        return len(con.execute(sql).fetchall())

    timed("count_lines_if_regular()", times, scan.count_lines_if_regular, corpus)
    fixed = [
        CompiledRule(c.rule, scalar(c.sql)) if c.rule.name == "image_typosquat" else c
        for c in compiled
    ]
    rows = timed("pack query as shipped", times, run, compiled)
    if timed("pack query, typosquat regex on the joined argv", times, run, fixed) != rows:
        raise SystemExit("the typosquat rewrite changed the matches")
    timed("same, without row_number (not exact)", times, run, fixed, False)
    timed("pack query as shipped, without row_number (not exact)", times, run, compiled, False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--skip-rules", action="store_true", help="skip the per-rule runs")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus.resolve()
    times: dict[str, float] = {}
    queries: list[dict[str, Any]] = []
    import imagehunt

    report: dict[str, Any] = {
        "corpus": corpus.name,
        "imagehunt": str(Path(imagehunt.__file__).parent),
        "seconds": times,
        "slow_queries": queries,
    }

    print("start-up", flush=True)
    record("import imagehunt.cli.main (fresh interpreter)", times, import_seconds())
    from imagehunt.engine.compile import compile_rules, rules_to_run
    from imagehunt.engine.session import connect
    from imagehunt.rulepack import load_pack

    pack = timed("load_pack()", times, load_pack)
    detections = rules_to_run(pack)[0]
    timed("compile_rules() (pySigma + SQL check)", times, compile_rules, detections, connect())

    print("whole scan (run_scan), cProfile", flush=True)
    profiler = cProfile.Profile()
    with duckdb_profiles(queries):
        profiler.enable()
        alerts = timed("run_scan() total", times, scan_once, corpus)
        profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (file, _line, func), (_cc, _nc, _tt, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "imagehunt" in file and cum >= 0.05:
            rows.append((cum, f"{Path(file).parent.name}/{Path(file).name}:{func}"))
    for cum, name in sorted(rows, reverse=True)[:14]:
        record(f"  cumulative {name}", times, cum)
    print(f"  alerts: {alerts}; DuckDB queries over {SLOW_QUERY_S} s:")
    for query in queries:
        ops = ", ".join(f"{k} {v:.2f}" for k, v in list(query["operators_s"].items())[:5])
        print(f"    {query['total_s']:.2f} s (CPU {query['cpu_s']:.2f} s): {ops}")
        print(f"      {query['sql_head']}")

    if not args.skip_rules:
        print("each detection rule alone (load_pack(select=[rule]))", flush=True)
        for rule in detections:
            timed(f"rule {rule.name}", times, scan_once, corpus, (rule.name,))

    print("what-ifs on the one-pass engine", flush=True)
    old_engine_what_ifs(corpus, times)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    target = OUT_DIR / f"profile_{corpus.stem}.json"
    history: list[Any] = []
    if target.exists():
        history = json.loads(target.read_text(encoding="utf-8"))
        history = history if isinstance(history, list) else [history]
    history.append(report)
    target.write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")
    print(f"written {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
