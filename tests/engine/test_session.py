"""The DuckDB session: offline, order-preserving, silent on stdout, with the IP macros."""

from __future__ import annotations

import subprocess
import sys

from imagehunt.engine.session import connect


def test_settings_that_results_rely_on() -> None:
    con = connect()
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ("
            "'enable_progress_bar', 'enable_progress_bar_print', 'autoinstall_known_extensions', "
            "'autoload_known_extensions', 'preserve_insertion_order')"
        ).fetchall()
    )
    assert settings == {
        "enable_progress_bar": "false",
        "enable_progress_bar_print": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "preserve_insertion_order": "true",
    }
    assert con.execute("SELECT ih_ip4('10.1.2.3'), ih_ip6('::1')").fetchone() == (
        167838211,
        "0" * 31 + "1",
    )


def test_a_long_query_prints_nothing_on_stdout() -> None:
    """DuckDB's progress bar (on by default) would corrupt the alert stream on stdout."""
    code = (
        "from imagehunt.engine.session import connect\n"
        "con = connect()\n"
        "con.execute('SET progress_bar_time = 0')\n"  # would show the bar at once
        "con.execute('SELECT count(*) FROM range(100000000) t(i) WHERE i % 7 = 3').fetchall()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
