"""The `sigma` target: portable rules that need no imagehunt pipeline and mean the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sigma.collection import SigmaCollection

from imagehunt.backends import duckdb_target, spark_target
from imagehunt.backends.registry import TARGETS
from imagehunt.backends.targets import convert_pack
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.inputs import Input

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
SAMPLES = sorted(RULES_DIR.glob("*/t[pn].ndjson"))


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture(scope="module")
def portable(pack: RulePack) -> str:
    result = convert_pack(pack, TARGETS["sigma"], "yaml", pack.rules)
    assert not result.errors
    return result.text


def test_output_is_plain_sigma_without_placeholders(portable: str, pack: RulePack) -> None:
    docs = list(yaml.safe_load_all(portable))
    assert [d["name"] for d in docs] == [r.name for r in pack.rules]
    assert "|expand" not in portable
    assert "%pool_domains%" not in portable and "%miner_names%" not in portable
    assert "source:" not in yaml.safe_dump([d.get("logsource") for d in docs])
    collection = SigmaCollection.from_yaml(portable)  # plain pySigma, no imagehunt pipeline
    assert not [e for rule in collection for e in rule.errors]


def _alerts(pack: RulePack) -> set[tuple[str, str, int, str]]:
    outcome = run_scan(pack, [Input(p, str(p), "ecs") for p in SAMPLES])
    return {
        (a.rule.name, a.evidence[0].file, a.evidence[0].line, a.level)
        for a in outcome.alerts
        if len(a.evidence) == 1
    }


def test_portable_rules_find_what_the_pack_finds(portable: str, tmp_path: Path) -> None:
    folder = tmp_path / "portable"
    folder.mkdir()
    for number, doc in enumerate(portable.split("\n---\n")):
        (folder / f"rule_{number:02d}.yml").write_text(doc, encoding="utf-8")
    converted = load_pack([folder], include_builtin=False)
    assert not converted.errors, [str(e) for e in converted.errors]
    assert _alerts(converted) == _alerts(load_pack())


def test_changing_one_indicator_value_changes_every_target(
    pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = pack.by_ref("pool_dns")
    before = {name: t.convert(rule, pack, t.formats[0]) for name, t in TARGETS.items()}
    import imagehunt.pipelines as pipelines

    real = pipelines.placeholder_values

    def changed() -> dict[str, list[str]]:
        values = {k: list(v) for k, v in real().items()}
        values["pool_domains"] = [
            "pool.imagehunt-test.example" if v == "minexmr.com" else v
            for v in values["pool_domains"]
        ]
        return values

    monkeypatch.setattr(pipelines, "placeholder_values", changed)

    def clear() -> None:
        duckdb_target._backend.cache_clear()
        spark_target._backend.cache_clear()

    clear()
    try:
        after = {name: t.convert(rule, pack, t.formats[0]) for name, t in TARGETS.items()}
    finally:
        clear()
    for name in TARGETS:
        assert "imagehunt-test" in after[name].replace("\\", ""), name  # escaped or not
        assert after[name] != before[name], name
