"""Identifiers an emulation draws from its seeded generator: hex ids, UUIDs, containers."""

from __future__ import annotations

import random
import uuid

from imagehunt.emulate.steps import Container

CONTAINER_SHIM = "/usr/bin/containerd-shim-runc-v2"  # parent of a container's processes
CONTAINER_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def hex_digits(rng: random.Random, digits: int) -> str:
    """``digits`` lowercase hex digits."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(digits))


def random_uuid(rng: random.Random) -> str:
    """A version-4-shaped UUID."""
    h = hex_digits(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def uuid_from_bits(rng: random.Random) -> str:
    """A version-4 UUID made from 128 random bits of ``rng`` (not :func:`random_uuid`'s draws)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def base32_upper(rng: random.Random, count: int) -> str:
    """Upper-case letters and digits 2-7, as AWS access key ids use after their prefix."""
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(count))


def new_container(
    rng: random.Random, image: str, env: tuple[str, ...], kubernetes: bool
) -> Container:
    """A container of ``image``: Docker names end in a number, Kubernetes pods in hex."""
    base = image.rsplit("/", 1)[-1].split(":")[0].replace(".", "-")
    suffix = hex_digits(rng, 5) if kubernetes else str(rng.randint(1, 99))
    return Container(
        id=hex_digits(rng, 64),
        name=f"{base}-{suffix}",
        image=image,
        env=(CONTAINER_PATH, *env),
        runtime="containerd" if kubernetes else "docker",
    )
