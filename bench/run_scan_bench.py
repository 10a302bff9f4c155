"""Benchmark `imagehunt scan` against a plain DuckDB read_ndjson floor, and check its alerts.

One run: generate (or reuse) a seeded corpus in bench/out/, then time, interleaved and
``--repeats`` times each, in fresh child processes:

  scan     imagehunt scan FILE -f jsonl -o OUT -q        (the whole shipped pack)
  floor    read_ndjson(FILE, columns=<schema columns>, records=true) + a 4-predicate filter
  startup  imagehunt scan of a 10-line file

Wall time is measured around the child; peak RSS comes from the child's own rusage
(``os.wait4``), so each command's figure is its own. Medians are reported. Every scan's alerts
must equal the corpus truth (each planted line fires exactly its rules; nothing else fires) and
an extra un-quiet scan must report the whole shipped pack; otherwise the exit status is 1.

    .venv/bin/python bench/run_scan_bench.py --events 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, NoReturn

BENCH = Path(__file__).resolve().parent
OUT_DIR = BENCH / "out"
GENERATOR = BENCH / "gen_ecs_corpus.py"
SUMMARY_RE = re.compile(r"(\d+) events from (\d+) input\(s\), (\d+) rules run")
FLOOR_NAMES = ("xmrig", "minerd")
FLOOR_PORTS = ("3333", "14444")

# Runs in the floor's child process: only duckdb is imported there.
FLOOR_CHILD = """
import json, sys, time
import duckdb
sql = open(sys.argv[1], encoding="utf-8").read()
con = duckdb.connect(":memory:")
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
rows = con.execute(sql).fetchone()[0]
print(json.dumps({"rows": rows, "query_s": time.perf_counter() - started}))
"""


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    name: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def measure(name: str, argv: list[str]) -> Run:
    """Run ``argv`` in a fresh child; wall time, CPU time and peak RSS of that child only."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            name=name,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def imagehunt_cmd() -> str:
    """The imagehunt console script next to this interpreter, else on PATH."""
    local = Path(sys.executable).parent / "imagehunt"
    found = str(local) if local.exists() else shutil.which("imagehunt")
    if not found:
        sys.exit("imagehunt is not installed: run `make` or `pip install -e .` first")
    return found


def shipped_rule_files() -> list[str]:
    """Names of the shipped rule files (src/imagehunt/rules/*.yml)."""
    folder = Path(str(files("imagehunt") / "rules"))
    return sorted(p.name for p in folder.glob("*.yml"))


def ensure_corpus(path: Path, events: int, seed: int, rate: float, blank: bool) -> dict[str, Any]:
    """Generate the corpus unless it and its truth already exist; return the truth."""
    truth = path.with_name(path.name + ".truth.json")
    if not (path.exists() and truth.exists()):
        argv = [sys.executable, str(GENERATOR), "--events", str(events), "--out", str(path)]
        argv += ["--seed", str(seed), "--malicious-rate", str(rate)]
        argv += ["--blank-lines"] if blank else []
        subprocess.run(argv, check=True)
    manifest: dict[str, Any] = json.loads(truth.read_text(encoding="utf-8"))
    wanted = (events, seed, rate, blank)
    found = (manifest["events"], manifest["seed"], manifest["malicious_rate"])
    if (*found, manifest["blank_lines"]) != wanted:
        sys.exit(f"{truth} was made with other options; delete the corpus to regenerate")
    return manifest


def floor_sql(path: Path) -> str:
    """The floor: explicit-column read_ndjson with the fast path's options, 4 predicates."""
    from imagehunt.sources.ecs import MAX_LINE_BYTES, read_ndjson_columns

    name = 'coalesce("process"."name", "process.name")'
    port = 'coalesce("destination"."port", "destination.port")'
    preds = [f"{name} = '{n}'" for n in FLOOR_NAMES] + [f"{port} = '{p}'" for p in FLOOR_PORTS]
    escaped = str(path).replace("'", "''")
    return (
        f"SELECT count(*) FROM read_ndjson('{escaped}', columns={read_ndjson_columns()}, "
        "records=true, ignore_errors=true, format='newline_delimited', "
        f"maximum_object_size={MAX_LINE_BYTES}) WHERE " + " OR ".join(preds)
    )


