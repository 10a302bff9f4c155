"""Shape and content checks for the shipped indicator lists (src/imagehunt/indicators/*.yml)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.types import SigmaString

from imagehunt.image.names import parse_image_ref, typosquat_variants
from support.reference_matcher import wildcard_match

FOLDER = Path(str(files("imagehunt") / "indicators"))
EXPECTED_LISTS = {
    "miner_names",
    "miner_flags",
    "pool_domains",
    "pool_ports",
    "container_runtimes",
    "container_clis",
    "downloaders",
    "browsers",
    "popular_images",
    "malicious_namespaces",
    "known_good_images",
}
TOP_KEYS = {"name", "description", "sources", "values", "dropped"}
# shared/ sits beside the repository checkout (locally and in CI).
ZEEK_DIR = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "zeek"


def _load(name: str) -> dict[str, Any]:
    doc: Any = yaml.safe_load((FOLDER / f"{name}.yml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _values(name: str) -> list[Any]:
    return [item["value"] for item in _load(name)["values"]]


def _dropped(name: str) -> list[Any]:
    return [item["value"] for item in _load(name)["dropped"]]


def _any_match(name: str, text: str) -> bool:
    return any(wildcard_match(SigmaString(str(v)), text, cased=False) for v in _values(name))


LIST_FILES = sorted(FOLDER.glob("*.yml"))


def test_every_expected_list_ships() -> None:
    assert {p.stem for p in LIST_FILES} >= EXPECTED_LISTS


@pytest.mark.parametrize("path", LIST_FILES, ids=lambda p: p.stem)
def test_list_shape(path: Path) -> None:
    doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and set(doc) == TOP_KEYS
    assert doc["name"] == path.stem
    assert isinstance(doc["description"], str) and len(doc["description"]) > 40
    sources = doc["sources"]
    assert isinstance(sources, dict)
    assert all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in sources.items())

    used: set[str] = set()
    for item in doc["values"]:
        assert isinstance(item, dict) and {"value", "sources"} <= set(item) <= {
            "value",
            "sources",
            "note",
        }, item
        value = item["value"]
        if path.stem == "pool_ports":
            assert type(value) is int, item
        else:
            assert isinstance(value, str) and value == value.strip() and value, item
        assert isinstance(item["sources"], list) and item["sources"], item
        undefined = set(item["sources"]) - set(sources)
        assert not undefined, f"{value!r} cites undefined sources {undefined}"
        used |= set(item["sources"])
        if "note" in item:
            assert isinstance(item["note"], str) and item["note"].strip()
    assert not set(sources) - used, f"sources never cited: {set(sources) - used}"

    assert isinstance(doc["dropped"], list)
    for item in doc["dropped"]:
        assert isinstance(item, dict) and set(item) == {"value", "reason"}, item
        assert isinstance(item["reason"], str) and len(item["reason"]) > 10, item


@pytest.mark.parametrize("path", LIST_FILES, ids=lambda p: p.stem)
def test_no_duplicates_and_nothing_both_kept_and_dropped(path: Path) -> None:
    def key(v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    kept = [key(v) for v in _values(path.stem)]
    dropped = [key(v) for v in _dropped(path.stem)]
    assert len(kept) == len(set(kept)), "duplicate kept values"
    assert len(dropped) == len(set(dropped)), "duplicate dropped values"
    assert not set(kept) & set(dropped)


def test_the_shipped_loader_reads_every_list() -> None:
    from imagehunt.indicators import load_indicator_lists

    lists = load_indicator_lists()
    for name in EXPECTED_LISTS:
        assert list(lists[name].values) == _values(name)
    assert "ngnix" in lists["typosquat_images"].values


# --- pool_ports ------------------------------------------------------------------------------


def test_pool_ports_are_valid_and_skip_generic_ports() -> None:
    ports = _values("pool_ports")
    assert all(1 <= p <= 65535 for p in ports)
    assert {3333, 14444, 45560} <= set(ports)
    generic = {25, 53, 80, 443, 8000, 8080, 8333, 8888, 9999, 19999}
    assert not generic & set(ports)
    assert {25, 8000, 8080, 8333, 9332} <= set(_dropped("pool_ports"))


def _zeek_destinations() -> Iterator[tuple[str, int]]:
    for path in sorted(ZEEK_DIR.glob("*conn*")):
        if path.suffix == ".ndjson":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    yield row["id_resp_h"], int(row["id_resp_p"])
            continue
        fields: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.lstrip()
            if stripped.startswith("#fields"):
                fields = stripped.split("\t")[1:]
            elif stripped and not stripped.startswith("#"):
                row = dict(zip(fields, line.split("\t"), strict=False))
                yield row["id.resp_h"], int(row["id.resp_p"])


@pytest.mark.skipif(not ZEEK_DIR.is_dir(), reason="shared/corpus/zeek not beside the checkout")
def test_no_pool_port_is_a_public_destination_in_benign_zeek_logs() -> None:
    destinations = list(_zeek_destinations())
    assert len(destinations) > 400  # both conn logs were read
    public_ports = {
        port
        for host, port in destinations
        if ipaddress.ip_address(host).is_global and not ipaddress.ip_address(host).is_multicast
    }
    assert 443 in public_ports  # the measurement sees real public traffic
    assert not public_ports & set(_values("pool_ports"))


# --- pool_domains ----------------------------------------------------------------------------

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _domain_hit(query: str) -> str | None:
    q = query.lower().rstrip(".")
    for value in _values("pool_domains"):
        if q == value or q.endswith("." + value):
            return str(value)
    return None


def test_pool_domains_are_lowercase_dns_names_without_wildcards() -> None:
    for value in _values("pool_domains"):
        labels = value.split(".")
        assert value == value.lower() and "*" not in value, value
        assert len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels), value
        assert labels[-1].isalpha() and len(value) <= 253, value


def test_pool_domains_are_not_redundant() -> None:
    values = _values("pool_domains")
    for a in values:
        for b in values:
            assert a == b or not a.endswith("." + b), f"{a} is already covered by {b}"


def test_pool_domains_skip_dual_use_apexes_and_invalid_names() -> None:
    values = set(_values("pool_domains"))
    assert not {"nicehash.com", "braiins.com", "viabtc.com", "binance.com", "xmr.pool"} & values
    assert {"xmr.pool", "*.nicehash.com"} <= set(_dropped("pool_domains"))


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("pool.minexmr.com", "minexmr.com"),
        ("xmr-eu1.nanopool.org", "nanopool.org"),
        ("SupportXMR.com", "supportxmr.com"),
        ("gulf.moneroocean.stream.", "moneroocean.stream"),
        ("randomxmonero.auto.nicehash.com", "auto.nicehash.com"),
        ("eu.stratum.braiins.com", "stratum.braiins.com"),
        ("donate.v2.xmrig.com", "donate.v2.xmrig.com"),
        ("www.nicehash.com", None),
        ("braiins.com", None),
        ("notnanopool.org", None),
        ("nanopool.org.evil.example", None),
    ],
)
def test_pool_domain_matching(query: str, hit: str | None) -> None:
    assert _domain_hit(query) == hit


# --- process names, flags, paths -------------------------------------------------------------


def test_miner_names_are_lowercase_exe_less_and_wildcards_are_distinctive() -> None:
    for value in _values("miner_names"):
        assert value == value.lower() and not value.endswith(".exe"), value
        assert "*" not in value[:-1], value
        if value.endswith("*"):
            assert len(value) >= 6, value


@pytest.mark.parametrize(
    "name",
    [
        "xmrig",
        "XMRig",
        "xmrig-notls",
        "xmrig-cuda",
        "xmr-stak-rx",
        "cpuminer-opt",
        "SRBMiner-MULTI",
        "kdevtmpfsi",
        "t-rex",
    ],
)
def test_miner_names_match_miners(name: str) -> None:
    assert _any_match("miner_names", name)


@pytest.mark.parametrize(
    "name",
    [
        "t-rex-64",
        "kdevtmpfs",
        "python3",
        "node",
        "chrome",
        "miner",
        "containerd",
        "java",
        "claymore-tool",
        "excavator",
    ],
)
def test_miner_names_skip_benign_processes(name: str) -> None:
    assert not _any_match("miner_names", name)


def test_miner_flags_are_single_argv_tokens() -> None:
    flags = _values("miner_flags")
    for value in flags:
        assert value.startswith("--") and " " not in value and "=" not in value, value
    assert {"--donate-level", "--randomx-1gb-pages", "--cpu-max-threads-hint"} <= set(flags)
    assert not {"--algo", "--url", "--user", "--threads", "--config"} & set(flags)
    assert "-o pool." in _dropped("miner_flags")


def test_runtimes_clis_and_downloaders() -> None:
    assert {"containerd-shim*", "runc", "docker-init", "conmon", "crun"} <= set(
        _values("container_runtimes")
    )
    assert _any_match("container_runtimes", "containerd-shim-runc-v2")
    assert not _any_match("container_runtimes", "dockerd")
    assert not _any_match("container_runtimes", "containerd")
    assert {"docker", "podman", "kubectl", "nerdctl", "crictl", "ctr"} <= set(
        _values("container_clis")
    )
    assert {"curl", "wget", "busybox"} <= set(_values("downloaders"))
    assert _any_match("downloaders", "python3.11")
    assert not _any_match("downloaders", "nginx")
    for name in ("container_runtimes", "container_clis", "downloaders"):
        for value in _values(name):
            assert value == value.lower() and not value.endswith(".exe"), value


_USER_WRITABLE = re.compile(
    r"appdata|\\users\\|\\temp\\|\\programdata\\|^/home/|^/tmp/|^/var/tmp/|^~|/users/",
    re.IGNORECASE,
)


def test_browsers_are_absolute_system_paths() -> None:
    for value in _values("browsers"):
        assert re.match(r"^(?:[A-Z]:\\|/)", value), value
        assert not _USER_WRITABLE.search(value), value


@pytest.mark.parametrize(
    "path",
    [
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"c:\program files (x86)\microsoft\edge\application\msedge.exe",
        r"C:\Program Files\Mozilla Firefox\firefox.exe",
        r"C:\Program Files\Opera\106.0.4998.70\opera.exe",
        "/usr/lib/firefox/firefox",
        "/snap/firefox/4173/usr/lib/firefox/firefox",
        "/opt/google/chrome/chrome",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ],
)
def test_browser_paths_match_installed_browsers(path: str) -> None:
    assert _any_match("browsers", path)


@pytest.mark.parametrize(
    "path",
    [
        r"C:\Users\bob\AppData\Local\Temp\chrome.exe",
        r"C:\Windows\Temp\chrome.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe.bak\xmrig.exe",
        "/tmp/firefox",
        "/home/bob/firefox/firefox",
        "chrome.exe",
    ],
)
def test_browser_paths_do_not_excuse_renamed_miners(path: str) -> None:
    assert not _any_match("browsers", path)


# --- images ----------------------------------------------------------------------------------


def test_popular_images_are_normalized_repositories() -> None:
    popular = _values("popular_images")
    for value in popular:
        assert parse_image_ref(value).repository == value, value
        assert not value.startswith("library/"), value
    assert {"nginx", "alpine", "ubuntu", "redis", "bitnami/redis", "postgres"} <= set(popular)
    official = [v for v in popular if "/" not in v]
    assert len(official) >= 130


def test_typosquat_variants_of_the_shipped_list() -> None:
    popular = _values("popular_images")
    known_good = _values("known_good_images")
    variants = set(typosquat_variants(popular, known_good))
    assert not variants & set(popular)
    assert not variants & set(known_good)
    assert {"ngnix", "alpien"} <= variants


def test_known_good_entries_each_suppress_a_real_variant() -> None:
    popular = _values("popular_images")
    unfiltered = set(typosquat_variants(popular))
    for value in _values("known_good_images"):
        assert parse_image_ref(value).repository == value, value
        assert value not in popular, value
        assert value in unfiltered, f"{value} is not a variant, so listing it does nothing"


def test_malicious_namespaces_are_docker_hub_accounts_with_dated_reports() -> None:
    doc = _load("malicious_namespaces")
    popular_namespaces = {v.split("/")[0] for v in _values("popular_images") if "/" in v}
    assert len(doc["values"]) >= 8
    for item in doc["values"]:
        assert re.fullmatch(r"[a-z0-9]{4,30}", item["value"]), item
        assert item["value"] not in popular_namespaces | {"library"}, item
        for key in item["sources"]:
            assert re.search(r"\b(?:19|20)\d\d\b", doc["sources"][key]), key
