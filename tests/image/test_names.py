"""Image reference parsing and typosquat detection (imagehunt.image.names)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from imagehunt.image.names import (
    ImageRef,
    TyposquatMatch,
    find_typosquat,
    parse_image_ref,
    typosquat_variants,
)

DIGEST = "sha256:" + "ab" * 32


def _shipped(name: str) -> list[str]:
    doc: Any = yaml.safe_load(
        (files("imagehunt") / "indicators" / f"{name}.yml").read_text(encoding="utf-8")
    )
    return [str(item["value"]) for item in doc["values"]]


POPULAR = _shipped("popular_images")
KNOWN_GOOD = _shipped("known_good_images")


# --- parse_image_ref -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "namespace", "name", "tag", "digest"),
    [
        ("nginx", "docker.io", "library", "nginx", None, None),
        ("nginx:1.25", "docker.io", "library", "nginx", "1.25", None),
        ("library/nginx", "docker.io", "library", "nginx", None, None),
        ("docker.io/nginx", "docker.io", "library", "nginx", None, None),
        ("docker.io/library/nginx:1.25", "docker.io", "library", "nginx", "1.25", None),
        ("index.docker.io/library/nginx", "docker.io", "library", "nginx", None, None),
        ("registry-1.docker.io/bitnami/redis:7.2", "docker.io", "bitnami", "redis", "7.2", None),
        ("bitnami/redis", "docker.io", "bitnami", "redis", None, None),
        ("ghcr.io/org/app", "ghcr.io", "org", "app", None, None),
        ("localhost:5000/app:dev", "localhost:5000", "", "app", "dev", None),
        ("localhost/team/app", "localhost", "team", "app", None, None),
        ("myregistry:5000/a/b/c:v1", "myregistry:5000", "a/b", "c", "v1", None),
        ("[::1]:5000/app", "[::1]:5000", "", "app", None, None),
        ("Registry.Example.COM/app", "registry.example.com", "", "app", None, None),
        (f"alpine@{DIGEST}", "docker.io", "library", "alpine", None, DIGEST),
        (f"alpine:3.19@{DIGEST}", "docker.io", "library", "alpine", "3.19", DIGEST),
        (
            "  quay.io/prometheus/node-exporter  ",
            "quay.io",
            "prometheus",
            "node-exporter",
            None,
            None,
        ),
        ("my_org/my__app-x.y", "docker.io", "my_org", "my__app-x.y", None, None),
    ],
)
def test_parse_normalizes_like_docker(
    text: str, registry: str, namespace: str, name: str, tag: str | None, digest: str | None
) -> None:
    assert parse_image_ref(text) == ImageRef(registry, namespace, name, tag, digest)


@pytest.mark.parametrize(
    ("text", "repository"),
    [
        ("nginx", "nginx"),
        ("docker.io/library/nginx:1.25", "nginx"),
        ("bitnami/redis:7", "bitnami/redis"),
        ("ghcr.io/org/app", "org/app"),
        ("ghcr.io/library/app", "library/app"),
        ("localhost:5000/app", "app"),
        ("example.com/a/b/c", "a/b/c"),
    ],
)
def test_repository_drops_registry_and_official_namespace(text: str, repository: str) -> None:
    assert parse_image_ref(text).repository == repository


def test_str_is_fully_qualified() -> None:
    assert str(parse_image_ref("nginx:1.25")) == "docker.io/library/nginx:1.25"
    assert str(parse_image_ref(f"localhost:5000/app@{DIGEST}")) == f"localhost:5000/app@{DIGEST}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Nginx",
        "docker.io/Library/nginx",
        "nginx:",
        "nginx:-bad",
        "nginx:" + "a" * 129,
        "nginx@sha256:abc",
        "nginx@sha256:" + "AB" * 32,
        "nginx@" + "ab" * 32,
        "bad//name",
        "-nginx",
        "nginx-",
        "ngi..nx",
        "ngi nx",
        "/nginx",
        ":latest",
        "exa_mple.com:5000/app",
        "a/" + "b" * 260,
    ],
)
def test_parse_rejects_invalid_references(text: str) -> None:
    with pytest.raises(ValueError):
        parse_image_ref(text)


# --- find_typosquat: the cases the rules rely on ---------------------------------------------


@pytest.mark.parametrize(
    ("ref", "target", "technique"),
    [
        ("ngnix", "nginx", "transposition"),
        ("alpien", "alpine", "transposition"),
        ("nginxx", "nginx", "doubling"),
        ("allpine", "alpine", "doubling"),
        ("ubunto", "ubuntu", "substitution"),
        ("redls", "redis", "homoglyph"),
        ("rnongo", "mongo", "homoglyph"),
        ("a1pine", "alpine", "homoglyph"),
        ("postgrs", "postgres", "deletion"),
        ("docker.io/library/alpien:3.19", "alpine", "transposition"),
        ("library/ngnix:latest", "nginx", "transposition"),
        ("libary/nginx", "nginx", "namespace"),
        ("librar/nginx:1.25", "nginx", "namespace"),
        ("bitnaml/redis", "bitnami/redis", "namespace"),
        ("bltnami/redis", "bitnami/redis", "namespace"),
        ("btinami/postgresql", "bitnami/postgresql", "namespace"),
        ("bitnami/rediss", "bitnami/redis", "doubling"),
    ],
)
def test_typosquats_are_found(ref: str, target: str, technique: str) -> None:
    match = find_typosquat(ref, POPULAR, KNOWN_GOOD)
    assert match is not None
    assert (match.target, match.technique) == (target, technique)


@pytest.mark.parametrize(
    "ref",
    [
        "nginx",
        "library/ubuntu",
        "docker.io/library/nginx:1.25",
        "nginx-ingress",
        "alpine/git",
        "bitnami/redis",
        "ghcr.io/org/app",
        "myorg/api",
        "postgres:16",
        "reds",
        "helloworld",
        "someone/nginx",
        "jenkinsci/jenkins",
        "quay.io/prometheus/node-exporter",
        "localhost:5000/ngnix",
        "gcr.io/distroless/static",
    ],
)
def test_legitimate_names_are_not_typosquats(ref: str) -> None:
    assert find_typosquat(ref, POPULAR, KNOWN_GOOD) is None


def test_registry_lookalike_is_reported() -> None:
    match = find_typosquat("dockr.io/library/nginx:1.25", POPULAR)
    assert match == TyposquatMatch("dockr.io/library/nginx", "docker.io", "registry")


def test_accepts_a_parsed_reference() -> None:
    ref = parse_image_ref("docker.io/library/ngnix")
    assert find_typosquat(ref, POPULAR) == TyposquatMatch("ngnix", "nginx", "transposition")


def test_invalid_reference_raises() -> None:
    with pytest.raises(ValueError):
        find_typosquat("NGINX", POPULAR)


def test_known_good_overrides_a_variant() -> None:
    assert find_typosquat("ngnix", ["nginx"]) is not None
    assert find_typosquat("ngnix", ["nginx"], ["ngnix"]) is None
    assert "ngnix" not in typosquat_variants(["nginx"], ["ngnix"])


# --- typosquat_variants ----------------------------------------------------------------------


def test_variants_of_one_name_cover_every_edit_class() -> None:
    variants = typosquat_variants(["nginx"])
    for expected in ["ngnix", "gninx", "ngix", "nginxx", "nnginx", "ng1nx", "nglnx"]:
        assert expected in variants
    assert "ngin" not in variants  # last character dropped: a prefix, not listed
    assert "nginx" not in variants


def test_short_names_get_no_deletions_and_nothing_under_four_characters() -> None:
    variants = typosquat_variants(["php", "node"])
    assert all(len(v) >= 4 for v in variants)
    assert "phpp" in variants
    assert "nod" not in variants and "noe" not in variants
    assert "ndoe" in variants


def test_namespace_lookalikes_pair_with_the_imitated_names() -> None:
    variants = typosquat_variants(["nginx", "alpine", "bitnami/redis", "bitnami/kafka"])
    assert {"libary/nginx", "libary/alpine", "btnami/redis", "bitnaml/kafka"} <= set(variants)
    assert "bitnami/rediss" not in variants  # only Bitnami can push under bitnami/


def test_variants_are_sorted_unique_and_deterministic() -> None:
    first = typosquat_variants(POPULAR, KNOWN_GOOD)
    again = typosquat_variants(list(reversed(POPULAR)), list(reversed(KNOWN_GOOD)))
    assert first == sorted(set(first))
    assert first == again


def test_shipped_variants_exclude_popular_and_known_good_and_stay_small() -> None:
    variants = typosquat_variants(POPULAR, KNOWN_GOOD)
    assert not set(variants) & set(POPULAR)
    assert not set(variants) & set(KNOWN_GOOD)
    assert all(len(v) >= 4 for v in variants)
    assert {"ngnix", "alpien", "nginxx", "allpine", "redls", "rnongo", "libary/nginx"} <= set(
        variants
    )
    assert 1000 < len(variants) <= 5000


def test_every_listed_variant_is_found_with_a_popular_target() -> None:
    popular = set(POPULAR)
    for variant in typosquat_variants(POPULAR, KNOWN_GOOD):
        match = find_typosquat(variant, POPULAR, KNOWN_GOOD)
        assert match is not None, variant
        assert match.target in popular, variant


def test_every_popular_name_is_not_a_typosquat() -> None:
    for repo in POPULAR:
        assert find_typosquat(repo, POPULAR, KNOWN_GOOD) is None, repo


_component = st.from_regex(r"[a-z0-9]{1,8}(?:[-_.][a-z0-9]{1,8}){0,2}", fullmatch=True)
# A first component with a dot is a registry host to Docker, so namespaces here have none.
_namespace = st.from_regex(r"[a-z0-9]{1,8}(?:[-_][a-z0-9]{1,8}){0,2}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    namespace=st.one_of(st.just(""), _namespace),
    name=_component,
    tag=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)),
)
def test_parse_round_trips_through_str(namespace: str, name: str, tag: str | None) -> None:
    text = f"{namespace}/{name}" if namespace else name
    if tag is not None:
        text += f":{tag}"
    ref = parse_image_ref(text)
    assert parse_image_ref(str(ref)) == ref
    assert ref.name == name and ref.tag == tag
