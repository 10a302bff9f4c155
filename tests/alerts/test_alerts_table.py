"""Rich table and stderr summary."""

from __future__ import annotations

from datetime import UTC, datetime

from alert_factory import POOL
from rich.console import Console

from imagehunt.alerts.table import render_summary, render_table


def console(width=200, color_system=None, **kwargs):
    return Console(record=True, width=width, color_system=color_system, **kwargs)


def text_of(con):
    return con.export_text()


def test_table_shows_rule_names_and_evidence(alerts):
    con = console()
    render_table(alerts, con)
    out = text_of(con)
    for name in ("miner_process", "pool_connection", "pull_then_mine"):
        assert name in out
    assert "logs/a.ndjson:12" in out
    assert "logs/docker events.json:3" in out
    assert "logs/a.ndjson:40" in out
    assert "2024-05-01 12:00:03Z" in out
    assert "3 alerts" in out


def test_table_sorted_by_time_then_level_desc(alerts):
    con = console()
    render_table(alerts, con)
    out = text_of(con)
    # pool (12:00:01) first; at 12:00:03 critical before high
    assert out.index("pool_connection") < out.index("pull_then_mine") < out.index("miner_proc")


def test_table_sorts_naive_aware_and_missing_times(make_alert):
    late = make_alert(summary="late", timestamp=datetime(2024, 5, 2, tzinfo=UTC))
    naive = make_alert(summary="naive", timestamp=datetime(2024, 5, 1))
    none = make_alert(summary="no time", timestamp=None)
    con = console()
    render_table([none, late, naive], con)
    out = text_of(con)
    assert out.index("naive") < out.index("late") < out.index("no time")


def test_table_values_are_not_markup_or_terminal_codes(make_alert):
    alert = make_alert(summary="[red]boom[/red] \x1b]0;pwned\x07 :smile:", host_name="[b]h")
    con = console(force_terminal=True, color_system="standard")
    render_table([alert], con)
    raw = con.export_text(styles=False)
    assert "[red]boom[/red]" in raw
    assert "\\x1b]0;pwned\\x07" in raw
    assert ":smile:" in raw
    assert "[b]h" in raw
    assert "\x1b]0" not in raw


def test_table_level_is_coloured_on_a_terminal(make_alert):
    con = console(force_terminal=True, color_system="standard")
    render_table([make_alert()], con)
    assert "\x1b[" in con.export_text(styles=True)


def test_summary_counts_by_level_rule_and_host(alerts, make_alert):
    con = console()
    more = [*alerts, make_alert(rule=POOL, host_name="node-2", line=41)]
    render_summary(more, con)
    out = text_of(con)
    assert "4 alerts: 1 critical, 1 high, 2 medium" in out
    lines = out.splitlines()
    assert any("pool_connection" in ln and ln.rstrip().endswith("2") for ln in lines)
    assert any("miner_process" in ln and ln.rstrip().endswith("1") for ln in lines)
    assert any("node-1" in ln and ln.rstrip().endswith("2") for ln in lines)
    assert any("node-2" in ln and ln.rstrip().endswith("2") for ln in lines)


def test_summary_without_alerts():
    con = console()
    render_summary([], con)
    assert text_of(con).strip() == "No alerts."


def test_summary_lists_skipped_and_capped_problems(alerts):
    problems = [f"logs/bad.ndjson:{n}: invalid JSON" for n in range(1, 16)]
    con = console()
    render_summary(
        alerts,
        con,
        skipped={"logs/bad.ndjson": 15, "logs/ok.ndjson": 0, "logs/audit.log": 2},
        problems=problems,
    )
    out = text_of(con)
    assert "Skipped 17 unreadable records:" in out
    assert "logs/bad.ndjson: 15" in out
    assert "logs/audit.log: 2" in out
    assert "logs/ok.ndjson" not in out
    assert "Problems (15):" in out
    assert "logs/bad.ndjson:1: invalid JSON" in out
    assert "logs/bad.ndjson:10: invalid JSON" in out
    assert "logs/bad.ndjson:11: invalid JSON" not in out
    assert "… and 5 more problems" in out


def test_summary_caps_hosts(make_alert):
    many = [make_alert(host_name=f"host-{n:02d}", line=n) for n in range(13)]
    con = console()
    render_summary(many, con, limit=10)
    out = text_of(con)
    assert "host-09" in out
    assert "host-10" not in out
    assert "… and 3 more" in out