def check_alerts(alerts_file: Path, manifest: dict[str, Any]) -> list[str]:
    """Differences between the alerts written and the truth (empty when they are equal)."""
    want: dict[int, set[str]] = {p["line"]: set(p["rules"]) for p in manifest["planted"]}
    ids = {p["line"]: p["event_id"] for p in manifest["planted"]}
    got: dict[int, set[str]] = defaultdict(set)
    problems: list[str] = []
    with alerts_file.open(encoding="utf-8") as handle:
        for raw in handle:
            alert = json.loads(raw)
            for ev in alert["evidence"]:
                got[ev["line"]].add(alert["rule"]["name"])
                if ev["line"] in ids and ev.get("event_id") != ids[ev["line"]]:
                    problems.append(f"line {ev['line']}: event_id {ev.get('event_id')!r}")
    for line, rules in sorted(want.items()):
        fired = got.get(line, set())
        if fired != rules:
            problems.append(
                f"line {line} ({ids[line]}): missing {sorted(rules - fired)}, "
                f"unexpected {sorted(fired - rules)}"
            )
    for line in sorted(set(got) - set(want)):
        problems.append(f"line {line} is not planted but fired {sorted(got[line])}")
    return problems


def code_version() -> dict[str, str]:
    """Which imagehunt code ran: its path, a hash of its sources, and the repo's HEAD."""
    import hashlib

    import imagehunt

    pkg = Path(imagehunt.__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(pkg.rglob("*")):
        if path.suffix in (".py", ".yml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(pkg)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(
        ["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {"imagehunt_path": str(pkg), "sources_sha1": digest.hexdigest()[:12], "git_head": head}


def machine() -> dict[str, Any]:
    """nproc, RAM, CPU model, Python and DuckDB versions."""
    import duckdb

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        mem_kb = int(handle.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def summarize(runs: list[Run], events: int, size_mb: float) -> dict[str, Any]:
    """Median wall time and derived rates over repeated runs."""
    wall = statistics.median(r.wall_s for r in runs)
    return {
        "median_s": round(wall, 3),
        "runs_s": [round(r.wall_s, 3) for r in runs],
        "cpu_s": round(statistics.median(r.cpu_s for r in runs), 3),
        "events_per_s": round(events / wall),
        "mb_per_s": round(size_mb / wall, 1),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1),
    }


def fail(message: str) -> NoReturn:
    """Stop the benchmark with a message and exit status 1."""
    print(f"BENCHMARK FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1204)
    parser.add_argument("--malicious-rate", type=float, default=0.0001)
    parser.add_argument("--blank-lines", action="store_true", help="corpus with blank lines")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=OUT_DIR / "scan_bench_results.json")
    parser.add_argument("--cleanup", action="store_true", help="delete the corpus afterwards")
    parser.add_argument("--label", default="", help="free text stored with the results")
    args = parser.parse_args(argv)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "_blank" if args.blank_lines else ""
    corpus = OUT_DIR / f"ecs_{args.events}_s{args.seed}{suffix}.ndjson"
    manifest = ensure_corpus(corpus, args.events, args.seed, args.malicious_rate, args.blank_lines)
    small = OUT_DIR / "startup_10.ndjson"
    ensure_corpus(small, 10, args.seed, 0.0, False)
    size_mb = corpus.stat().st_size / 1e6
    ih = imagehunt_cmd()
    sql_file = OUT_DIR / f"floor_{corpus.stem}.sql"
    sql_file.write_text(floor_sql(corpus), encoding="utf-8")
    alerts = OUT_DIR / f"alerts_{corpus.stem}.jsonl"
    startup_out = OUT_DIR / "alerts_startup_10.jsonl"

    # Un-quiet scan (also warms the page cache): the summary must show the whole pack.
    rule_files = shipped_rule_files()
    first = measure("scan-summary", [ih, "scan", str(corpus), "-f", "jsonl", "-o", str(alerts)])
    found = SUMMARY_RE.search(first.stderr)
    if first.returncode != 0 or not found:
        fail(f"scan exited {first.returncode}:\n{first.stderr[-2000:]}")
    events_read, rules_run = int(found.group(1)), int(found.group(3))
    if rules_run != len(rule_files):
        fail(f"{rules_run} rules run, but {len(rule_files)} rule files ship: {rule_files}")
    if events_read != args.events:
        fail(f"scan read {events_read} events, corpus has {args.events}")
    if problems := check_alerts(alerts, manifest):
        fail("alerts differ from the truth:\n  " + "\n  ".join(problems[:30]))

    commands = {
        "scan": [ih, "scan", str(corpus), "-f", "jsonl", "-o", str(alerts), "-q"],
        "floor": [sys.executable, "-c", FLOOR_CHILD, str(sql_file)],
        "startup": [ih, "scan", str(small), "-f", "jsonl", "-o", str(startup_out), "-q"],
    }
    load_before = os.getloadavg()
    version = code_version()
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    order = list(commands)
    for repeat in range(args.repeats):
        for name in order[repeat % len(order) :] + order[: repeat % len(order)]:
            if name == "scan":
                alerts.unlink(missing_ok=True)  # a scan that writes nothing must not pass
            run = measure(name, commands[name])
            if run.returncode != 0:
                fail(f"{name} exited {run.returncode}:\n{run.stderr[-2000:]}")
            if name == "scan" and (problems := check_alerts(alerts, manifest)):
                fail("alerts differ from the truth:\n  " + "\n  ".join(problems[:30]))
            runs[name].append(run)
            print(f"  {name:8s} run {repeat + 1}: {run.wall_s:7.2f} s", file=sys.stderr)

    floor_out = [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs["floor"]]
    scan = summarize(runs["scan"], args.events, size_mb)
    floor = summarize(runs["floor"], args.events, size_mb)
    floor["query_s"] = round(statistics.median(f["query_s"] for f in floor_out), 3)
    floor["rows"] = floor_out[0]["rows"]
    startup = summarize(runs["startup"], 10, 0.0)
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "label": args.label,
        "code": version,
        "machine": machine(),
        "corpus": corpus.name,
        "events": args.events,
        "lines": manifest["lines"],
        "file_mb": round(size_mb, 1),
        "blank_lines": args.blank_lines,
        "planted": len(manifest["planted"]),
        "rules_run": rules_run,
        "rule_files": len(rule_files),
        "alerts_match_truth": True,
        "load_avg_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "summary_run_s": round(first.wall_s, 3),
        "repeats": args.repeats,
        "scan": scan,
        "floor": floor,
        "startup": {k: startup[k] for k in ("median_s", "runs_s", "peak_rss_mb")},
        "ratio_scan_to_floor": round(scan["median_s"] / floor["median_s"], 2),
        "commands": {
            k: " ".join(v) if k != "floor" else "python -c FLOOR_CHILD " + str(sql_file)
            for k, v in commands.items()
        },
    }
    if code_version() != version:
        fail(f"imagehunt's sources changed during the run ({version['imagehunt_path']})")
    history: list[Any] = []
    if args.results.exists():
        history = json.loads(args.results.read_text(encoding="utf-8"))
    history.append(result)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")

    print(
        f"\n{args.events:,} events, {size_mb:.1f} MB, {rules_run} rules, "
        f"{len(manifest['planted'])} planted events: alerts match the truth"
    )
    header = ("median s", "events/s", "MB/s", "peak RSS MB", "CPU s")
    print(
        f"{'':8s} {header[0]:>9s} {header[1]:>11s} {header[2]:>7s} {header[3]:>12s} {header[4]:>7s}"
    )
    for name, row in (("scan", scan), ("floor", floor)):
        print(
            f"{name:8s} {row['median_s']:9.2f} {row['events_per_s']:11,d} "
            f"{row['mb_per_s']:7.1f} {row['peak_rss_mb']:12.1f} {row['cpu_s']:7.2f}"
        )
    print(
        f"startup  {startup['median_s']:9.2f} s (10-line file), peak RSS "
        f"{startup['peak_rss_mb']:.1f} MB"
    )
    print(f"ratio scan/floor: {result['ratio_scan_to_floor']:.2f}  (results: {args.results})")
    if args.cleanup:
        for path in (corpus, corpus.with_name(corpus.name + ".truth.json"), alerts, sql_file):
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
