"""Docker daemon events as ``docker events --format '{{json .}}'`` prints them, one per line.

Each message has the API >= 1.22 shape (``Type``, ``Action``, ``Actor{ID, Attributes}``,
``scope``, ``time``, ``timeNano``) and, for container and image events, the older
``status``/``id``/``from`` fields the daemon still fills. The CLI's ``json`` template
function writes compact JSON without HTML escaping; ``Attributes`` is a Go map, so its keys
come out sorted.

* image pull -> ``image`` ``pull`` (``Actor.ID`` = the reference in Docker's familiar form,
  ``Attributes.name`` = the repository), sent when the pull finishes;
* container start -> ``container`` ``create``, ``network`` ``connect`` (default bridge), then
  ``container`` ``start``; ``Attributes`` hold ``image`` (as the user wrote it) and ``name``;
* a process started by ``docker exec`` -> ``exec_create: CMD`` then ``exec_start: CMD``
  (``Attributes.execID``), the command being argv[0], a space, the other arguments joined.

The entry command of a container, and the processes it spawns, are not reported by Docker
(only the container start is), nor are processes outside Docker containers, connections,
DNS lookups, cloud calls, and pulls of images that only other runtimes start. An exec is a
process in a Docker container that is neither the container's entry command (the
``ContainerStart`` command) nor a child of a process already seen in that container. Exec
ids and the bridge network id come from the seeded generator or from hashes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from imagehunt.emulate.formats import (
    ExecTracker,
    ScenarioLike,
    digest,
    epoch_nanos,
    lines,
    seeded_random,
    split_image,
)
from imagehunt.emulate.ids import hex_digits
from imagehunt.emulate.steps import Container, ContainerStart, Host, ImagePull, ProcessStart

FORMAT = "docker"
_DEFAULT_REGISTRY = "docker.io/"
_OFFICIAL = "library/"


@dataclass(frozen=True)
class _Event:
    """One message, with the time it sorts by."""

    when: datetime
    order: int
    text: str


def familiar(reference: str) -> str:
    """The reference as Docker prints it: no ``docker.io/`` or ``library/``, ``:latest``
    added when neither a tag nor a digest is given."""
    name = reference.removeprefix(_DEFAULT_REGISTRY)
    if name.startswith(_OFFICIAL) and name.count("/") == 1:
        name = name.removeprefix(_OFFICIAL)
    repository = name.split("@", 1)[0]
    if "@" not in name and repository.rfind(":") <= repository.rfind("/"):
        name += ":latest"
    return name


def familiar_name(reference: str) -> str:
    """The repository of a familiar reference (tag and digest removed)."""
    return split_image(familiar(reference))[0]


def _json(message: dict[str, Any]) -> str:
    """Compact JSON as Go's encoder writes it with HTML escaping off."""
    text = orjson.dumps(message).decode()
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def exec_command(args: tuple[str, ...]) -> str:
    """``Entrypoint + " " + strings.Join(Args, " ")`` as dockerd puts it in the action."""
    if not args:
        return " "
    return f"{args[0]} {' '.join(args[1:])}"


class _Writer:
    """State of one output: the generator, the containers seen and the events written."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.seed = scenario.seed
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.events: list[_Event] = []
        self.execs = ExecTracker(scenario.steps, "docker")
        self.other_runtime_images: set[tuple[str, str]] = set()
        for step in scenario.steps:
            if isinstance(step, ContainerStart) and step.container.runtime != "docker":
                self.other_runtime_images.add((step.host.name, step.container.image))

    def _emit(self, when: datetime, message: dict[str, Any]) -> None:
        nanos = epoch_nanos(when)
        message["scope"] = "local"
        message["time"] = nanos // 1_000_000_000
        message["timeNano"] = nanos
        self.events.append(_Event(when, len(self.events), _json(message)))

    def _seconds(self, low: float, high: float) -> timedelta:
        return timedelta(microseconds=round(self.random.uniform(low, high) * 1_000_000))

    def pull(self, step: ImagePull) -> None:
        if (step.host.name, step.image) in self.other_runtime_images:
            return  # pulled for another runtime (containerd under Kubernetes, Podman)
        reference = familiar(step.image)
        actor = {"ID": reference, "Attributes": {"name": familiar_name(step.image)}}
        message = {"status": "pull", "id": reference, "Type": "image", "Action": "pull"}
        self._emit(step.time, {**message, "Actor": actor})

    def _container_event(
        self, when: datetime, container: Container, action: str, extra: dict[str, str]
    ) -> None:
        attributes = dict(
            sorted({**extra, "image": container.image, "name": container.name}.items())
        )
        message: dict[str, Any] = {
            "status": action,
            "id": container.id,
            "from": container.image,
            "Type": "container",
            "Action": action,
            "Actor": {"ID": container.id, "Attributes": attributes},
        }
        self._emit(when, message)

    def _bridge_id(self, host: Host) -> str:
        return digest(self.seed, FORMAT, "bridge", host.name).hex()

    def start(self, step: ContainerStart) -> None:
        container = step.container
        self._container_event(step.time - self._seconds(0.08, 0.25), container, "create", {})
        connect = {
            "Type": "network",
            "Action": "connect",
            "Actor": {
                "ID": self._bridge_id(step.host),
                "Attributes": {"container": container.id, "name": "bridge", "type": "bridge"},
            },
        }
        self._emit(step.time - self._seconds(0.01, 0.05), connect)
        self._container_event(step.time, container, "start", {})

    def process(self, step: ProcessStart) -> None:
        process = step.process
        container = process.container
        if container is None or not self.execs.is_exec(process):
            return
        exec_id = hex_digits(self.random, 64)
        command = exec_command(process.args)
        created = step.time - self._seconds(0.004, 0.02)
        started = step.time - self._seconds(0.0005, 0.002)
        attributes = {"execID": exec_id}
        self._container_event(created, container, f"exec_create: {command}", attributes)
        self._container_event(started, container, f"exec_start: {command}", attributes)


def write(scenario: ScenarioLike) -> str:
    """The ``docker events`` JSON lines of the scenario's Docker activity, in time order."""
    writer = _Writer(scenario)
    for step in scenario.steps:
        if isinstance(step, ImagePull):
            writer.pull(step)
        elif isinstance(step, ContainerStart) and step.container.runtime == "docker":
            writer.start(step)
        elif isinstance(step, ProcessStart):
            writer.process(step)
    ordered = sorted(writer.events, key=lambda event: (event.when, event.order))
    return lines([event.text for event in ordered])
