"""The five atomic tests of the seeds' testing methodology for T1204.003, as data.

Both seed pages (QRadar and Elastic) end with the same five tests and the telemetry each
should produce. Each test here keeps that expected signal, the log formats it exists in, and
the rules of the pack that must catch it in each format. ``emulate/scenario.py`` turns a test
into concrete steps; ``validate`` checks the expectation below against a real scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AtomicTest:
    """One test: what it does, what the seeds expect, where it shows and what must fire."""

    number: int
    title: str
    behaviour: str
    expected_signal: str  # the seeds' "Expected signal", shortened
    expected_rules: Mapping[str, tuple[str, ...]]  # format -> rules that must all fire
    notes: Mapping[str, str] = field(default_factory=dict)  # format -> what the cell means

    @property
    def formats(self) -> tuple[str, ...]:
        """The log formats this test exists in, in the order of the issue's table."""
        return tuple(self.expected_rules)


_CONTAINER_MINER_NOTE = (
    "Docker reports the container start, not the process inside it: the image's namespace is "
    "what gives it away"
)
_LOOPBACK_NOTE = (
    "caught by container_downloader on the runtime-spawned wget; the connection to "
    "127.0.0.1:3333 alone never alerts (loopback is never a pool)"
)

TESTS: tuple[AtomicTest, ...] = (
    AtomicTest(
        number=1,
        title="Docker container executing a cryptocurrency miner",
        behaviour="xmrig started as the entry process of a container, under containerd-shim",
        expected_signal=(
            "process creation of 'xmrig' with a containerd-shim or runc parent (auditd, "
            "Sysmon for Linux EventID 1); Docker daemon container start"
        ),
        expected_rules={
            "ecs": ("miner_process",),
            "auditd": ("miner_process",),
            "sysmon": ("miner_process",),
            "falco": ("miner_process",),
            "docker": ("image_pull_malicious_namespace",),
        },
        notes={"docker": _CONTAINER_MINER_NOTE},
    ),
    AtomicTest(
        number=2,
        title="Mining-pool network connection attempt",
        behaviour=(
            "curl to pool.minexmr.com:3333 on Linux; Test-NetConnection -ComputerName "
            "pool.minexmr.com -Port 3333 on Windows"
        ),
        expected_signal=(
            "network connection to port 3333 of a public address by curl, DNS query for "
            "pool.minexmr.com (Sysmon EventID 3 and 22 on Windows)"
        ),
        expected_rules={
            "ecs": ("pool_connection", "pool_dns"),
            "auditd": ("pool_connection",),
            "sysmon": ("pool_connection",),
            "winlogbeat": ("pool_connection", "pool_dns"),
            "zeek": ("pool_connection", "pool_dns"),
        },
        notes={
            "auditd": "auditd sees the connect() to the address, not the name that was asked",
            "sysmon": "Sysmon for Linux has no DNS event (EventID 22 is Windows-only)",
        },
    ),
    AtomicTest(
        number=3,
        title="Pull and run of a malicious-style image",
        behaviour=(
            "pull of an image from a namespace reported for miner images; its entrypoint runs "
            "wget under the container runtime against 127.0.0.1:3333"
        ),
        expected_signal=(
            "Docker daemon image pull; wget spawned by the container runtime; connection "
            "attempt to 127.0.0.1:3333; `docker history` shows the layer commands"
        ),
        expected_rules={
            "docker": ("image_pull_malicious_namespace",),
            "ecs": ("container_downloader",),
            "auditd": ("container_downloader",),
            "sysmon": ("container_downloader",),
        },
        notes={
            "ecs": _LOOPBACK_NOTE,
            "auditd": _LOOPBACK_NOTE,
            "sysmon": _LOOPBACK_NOTE,
            "docker": (
                "`docker history` output (the layer commands) is not a log; image inspection "
                "is not built yet"
            ),
        },
    ),
    AtomicTest(
        number=4,
        title="EC2 instance launched from a public community AMI",
        behaviour=(
            "RunInstances in us-east-1 with a community AMI whose owner is not trusted, then "
            "StopInstances"
        ),
        expected_signal=(
            "CloudTrail RunInstances with the AMI id in requestParameters, the principal in "
            "userIdentity, awsRegion us-east-1; then StopInstances"
        ),
        expected_rules={"cloudtrail": ("cloud_image_launch",)},
        notes={
            "cloudtrail": (
                "the level depends on the trust list (emulate/environment.py); without one, "
                "an unknown owner is low"
            )
        },
    ),
    AtomicTest(
        number=5,
        title="Container credential exposure",
        behaviour=(
            "a container started with AWS_* variables; curl inside it posts the keys on its "
            "command line to an exfiltration endpoint"
        ),
        expected_signal=(
            "process creation of curl/wget with credentials on the command line under the "
            "container runtime; connection to the exfil endpoint; container config with AWS_*"
        ),
        expected_rules={
            "ecs": ("container_credential_exposure",),
            "auditd": ("container_credential_exposure",),
            "sysmon": ("container_credential_exposure",),
            "docker": ("container_credential_exposure",),
            "k8s": ("container_credential_exposure",),
        },
        notes={
            "docker": "Docker events carry no environment: the exec'd command line shows the keys",
            "k8s": "the pod spec's env holds the keys, and pods/exec shows the command line",
        },
    ),
)

EXTENSIONS: Mapping[str, str] = {  # format -> file extension of its telemetry
    "ecs": "ndjson",
    "auditd": "log",
    "sysmon": "log",
    "winlogbeat": "ndjson",
    "falco": "ndjson",
    "docker": "ndjson",
    "k8s": "ndjson",
    "zeek": "log",
    "cloudtrail": "json",
}
FORMATS: tuple[str, ...] = tuple(EXTENSIONS)


def get_test(number: int) -> AtomicTest:
    """The test with that number (1-5); KeyError otherwise."""
    for test in TESTS:
        if test.number == number:
            return test
    raise KeyError(number)
