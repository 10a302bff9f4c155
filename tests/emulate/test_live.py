"""Live: each test performed for real (harmlessly) gives the same matrix row as its emulation.

Runs only with IMAGEHUNT_LIVE_TESTS=1 as root on Linux with auditd (`.ci/run` sets it and
installs auditd); skips with the reason otherwise.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from imagehunt.cli.live import live_rules
from imagehunt.emulate import live
from imagehunt.emulate.tests import get_test
from imagehunt.rulepack import load_pack
from imagehunt.validate.matrix import run_cell
from support.live_auditd import require_live_host


@pytest.mark.parametrize("test", live.LIVE_TESTS)
def test_live_capture_gives_the_generated_auditd_row(test: int, tmp_path: Path) -> None:
    require_live_host()
    log = tmp_path / "live.log"
    capture = live.perform(test, log)
    fired = {rule for rule, _, _ in live_rules(capture.log)}
    expected = set(get_test(test).expected_rules["auditd"])
    assert expected <= fired, log.read_text()[:3000]
    generated = run_cell(get_test(test), "auditd", 0, tmp_path, load_pack())
    if capture.public_addresses or test != 2:
        assert fired == set(generated.fired_rules)


def test_live_cleans_up_user_rules_and_files(tmp_path: Path) -> None:
    require_live_host()
    before = subprocess.run(["auditctl", "-l"], capture_output=True, text=True).stdout
    with live.live_audit() as session:
        user, workdir = session.user, session.workdir
        session.add_network([("51.15.69.136", 3333)])
        netns = session.netns
        assert live.KEY in subprocess.run(["auditctl", "-l"], capture_output=True, text=True).stdout
    after = subprocess.run(["auditctl", "-l"], capture_output=True, text=True).stdout
    assert after == before
    assert not workdir.exists()
    assert subprocess.run(["id", user], capture_output=True).returncode != 0
    if netns:
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert netns not in listed


def test_live_refuses_a_cloud_test() -> None:
    with pytest.raises(live.UsageError, match="no live form"):
        live.perform(4, Path("/nonexistent"))
