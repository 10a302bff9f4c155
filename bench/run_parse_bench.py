"""Benchmark one source reader: generate a seeded log of a format, time ``read()`` over it.

The reader runs in a fresh child process (imports excluded from the timing); the child
reports raw records (lines) per second, normalized events per second and its peak RSS.
Other formats are added by writing a generator and listing it in ``GENERATORS``.

    .venv/bin/python bench/run_parse_bench.py --format auditd --records 200000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT_DIR = BENCH / "out"

# Runs in the child: times read() only, reports counts and peak RSS (KiB on Linux).
CHILD = """
import json, resource, sys, time
from pathlib import Path
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import source_for
path, fmt = Path(sys.argv[1]), sys.argv[2]
reader = source_for(fmt).read
problems = ReadProblems()
started, cpu_started = time.perf_counter(), time.process_time()
events = sum(batch.num_rows for batch in reader(path, str(path), problems))
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = {"events": events, "seconds": seconds, "cpu": cpu, "problems": problems.count,
          "rss_kib": rss}
print(json.dumps(report))
"""

# ---- auditd -----------------------------------------------------------------------------------

_PROGRAMS = (
    ("/usr/bin/bash", ["bash", "-c", "echo hello world"]),
    ("/usr/bin/curl", ["curl", "-fsSL", "https://example.com/install.sh"]),
    ("/usr/bin/ls", ["ls", "-la", "/var/log"]),
    ("/usr/bin/grep", ["grep", "-v", "^#", "/etc/hosts"]),
    ("/usr/bin/python3.11", ["python3", "-m", "http.server", "8080"]),
    ("/tmp/.x/xmrig", ["xmrig", "-o", "pool.supportxmr.com:3333", "--donate-level", "1"]),
    ("/usr/sbin/sshd", ["sshd", "-D"]),
)


def _quoted_or_hex(text: str) -> str:
    if any(c in text for c in ' "') or any(ord(c) < 0x21 or ord(c) > 0x7E for c in text):
        return text.encode().hex().upper()
    return f'"{text}"'


def _syscall(rng: random.Random, stamp: str, number: int, exe: str, pid: int) -> str:
    comm = exe.rpartition("/")[2][:15]
    return (
        f"type=SYSCALL msg=audit({stamp}): arch=c000003e syscall={number} success=yes exit=0 "
        f"a0=55d1c2e0 a1=55d1c2f0 a2=55d1c300 a3=8 items=2 ppid={pid - rng.randint(1, 50)} "
        f"pid={pid} auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 "
        f'sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="{comm}" exe="{exe}" key=(null)'
    )


def _auditd_event(rng: random.Random, serial: int, clock: float) -> list[str]:
    stamp = f"{clock:.3f}:{serial}"
    pid = rng.randint(1000, 400000)
    exe, args = rng.choice(_PROGRAMS)
    kind = rng.random()
    records: list[str] = []
    title = "".join(a + "\0" for a in args).encode().hex().upper()[:256]
    if kind < 0.4:
        records.append(_syscall(rng, stamp, 59, exe, pid))
        if rng.random() < 0.05:
            big = "A" * 300
            parts = f'a0={_quoted_or_hex(args[0])} a1_len={len(big)} a1[0]="{big[:150]}"'
            records.append(f'type=EXECVE msg=audit({stamp}): argc=2 {parts} a1[1]="{big[150:]}"')
        else:
            encoded = " ".join(f"a{i}={_quoted_or_hex(a)}" for i, a in enumerate(args))
            records.append(f"type=EXECVE msg=audit({stamp}): argc={len(args)} {encoded}")
        records.append(f'type=CWD msg=audit({stamp}): cwd="/home/user"')
        for item, name in enumerate((exe, "/lib64/ld-linux-x86-64.so.2")):
            records.append(
                f'type=PATH msg=audit({stamp}): item={item} name="{name}" inode=1234 '
                "dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL "
                "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
            )
        records.append(f"type=PROCTITLE msg=audit({stamp}): proctitle={title}")
    elif kind < 0.55:
        records.append(_syscall(rng, stamp, 42, exe, pid))
        port = rng.choice((443, 3333, 53, 80))
        address = f"0200{port:04X}{rng.randint(1, 0xFFFFFFFF):08X}0000000000000000"
        records.append(f"type=SOCKADDR msg=audit({stamp}): saddr={address}")
        records.append(f"type=PROCTITLE msg=audit({stamp}): proctitle={title}")
    elif kind < 0.9:
        records.append(_syscall(rng, stamp, 257, exe, pid))
        records.append(f'type=CWD msg=audit({stamp}): cwd="/"')
        records.append(
            f'type=PATH msg=audit({stamp}): item=0 name="/etc/passwd" inode=99 dev=08:01 '
            "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0"
        )
        records.append(f"type=PROCTITLE msg=audit({stamp}): proctitle={title}")
    else:
        records.append(
            f"type=USER_ACCT msg=audit({stamp}): pid={pid} uid=0 auid=1000 ses=3 "
            'msg=\'op=PAM:accounting grantors=pam_permit acct="root" exe="/usr/bin/sudo" '
            "hostname=? addr=? terminal=/dev/pts/0 res=success'"
        )
        return records
    if rng.random() < 0.5:
        records.append(f"type=EOE msg=audit({stamp}): ")
    return records


def generate_auditd(records: int, seed: int) -> Iterator[str]:
    """Realistic audit.log lines: execve, connect, openat and user events, some interleaved."""
    rng = random.Random(seed)
    serial, clock, written = 1000, 1_763_800_000.0, 0
    held: list[str] = []
    while written < records:
        serial += 1
        clock += rng.random() / 100
        event = _auditd_event(rng, serial, clock)
        if held:  # interleave the previous held event with this one
            merged = []
            while held or event:
                source = held if held and (not event or rng.random() < 0.5) else event
                merged.append(source.pop(0))
            event, held = merged, []
        elif rng.random() < 0.1:
            held = event
            continue
        for line in event:
            yield line
            written += 1
    yield from held


# ---- CloudTrail -------------------------------------------------------------------------------

_CALLS = (
    ("ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "logs-archive", "key": "2026/11/20/a.gz"}),
    ("sts.amazonaws.com", "AssumeRole", {"roleArn": "arn:aws:iam::111122223333:role/ci"}),
    ("iam.amazonaws.com", "ListRoles", {"maxItems": 100}),
    ("ec2.amazonaws.com", "RunInstances", None),
)


def _cloudtrail_record(rng: random.Random, number: int) -> dict[str, object]:
    source, name, params = rng.choice(_CALLS)
    if params is None:
        params = {
            "instancesSet": {"items": [{"imageId": f"ami-{rng.getrandbits(64):016x}"}]},
            "instanceType": rng.choice(("t3.micro", "m5.large", "p3.2xlarge")),
            "minCount": 1,
            "maxCount": rng.choice((1, 1, 2, 20)),
        }
    record: dict[str, object] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:session",
            "arn": "arn:aws:sts::111122223333:assumed-role/ci/session",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLEEXAMPLE12",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ci"}},
        },
        "eventTime": f"2026-11-20T10:{number // 60 % 60:02d}:{number % 60:02d}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": rng.choice(("us-east-1", "eu-west-1")),
        "sourceIPAddress": f"198.51.100.{rng.randint(1, 254)}",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1",
        "requestParameters": params,
        "responseElements": None,
        "requestID": f"{rng.getrandbits(128):032x}",
        "eventID": f"{rng.getrandbits(128):032x}",
        "readOnly": name.startswith(("Describe", "Get", "List")),
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    if rng.random() < 0.05:
        record["errorCode"] = "Client.UnauthorizedOperation"
    return record


def generate_cloudtrail_ndjson(records: int, seed: int) -> Iterator[str]:
    """One CloudTrail record per line (Firehose / Logstash style)."""
    rng = random.Random(seed)
    for number in range(records):
        yield json.dumps(_cloudtrail_record(rng, number), separators=(",", ":"))


def generate_cloudtrail_s3(records: int, seed: int) -> Iterator[str]:
    """A pretty-printed ``{"Records": [...]}`` document, as CloudTrail writes to S3."""
    rng = random.Random(seed)
    yield '{"Records": ['
    for number in range(records):
        text = json.dumps(_cloudtrail_record(rng, number), indent=2)
        yield text + ("," if number < records - 1 else "")
    yield "]}"


# name -> (file suffix, reader format, generator)
GENERATORS: dict[str, tuple[str, str, Callable[[int, int], Iterator[str]]]] = {
    "auditd": ("log", "auditd", generate_auditd),
    "cloudtrail-ndjson": ("ndjson", "cloudtrail", generate_cloudtrail_ndjson),
    "cloudtrail-s3": ("json", "cloudtrail", generate_cloudtrail_s3),
}


def write_corpus(fmt: str, records: int, seed: int) -> Path:
    """Generate (or reuse) the seeded file for ``fmt``."""
    suffix, _reader, generator = GENERATORS[fmt]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"parse_{fmt}_{records}_{seed}.{suffix}"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for line in generator(records, seed):
                out.write(line + "\n")
        tmp.rename(path)
    return path


def measure(path: Path, fmt: str) -> dict[str, float]:
    """Run the reader over ``path`` in a fresh process; its JSON report."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), fmt], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def main() -> None:
    """Parse arguments, generate, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=sorted(GENERATORS), default="auditd")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    path = write_corpus(options.format, options.records, options.seed)
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    reader = GENERATORS[options.format][1]
    runs = [measure(path, reader) for _ in range(options.repeats)]
    if reader != "auditd":
        lines = int(runs[0]["events"])  # a record spans many lines: count records, not lines
    best = min(runs, key=lambda r: r["seconds"])
    print(f"format      {options.format}")
    print(f"file        {path} ({path.stat().st_size / 1e6:.1f} MB, {lines} records)")
    print(f"events      {int(best['events'])} rows, {int(best['problems'])} problems")
    cpu = min(r["cpu"] for r in runs)
    print(f"seconds     best {best['seconds']:.3f} of {[round(r['seconds'], 3) for r in runs]}")
    print(f"cpu seconds best {cpu:.3f} (wall time suffers when other processes share the cores)")
    print(f"records/s   {lines / best['seconds']:,.0f} wall, {lines / cpu:,.0f} cpu")
    print(
        f"events/s    {best['events'] / best['seconds']:,.0f} wall, {best['events'] / cpu:,.0f} cpu"
    )
    print(f"peak RSS    {max(r['rss_kib'] for r in runs) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
