"""The whole shared corpus of real public logs in one scan: what a SOC would see.

The corpus is benign or unrelated attacks, except one mining precursor: Stratus Red Team's
"launch unusual instances" (a failed RunInstances of 10 GPU p2.xlarge instances). Nothing
else may alert at medium or above. Skips when the corpus is not beside the checkout.
"""

from __future__ import annotations

from pathlib import Path

from imagehunt.alerts.model import level_rank
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources.inputs import expand
from support.corpus import corpus_dir


def test_only_the_gpu_launch_attempt_alerts_at_medium_or_above(tmp_path: Path) -> None:
    root = corpus_dir(".")
    inputs = list(expand([str(root)], tmp_path))
    readable = [i for i in inputs if i.format is not None]
    assert len(readable) >= 40  # every log file of the corpus is recognised (pcaps are not)
    outcome = run_scan(load_pack(), inputs)
    assert not outcome.rule_errors
    problems = {Path(r.display).name: r.problems.first for r in outcome.inputs if r.problems.count}
    # the one malformed record: a hand-made parser edge case (`msg=g`, no audit stamp)
    assert problems == {
        "elastic_integrations_test-auditd-raw.log": [
            (42, "auditd record without msg=audit(EPOCH:SERIAL)")
        ]
    }
    serious = [a for a in outcome.alerts if level_rank(a.level) >= level_rank("medium")]
    assert [(a.rule.name, Path(a.evidence[0].file).name, a.level) for a in serious] == [
        ("cloud_image_launch", "aws.execution.ec2-launch-unusual-instances.json", "medium")
    ]
    for reason in ("p2.xlarge x 10", "accelerator instance family p2", "one level lower"):
        assert reason in serious[0].summary
