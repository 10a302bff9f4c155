"""The targets `imagehunt convert` knows, by name."""

from __future__ import annotations

from imagehunt.backends import duckdb_target, sigma_target
from imagehunt.backends.targets import Target

TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name="duckdb",
            description="SQL of the local engine over a table `events` of normalized rows",
            formats=("sql",),
            convert=duckdb_target.convert,
            header=duckdb_target.header,
        ),
        Target(
            name="sigma",
            description="portable Sigma YAML with the indicator lists expanded",
            formats=("yaml",),
            convert=sigma_target.convert,
            separator="---\n",
        ),
    )
}
