"""The seed baselines' data: every listed value is the seed query's own, clause by clause."""

from __future__ import annotations

import re

from imagehunt.validate.seed_data import elastic_seed, qradar_seed


def _clause(query: str, start: str, end: str) -> str:
    """The text of ``query`` from the first ``start`` to the next ``end`` after it."""
    begin = query.index(start)
    return query[begin : query.index(end, begin + len(start))]


def _strings(text: str, quote: str) -> list[str]:
    return re.findall(f"{quote}([^{quote}]*){quote}", text)


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def test_aql_where_lists_are_the_query_text() -> None:
    seed = qradar_seed()
    where = seed.query[seed.query.index("WHERE") :]
    names = _clause(where, '"Process Name" ILIKE ANY', ")")
    assert tuple(_strings(names, "'")) == seed.process_names
    assert tuple(_strings(_clause(where, '"Command" ILIKE ANY', ")"), "'")) == seed.commands
    assert tuple(_numbers(_clause(where, "destinationport IN", ")"))) == seed.pool_ports
    private = _clause(where, "AND NOT (destinationip", "\n")
    assert tuple(_strings(private, "'")) == seed.private_ip_prefixes
    browsers = _clause(where, '"Process Name" NOT ILIKE ANY', ")")
    assert tuple(_strings(browsers, "'")) == seed.browser_names
    assert f"ILIKE '{seed.runinstances_qidname}'" in where
    assert f"LOGSOURCETYPEID(logsourceid) = {seed.runinstances_type}" in where
    listed = _clause(where, "LOGSOURCETYPEID(logsourceid) IN", ")")
    assert tuple(_numbers(listed)) == seed.listed_types


def test_aql_case_lists_and_order_are_the_query_text() -> None:
    seed = qradar_seed()
    case = _clause(seed.query, "CASE", "END AS DetectionBranch")
    whens = [line.strip() for line in case.splitlines() if line.strip().startswith("WHEN")]
    assert [re.findall(r"THEN '(\w+)'", w)[0] for w in whens] == [c.label for c in seed.case]
    for when, line in zip(seed.case, whens, strict=True):
        values = _strings(line.split(" THEN ")[0], "'")
        if when.patterns:
            assert tuple(values) == when.patterns
        if when.ports:
            assert tuple(_numbers(line.split(" THEN ")[0])) == when.ports
    assert f"ELSE '{seed.else_label}'" in case


def test_eql_branch_lists_are_the_query_text() -> None:
    seed = elastic_seed()
    blocks = seed.query.split("\nnor\n")
    assert [b.name for b in seed.branches.values()] == ["process", "network", "dns"]
    process, network, dns = seed.branches.values()
    names = _clause(blocks[0], "process.name in (", ")")
    assert tuple(_strings(names, '"')) == process.process_names
    args = _clause(blocks[0], "process.args : (", ")\n")
    assert tuple(_strings(args, '"')) == process.arg_patterns
    assert tuple(_numbers(_clause(blocks[1], "destination.port in (", ")"))) == network.ports
    ips = _clause(blocks[1], "destination.ip : (", ")")
    assert tuple(_strings(ips, '"')) == network.private_ip_patterns
    browsers = _clause(blocks[1], "process.name in (", ")")
    assert tuple(_strings(browsers, '"')) == network.browser_names
    assert tuple(_strings(_clause(blocks[2], "dns.question.name in (", ")"), '"')) == dns.dns_names
    for block, branch in zip(blocks, seed.branches.values(), strict=True):
        assert f'event.category == "{branch.event_category}"' in block
        assert f'event.type == "{branch.event_type}"' in block
