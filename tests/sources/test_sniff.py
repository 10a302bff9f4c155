"""Content sniffing across every format: each sample is claimed by its own reader only, and a
folder of mixed formats scans in one command."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from imagehunt.sources.sniff import SOURCES, sniff
from support.cli_run import run_cli
from support.corpus import corpus_dir

SAMPLES = Path(__file__).resolve().parent / "samples"
RULE_SAMPLES = Path(__file__).resolve().parents[1] / "rules"


def sample_files() -> list[tuple[Path, str]]:
    """(file, expected format): the folder name under samples/ is the format."""
    return [
        (path, folder.name)
        for folder in sorted(SAMPLES.iterdir())
        if folder.is_dir()
        for path in sorted(folder.iterdir())
        if path.is_file()
    ]


@pytest.mark.parametrize(("path", "fmt"), sample_files(), ids=lambda v: str(v)[-40:])
def test_every_sample_is_claimed_by_its_own_format(path: Path, fmt: str) -> None:
    assert sniff(path) == (fmt, "")


@pytest.mark.parametrize("path", sorted(RULE_SAMPLES.glob("*/t[pn].ndjson"))[:6], ids=str)
def test_ecs_rule_samples_are_ecs(path: Path) -> None:
    assert sniff(path) == ("ecs", "")


def test_every_format_has_samples() -> None:
    formats = {source.FORMAT for source in SOURCES} - {"ecs", "evtx"}  # evtx: real files only
    assert formats <= {fmt for _, fmt in sample_files()}


def test_gzip_is_recognised_by_content_whatever_the_name(tmp_path: Path) -> None:
    for path, fmt in sample_files():
        target = tmp_path / f"{fmt}-{path.name}.bin"
        target.write_bytes(gzip.compress(path.read_bytes()))
        assert sniff(target) == (fmt, ""), path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\x00\x01binary\x00junk", "binary content"),
        (b'{"some": "json", "of": "no known producer"}\n', "JSON without the fields"),
        (b"just some text\nof no known format\n", "no supported format"),
    ],
)
def test_unrecognised_inputs_say_why(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(content)
    fmt, why = sniff(path)
    assert fmt is None
    assert reason in why


def test_a_folder_of_mixed_formats_scans_in_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path, fmt in sample_files():
        (tmp_path / fmt).mkdir(exist_ok=True)
        shutil.copy(path, tmp_path / fmt / path.name)
    (tmp_path / "notes.txt").write_text("not a log\n", encoding="utf-8")
    result = run_cli(["scan", str(tmp_path), "-f", "jsonl"], capsys)
    alerts = [json.loads(line) for line in result.out.splitlines()]
    formats = {ev["format"] for alert in alerts for ev in alert["evidence"]}
    # every format whose samples hold a miner or pool event is detected in the same run
    assert {"auditd", "sysmon", "zeek", "falco", "qradar", "docker", "k8s"} <= formats
    assert {"cloudtrail", "winlogbeat"} <= formats
    for alert in alerts:
        for evidence in alert["evidence"]:
            assert Path(evidence["file"]).is_file()
            assert evidence["line"] >= 1
    err = " ".join(result.err.split())  # the summary may wrap long lines
    assert "notes.txt: skipped, no supported format recognised" in err


def test_no_corpus_file_is_claimed_by_a_wrong_format() -> None:
    root = corpus_dir(".")
    expected = {
        "auditd": "auditd",
        "cloudtrail": "cloudtrail",
        "evtx": "evtx",
        "falco": "falco",
        "sysmon_linux": "sysmon",
        "zeek": "zeek",
    }
    for folder, fmt in expected.items():
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                assert sniff(path)[0] == fmt, path
    for path in sorted((root / "pcap").glob("*")):
        assert sniff(path)[0] is None, path  # packet captures are not a log format we read
