"""Image references: parse them the way Docker does, and spot look-alikes of popular images.

Two jobs live here:

* :func:`parse_image_ref` normalizes what a user typed (``nginx``, ``docker.io/library/nginx:1.25``,
  ``localhost:5000/team/app@sha256:...``) into an :class:`ImageRef`, with Docker's defaults
  (registry ``docker.io``, namespace ``library`` for official images).
* :func:`typosquat_variants` lists the repositories that are one deliberate edit away from a popular
  one (the rules turn that list into a match), and :func:`find_typosquat` judges one reference.

Every edit class is defined once (:func:`_one_edit`) and used by both, so a name the generator
lists is always one :func:`find_typosquat` reports. :func:`find_typosquat` also looks a little
wider (any one-character edit of a long enough name, any popular name under a look-alike
namespace, a look-alike of the Docker Hub registry host) because it judges one name at a time and
has no list size to keep small.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

DOCKER_HUB = "docker.io"
"""Registry Docker uses when a reference names none."""

OFFICIAL_NAMESPACE = "library"
"""Namespace of the Docker Official Images on Docker Hub."""

_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# Grammar of distribution/reference (the library Docker uses), written out here.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})")
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?"
)
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_MAX_NAME_LENGTH = 255

_MIN_VARIANT_LENGTH = 4
"""No variant shorter than this: short strings collide with unrelated names too easily."""

_MIN_DELETION_SOURCE = 5
"""Deletions only from names this long, so the result keeps at least four characters."""

_SEPARATORS = frozenset("._-")

_HUB_NAMESPACE = re.compile(r"[a-z0-9]{4,30}")
"""Docker Hub account and organization names: 4 to 30 lowercase letters and digits."""

# Which look-alike namespaces typosquat_variants() pairs with every name they imitate. The
# cross product is what makes the list long (each look-alike of ``library`` times ~145 official
# names), so ``library`` gets only its deletions (libary, librry, ...) and other namespaces their
# deletions and look-alike characters (btnami, bitnaml, bltnami); find_typosquat() still
# recognizes every one-edit look-alike of every popular namespace.
_LISTED_NAMESPACE_EDITS: dict[str, frozenset[str]] = {
    OFFICIAL_NAMESPACE: frozenset({"deletion"}),
    "": frozenset({"deletion", "homoglyph"}),
}

# Look-alike characters that are legal in Docker repository names (lowercase letters, digits).
# Each pair is one edit: the left text is replaced by the right text at one position.
_HOMOGLYPHS: tuple[tuple[str, str], ...] = (
    ("o", "0"),
    ("0", "o"),
    ("l", "1"),
    ("1", "l"),
    ("i", "1"),
    ("i", "l"),
    ("l", "i"),
    ("m", "rn"),
    ("rn", "m"),
    ("w", "vv"),
    ("vv", "w"),
    ("d", "cl"),
    ("cl", "d"),
)
_HOMOGLYPH_CHARS = frozenset((a, b) for a, b in _HOMOGLYPHS if len(a) == 1 and len(b) == 1)


@dataclass(frozen=True)
class ImageRef:
    """A parsed, normalized image reference."""

    registry: str
    """Registry host (lowercase, with port if given); ``docker.io`` when omitted."""
    namespace: str
    """Path before the last component; ``library`` for Docker Hub official images."""
    name: str
    """Last path component."""
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """Path without registry: ``nginx`` for official images, else ``namespace/name``."""
        if self.registry == DOCKER_HUB and self.namespace == OFFICIAL_NAMESPACE:
            return self.name
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def is_docker_hub(self) -> bool:
        """True when the image comes from Docker Hub."""
        return self.registry == DOCKER_HUB

    def __str__(self) -> str:
        path = f"{self.namespace}/{self.name}" if self.namespace else self.name
        text = f"{self.registry}/{path}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class TyposquatMatch:
    """A reference that imitates a popular repository, and how."""

    candidate: str
    """The repository examined (normalized, or ``registry/repository`` for registry look-alikes)."""
    target: str
    """The popular repository it imitates."""
    technique: str
    """``transposition``, ``deletion``, ``doubling``, ``insertion``, ``substitution``,
    ``homoglyph``, ``namespace`` or ``registry``."""


def parse_image_ref(text: str) -> ImageRef:
    """Parse an image reference with Docker's normalization rules.

    Raises ``ValueError`` naming the offending part when ``text`` is not a valid reference.
    """
    ref = text.strip()
    if not ref:
        raise ValueError("empty image reference")
    if any(ch.isspace() for ch in ref):
        raise ValueError(f"image reference contains whitespace: {text!r}")

    digest: str | None = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        _check_digest(digest, text)

    tag: str | None = None
    colon = ref.rfind(":")
    if colon > ref.rfind("/"):
        ref, tag = ref[:colon], ref[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ValueError(f"invalid tag {tag!r} in image reference {text!r}")
    if not ref:
        raise ValueError(f"image reference has no repository: {text!r}")

    registry = DOCKER_HUB
    remote = ref
    first, slash, rest = ref.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.fullmatch(first):
            raise ValueError(f"invalid registry host {first!r} in image reference {text!r}")
        registry = first.lower()
        remote = rest
        if registry in _DOCKER_HUB_HOSTS:
            registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in remote:
        remote = f"{OFFICIAL_NAMESPACE}/{remote}"

    components = remote.split("/")
    for component in components:
        if not _PATH_COMPONENT.fullmatch(component):
            why = "must be lowercase" if component.lower() != component else "is not valid"
            raise ValueError(
                f"repository path component {component!r} {why} in image reference {text!r}"
            )
    if len(registry) + 1 + len(remote) > _MAX_NAME_LENGTH:
        raise ValueError(f"image name longer than {_MAX_NAME_LENGTH} characters: {text!r}")
    return ImageRef(
        registry=registry,
        namespace="/".join(components[:-1]),
        name=components[-1],
        tag=tag,
        digest=digest,
    )


def _check_digest(digest: str, text: str) -> None:
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise ValueError(f"invalid digest {digest!r} in image reference {text!r}")
    algorithm, hexpart = match.group(1), match.group(2)
    expected = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected is not None and (len(hexpart) != expected or hexpart != hexpart.lower()):
        raise ValueError(
            f"{algorithm} digest needs {expected} lowercase hex digits in image reference {text!r}"
        )


def _one_edit(word: str) -> dict[str, str]:
    """Variants of ``word`` one deliberate edit away, each with its technique.

    Order decides the technique reported when two edits give the same string.
    """
    found: dict[str, str] = {}

    def keep(variant: str, technique: str) -> None:
        if (
            variant != word
            and variant not in found
            and len(variant) >= _MIN_VARIANT_LENGTH
            and _PATH_COMPONENT.fullmatch(variant)
        ):
            found[variant] = technique

    for i in range(len(word) - 1):
        a, b = word[i], word[i + 1]
        if a != b and a not in _SEPARATORS and b not in _SEPARATORS:
            keep(word[:i] + b + a + word[i + 2 :], "transposition")
    if len(word) >= _MIN_DELETION_SOURCE:
        # Interior characters only: dropping the first or last one mostly yields a prefix or
        # stem that is an ordinary word or another project ("http" from "httpd").
        for i in range(1, len(word) - 1):
            keep(word[:i] + word[i + 1 :], "deletion")
    for i, ch in enumerate(word):
        if ch.isalpha() and (i + 1 == len(word) or word[i + 1] != ch):
            keep(word[: i + 1] + ch + word[i + 1 :], "doubling")
    for old, new in _HOMOGLYPHS:
        start = word.find(old)
        while start != -1:
            keep(word[:start] + new + word[start + len(old) :], "homoglyph")
            start = word.find(old, start + 1)
    return found


def _normalize_repository(value: str) -> str:
    ref = parse_image_ref(value)
    if not ref.is_docker_hub:
        raise ValueError(f"popular and known-good images are Docker Hub repositories: {value!r}")
    return ref.repository


def _split(repository: str) -> tuple[str, str]:
    namespace, _, name = repository.rpartition("/")
    return (namespace or OFFICIAL_NAMESPACE), name


def _join(namespace: str, name: str) -> str:
    return name if namespace == OFFICIAL_NAMESPACE else f"{namespace}/{name}"


@dataclass(frozen=True)
class _Index:
    popular: frozenset[str]
    known_good: frozenset[str]
    by_namespace: Mapping[str, frozenset[str]]
    variants: Mapping[str, tuple[str, str]]
    namespace_lookalikes: Mapping[str, str]


@lru_cache(maxsize=8)
def _index(popular: tuple[str, ...], known_good: tuple[str, ...]) -> _Index:
    pop = frozenset(_normalize_repository(p) for p in popular)
    good = frozenset(_normalize_repository(g) for g in known_good)
    excluded = pop | good

    grouped: dict[str, set[str]] = {}
    for repo in pop:
        namespace, name = _split(repo)
        grouped.setdefault(namespace, set()).add(name)
    by_namespace = {ns: frozenset(names) for ns, names in grouped.items()}

    variants: dict[str, tuple[str, str]] = {}

    def add(variant: str, target: str, technique: str) -> None:
        if variant in excluded or variant in variants:
            return
        if len(variant) < _MIN_VARIANT_LENGTH:
            return
        variants[variant] = (target, technique)

    # Name edits only for official images: a publisher's namespace (bitnami/...) accepts pushes
    # from its owner alone, so a misspelt name under it cannot be an attacker's image.
    for name in sorted(by_namespace.get(OFFICIAL_NAMESPACE, ())):
        for variant, technique in _one_edit(name).items():
            add(variant, name, technique)

    # Look-alike namespaces can be registered by anyone: pair each with the names it imitates.
    lookalikes: dict[str, str] = {}
    for namespace in sorted(by_namespace):
        for variant_ns, technique in _one_edit(namespace).items():
            if variant_ns in by_namespace or variant_ns in lookalikes:
                continue
            lookalikes[variant_ns] = namespace
            if not _HUB_NAMESPACE.fullmatch(variant_ns):
                continue
            if technique not in _LISTED_NAMESPACE_EDITS.get(namespace, _LISTED_NAMESPACE_EDITS[""]):
                continue
            for name in sorted(by_namespace[namespace]):
                add(f"{variant_ns}/{name}", _join(namespace, name), "namespace")

    return _Index(
        popular=pop,
        known_good=good,
        by_namespace=by_namespace,
        variants=variants,
        namespace_lookalikes=lookalikes,
    )


def typosquat_variants(popular: Sequence[str], known_good: Sequence[str] = ()) -> list[str]:
    """Repositories one deliberate edit away from a popular one, sorted and de-duplicated.

    Edits: adjacent transposition, deletion of an interior character (names of five or more
    characters), a doubled letter, a look-alike character (0/o, 1/l/i, rn/m, vv/w, cl/d) and a
    one-edit look-alike of a popular namespace (``libary/nginx``, ``bitnaml/redis``). The result
    never contains a popular or known-good repository, nor a name shorter than four characters.
    Values are normalized repository paths (``nginx``, ``bitnami/redis``) like ``popular``.
    """
    index = _index(tuple(popular), tuple(known_good))
    return sorted(index.variants)


def _max_distance(length: int) -> int:
    if length < 5:
        return 0
    return 1 if length < 10 else 2


def _classify(candidate: str, target: str) -> str:
    """Name the single edit that best explains ``candidate`` as a copy of ``target``."""
    edits = _one_edit(target)
    if candidate in edits:
        return edits[candidate]
    if len(candidate) > len(target):
        return "insertion"
    if len(candidate) < len(target):
        return "deletion"
    diffs = [(a, b) for a, b in zip(target, candidate, strict=True) if a != b]
    if len(diffs) == 1 and diffs[0] in _HOMOGLYPH_CHARS:
        return "homoglyph"
    return "substitution"


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    best: tuple[int, str] | None = None
    for target in sorted(candidates):
        limit = _max_distance(len(target))
        if limit == 0 or name == target:
            continue
        distance = OSA.distance(name, target, score_cutoff=limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, target)
    return best[1] if best else None


def _registry_lookalike(registry: str) -> str | None:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    for real in sorted(_DOCKER_HUB_HOSTS):
        if host != real and OSA.distance(host, real, score_cutoff=2) <= 2:
            return real
    return None


def find_typosquat(
    ref: str | ImageRef, popular: Sequence[str], known_good: Sequence[str] = ()
) -> TyposquatMatch | None:
    """Say whether ``ref`` imitates a popular Docker Hub repository, and how.

    Returns ``None`` for a popular or known-good repository, for images on other registries
    (unless the registry host itself imitates Docker Hub's) and for names no close edit explains.
    Raises ``ValueError`` when ``ref`` is a string that is not a valid image reference.
    """
    image = parse_image_ref(ref) if isinstance(ref, str) else ref
    index = _index(tuple(popular), tuple(known_good))

    if not image.is_docker_hub:
        real = _registry_lookalike(image.registry)
        if real is None:
            return None
        return TyposquatMatch(f"{image.registry}/{image.repository}", real, "registry")

    repo = image.repository
    if repo in index.popular or repo in index.known_good:
        return None
    listed = index.variants.get(repo)
    if listed is not None:
        return TyposquatMatch(repo, listed[0], listed[1])

    namespace, name = _split(repo)
    if namespace not in index.by_namespace:
        real_ns = index.namespace_lookalikes.get(namespace)
        if real_ns is None:
            real_ns = _closest(namespace, index.by_namespace)
        if real_ns is not None and name in index.by_namespace[real_ns]:
            return TyposquatMatch(repo, _join(real_ns, name), "namespace")
        return None

    target_name = _closest(name, index.by_namespace[namespace])
    if target_name is None:
        return None
    return TyposquatMatch(repo, _join(namespace, target_name), _classify(name, target_name))
