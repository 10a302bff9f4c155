"""Loading the pack: shipped metadata, references by slug or UUID, selection, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagehunt.errors import UsageError
from imagehunt.rulepack import builtin_rules_dir, load_pack, rule_files

SHIPPED = rule_files(builtin_rules_dir())


def test_every_shipped_rule_loads_with_its_file_name_as_slug() -> None:
    pack = load_pack()
    assert pack.errors == []
    assert sorted(r.name for r in pack.rules) == sorted(p.stem for p in SHIPPED)
    for rule in pack.rules:
        assert rule.investigation_guide and rule.response_playbook
        assert rule.ref.branch
        assert len(rule.id) == 36


def test_pack_version_changes_with_rule_content(tmp_path: Path) -> None:
    from imagehunt.rulepack import pack_version

    a = tmp_path / "a.yml"
    a.write_text("x: 1\n")
    first = pack_version([a])
    a.write_text("x: 2\n")
    assert pack_version([a]) != first


def test_select_by_slug_or_uuid_and_exclude() -> None:
    pack = load_pack(
        select=["miner_process", "e9952f76-5186-4582-b832-dbda9307c07d"], exclude=["miner_process"]
    )
    names = {r.name for r in pack.rules if r.id in pack.selected}
    assert names == {"pool_connection"}


def test_unknown_rule_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        load_pack(select=["nope"])


def test_min_level_keeps_correlation_that_can_escalate() -> None:
    pack = load_pack(min_level="critical")
    assert {r.name for r in pack.rules if r.id in pack.selected} == {"miner_then_pool"}


def test_duplicate_ids_are_reported_not_loaded(tmp_path: Path) -> None:
    shipped = (builtin_rules_dir() / "miner_process.yml").read_text()
    (tmp_path / "copy.yml").write_text(shipped.replace("name: miner_process", "name: copy"))
    pack = load_pack([tmp_path])
    assert any("same id or name" in e.message for e in pack.errors)
    assert [r.name for r in pack.rules].count("copy") == 0


def test_multi_document_user_file_reports_the_bad_document_line(tmp_path: Path) -> None:
    good = (
        "title: good\nid: 0e4c5a4e-2222-4a2b-9c3d-000000000001\n"
        "logsource: {category: dns}\n"
        "detection: {sel: {dns.question.name: x}, condition: sel}\n"
    )
    bad = "title: bad\nlogsource: {category: dns}\ndetection: {condition: sel}\n"
    (tmp_path / "two.yml").write_text(good + "---\n" + bad)
    pack = load_pack([tmp_path], include_builtin=False)
    assert [r.name for r in pack.rules] == ["two"] or [r.ref.title for r in pack.rules] == ["good"]
    assert len(pack.errors) == 1
    assert pack.errors[0].file == str(tmp_path / "two.yml")
    assert pack.errors[0].line is not None and pack.errors[0].line >= 6


def test_correlation_with_unknown_reference_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "corr.yml").write_text(
        "title: c\nid: 0e4c5a4e-2222-4a2b-9c3d-000000000009\nname: corr\n"
        "correlation: {type: temporal_ordered, rules: [miner_process, nothing_here],"
        " group-by: [host.name], timespan: 5m}\n"
    )
    pack = load_pack([tmp_path])
    assert any("nothing_here" in e.message for e in pack.errors)
