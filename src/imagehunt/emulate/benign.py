"""An ordinary working day around the attack: the benign half of every emulation.

The same activities whatever the test: admins and developers on Linux servers (cron, ssh
sessions, package updates, git, docker and kubectl, containers with health checks and
database passwords in their environment, internal services on ports miners also use), office
workstations on Windows (browsers, Office, PowerShell, Test-NetConnection to a file server),
and the platform team's AWS calls (launches of its golden AMIs, describes, tags, stops).
Nothing here is meant to alert: ``tests/emulate`` scans 20 seeds of it and requires no alert
at medium or above.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from imagehunt.emulate import environment
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
    ContainerStart,
    DnsLookup,
    Host,
    ImagePull,
    Process,
    ProcessStart,
    Step,
)

WINDOW_SECONDS = 8 * 60
LINUX_USER = ("jdoe", 1001, "/home/jdoe")
WINDOWS_USER = ("jdoe", 1104, "C:\\Users\\jdoe\\")
BENIGN_IMAGES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("nginx:1.27", ("nginx", "-g", "daemon off;"), ("NGINX_VERSION=1.27.2",)),
    ("redis:7.4", ("redis-server", "--appendonly", "yes"), ()),
    ("postgres:16", ("postgres",), ("POSTGRES_PASSWORD=Winter2026!", "PGDATA=/var/lib/pg")),
    ("bitnami/redis:7.2", ("/opt/bitnami/scripts/redis/run.sh",), ("ALLOW_EMPTY_PASSWORD=no",)),
    ("library/ubuntu:24.04", ("sleep", "infinity"), ()),
    ("alpine/git:2.45.2", ("git", "clone", "https://github.com/acme/site.git", "/src"), ()),
    (
        "registry.k8s.io/ingress-nginx/controller:v1.11.2",
        ("/nginx-ingress-controller", "--election-id=ingress-nginx-leader"),
        ("POD_NAMESPACE=ingress-nginx",),
    ),
    ("python:3.12-slim", ("gunicorn", "app:app", "-b", "0.0.0.0:8000"), ("AWS_REGION=us-east-1",)),
)


class _Day:
    """Collects benign steps on one host within the window around ``start``."""

    def __init__(
        self,
        rng: random.Random,
        host: Host,
        start: datetime,
        fmt: str,
        reserved: Sequence[tuple[float, float]],
    ) -> None:
        self.rng = rng
        self.reserved = reserved
        self.host = host
        self.start = start
        self.fmt = fmt
        self.steps: list[Step] = []
        self.next_pid = rng.randint(3000, 15000)

    def when(self) -> datetime:
        offset = self.rng.uniform(-WINDOW_SECONDS, WINDOW_SECONDS)
        while any(low <= offset <= high for low, high in self.reserved):
            offset = self.rng.uniform(-WINDOW_SECONDS, WINDOW_SECONDS)
        return self.start + timedelta(seconds=round(offset, 3))

    def later(self, at: datetime, seconds: float) -> datetime:
        """``seconds`` after ``at``, pushed past any reserved span it would fall in."""
        offset = round((at - self.start).total_seconds() + seconds, 3)
        for low, high in sorted(self.reserved):
            if low <= offset <= high:
                offset = high + 0.5
        return self.start + timedelta(seconds=offset)

    def pid(self) -> int:
        self.next_pid += self.rng.randint(1, 60)
        return self.next_pid

    def process(
        self,
        executable: str,
        args: tuple[str, ...],
        parent: Process | None,
        who: tuple[str, int, str] = ("root", 0, "/"),
    ) -> Process:
        user, uid, cwd = who
        parent_exe = parent.executable if parent else "/usr/lib/systemd/systemd"
        return Process(
            pid=self.pid(),
            ppid=parent.pid if parent else 1,
            executable=executable,
            args=args,
            parent_executable=parent_exe,
            parent_args=parent.args if parent else ("/sbin/init",),
            user=user,
            uid=uid,
            cwd=cwd,
        )

    def run(self, process: Process, at: datetime) -> None:
        self.steps.append(ProcessStart(at, self.host, False, process))

    def lookup_and_connect(
        self, process: Process, at: datetime, site: tuple[str, str], port: int
    ) -> None:
        name, ip = site
        self.steps.append(
            DnsLookup(
                at,
                self.host,
                False,
                process,
                name,
                (ip,),
                environment.RESOLVER,
                self.rng.randint(32768, 60999),
                transaction_id=self.rng.randint(1, 65535),
            )
        )
        self.connect(process, self.later(at, 40 / 1000), ip, port, name)

    def connect(self, process: Process, at: datetime, ip: str, port: int, name: str = "") -> None:
        source = "172.17.0.2" if process.container else self.host.ip
        self.steps.append(
            Connection(
                at,
                self.host,
                False,
                process,
                source,
                self.rng.randint(32768, 60999),
                ip,
                port,
                destination_name=name,
                outcome="established",
            )
        )

    # ---- Linux ----------------------------------------------------------------------------
    def linux_session(self) -> Process:
        sshd = self.process("/usr/sbin/sshd", ("sshd: jdoe [priv]",), None)
        shell = self.process("/usr/bin/bash", ("-bash",), sshd, LINUX_USER)
        self.run(shell, self.when())
        return shell

    def linux_commands(self, shell: Process) -> None:
        user = LINUX_USER
        simple = [
            ("/usr/bin/ls", ("ls", "-la")),
            ("/usr/bin/systemctl", ("systemctl", "status", "nginx")),
            ("/usr/bin/vim", ("vim", "deploy.yml")),
            ("/usr/bin/docker", ("docker", "ps", "--format", "{{.Names}}")),
            ("/usr/bin/ps", ("ps", "aux")),
            ("/usr/bin/top", ("top", "-b", "-n", "1")),
        ]
        for exe, args in self.rng.sample(simple, 4):
            self.run(self.process(exe, args, shell, user), self.when())
        git = self.process("/usr/bin/git", ("git", "pull", "--ff-only"), shell, user)
        at = self.when()
        self.run(git, at)
        self.lookup_and_connect(git, self.later(at, 30 / 1000), environment.BENIGN_SITES[0], 443)
        api = self.process(
            "/usr/bin/curl",
            ("curl", "-sS", "https://api.github.com/repos/acme/site/releases/latest"),
            shell,
            user,
        )
        at = self.when()
        self.run(api, at)
        self.lookup_and_connect(api, self.later(at, 25 / 1000), environment.BENIGN_SITES[1], 443)
        apt = self.process("/usr/bin/apt-get", ("apt-get", "update"), shell)
        at = self.when()
        self.run(apt, at)
        self.lookup_and_connect(apt, self.later(at, 50 / 1000), environment.BENIGN_SITES[2], 80)
        pip = self.process(
            "/usr/bin/python3",
            ("python3", "-m", "pip", "install", "--user", "requests"),
            shell,
            user,
        )
        at = self.when()
        self.run(pip, at)
        self.lookup_and_connect(pip, self.later(at, 80 / 1000), environment.BENIGN_SITES[5], 443)
        app = self.process("/usr/bin/python3", ("python3", "manage.py", "migrate"), shell, user)
        at = self.when()
        self.run(app, at)
        for ip, port in self.rng.sample(list(environment.INTERNAL_SERVICES), 3):
            self.connect(app, self.later(at, self.rng.uniform(0.1, 3)), ip, port)

    def cron(self) -> None:
        cron = self.process("/usr/sbin/cron", ("/usr/sbin/cron", "-f"), None)
        job = self.process(
            "/bin/sh", ("/bin/sh", "-c", "cd / && run-parts --report /etc/cron.hourly"), cron
        )
        self.run(job, self.when())
        backup = self.process(
            "/usr/bin/pg_dump", ("pg_dump", "-h", "10.20.4.17", "-U", "backup", "app"), job
        )
        at = self.when()
        self.run(backup, at)
        self.connect(backup, self.later(at, 20 / 1000), "10.20.4.17", 5432)

    def containers(self, shell: Process) -> None:
        kubernetes = self.fmt == "k8s"
        for image, command, env in self.rng.sample(list(BENIGN_IMAGES), 3):
            at = self.when()
            if not kubernetes:
                self.steps.append(
                    ImagePull(at, self.host, False, image, "sha256:" + hex_digits(self.rng, 64))
                )
            container = new_container(self.rng, image, env, kubernetes)
            start = self.later(at, self.rng.uniform(2, 20))
            self.steps.append(
                ContainerStart(
                    start,
                    self.host,
                    False,
                    container,
                    command,
                    user="jdoe",
                    pod=container.name if kubernetes else "",
                )
            )
            shim = Process(
                pid=self.pid(),
                ppid=1,
                executable=CONTAINER_SHIM,
                args=(CONTAINER_SHIM, "-namespace", "moby", "-id", container.id),
                parent_executable="/usr/lib/systemd/systemd",
            )
            exe = command[0] if command[0].startswith("/") else f"/usr/local/bin/{command[0]}"
            entry = Process(
                pid=self.pid(),
                ppid=shim.pid,
                executable=exe,
                args=command,
                parent_executable=CONTAINER_SHIM,
                parent_args=shim.args,
                container=container,
            )
            self.run(entry, self.later(start, 300 / 1000))
            if kubernetes:
                continue  # the kubelet runs probes itself: no process the audit log shows
            health = Process(
                pid=self.pid(),
                ppid=shim.pid,
                executable="/usr/bin/wget",
                args=("wget", "-q", "-O-", "http://localhost:8080/healthz"),
                parent_executable=CONTAINER_SHIM,
                parent_args=shim.args,
                container=container,
            )
            probe = self.later(start, self.rng.uniform(30, 90))
            self.run(health, probe)
            self.connect(health, self.later(probe, 5 / 1000), "127.0.0.1", 8080)

    # ---- Windows --------------------------------------------------------------------------
    def windows_day(self) -> None:
        explorer = Process(
            pid=self.pid(),
            ppid=self.pid(),
            executable="C:\\Windows\\explorer.exe",
            args=("C:\\Windows\\explorer.exe",),
            parent_executable="C:\\Windows\\System32\\userinit.exe",
            user="jdoe",
            uid=1104,
            cwd="C:\\Windows\\system32\\",
        )
        user = WINDOWS_USER
        chrome_exe = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
        chrome = self.process(chrome_exe, (chrome_exe,), explorer, user)
        at = self.when()
        self.run(chrome, at)
        for site in self.rng.sample(list(environment.BENIGN_SITES), 3):
            self.lookup_and_connect(chrome, self.later(at, self.rng.uniform(1, 60)), site, 443)
        office = "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"
        outlook = self.process(office, (office,), explorer, user)
        at = self.when()
        self.run(outlook, at)
        self.lookup_and_connect(outlook, self.later(at, 2), environment.BENIGN_SITES[10], 443)
        ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
        check = self.process(
            ps,
            (ps, "-NoProfile", "-Command", "Test-NetConnection -ComputerName fs01 -Port 445"),
            explorer,
            user,
        )
        at = self.when()
        self.run(check, at)
        self.lookup_and_connect(
            check, self.later(at, 60 / 1000), ("fs01.corp.local", "10.30.0.20"), 445
        )
        cmd = "C:\\Windows\\System32\\cmd.exe"
        shell = self.process(cmd, (cmd,), explorer, user)
        self.run(shell, self.when())
        ipconfig = "C:\\Windows\\System32\\ipconfig.exe"
        self.run(self.process(ipconfig, (ipconfig, "/all"), shell, user), self.when())

    # ---- AWS --------------------------------------------------------------------------------
    def cloud(self) -> None:
        arn = f"arn:aws:sts::{environment.ACCOUNT_ID}:assumed-role/platform-deploy/gitlab-runner"
        key = "ASIA" + base32_upper(self.rng, 16)
        agent = "Boto3/1.35.40 md/Botocore#1.35.40 ua/2.0 os/linux#6.8.0 lang/python#3.12.7"
        ip = self.rng.choice(environment.CALLER_IPS)

        def call(
            name: str,
            request: dict[str, object],
            response: dict[str, object] | None,
            read_only: bool,
            source: str = "ec2.amazonaws.com",
        ) -> None:
            self.steps.append(
                CloudCall(
                    time=self.when(),
                    host=self.host,
                    attack=False,
                    event_name=name,
                    event_source=source,
                    region=environment.REGION,
                    account_id=environment.ACCOUNT_ID,
                    principal_arn=arn,
                    principal_type="AssumedRole",
                    access_key_id=key,
                    source_ip=ip,
                    user_agent=agent,
                    request=request,
                    response=response,
                    event_id=random_uuid(self.rng),
                    request_id=random_uuid(self.rng),
                    read_only=read_only,
                )
            )

        call("DescribeInstances", {"instancesSet": {}, "filterSet": {}}, None, True)
        call(
            "DescribeImages",
            {"ownersSet": {"items": [{"owner": "self"}]}, "includeDeprecated": False},
            None,
            True,
        )
        instance = "i-0" + hex_digits(self.rng, 16)
        ami = self.rng.choice(environment.GOLDEN_AMIS + environment.AMAZON_AMIS)
        call(
            "RunInstances",
            {
                "instancesSet": {"items": [{"imageId": ami, "minCount": 2, "maxCount": 2}]},
                "instanceType": "t3.large",
                "subnetId": "subnet-0" + hex_digits(self.rng, 16),
            },
            {
                "requestId": random_uuid(self.rng),
                "reservationId": "r-0" + hex_digits(self.rng, 16),
                "ownerId": environment.ACCOUNT_ID,
                "instancesSet": {
                    "items": [
                        {
                            "instanceId": instance,
                            "imageId": ami,
                            "instanceState": {"code": 0, "name": "pending"},
                            "instanceType": "t3.large",
                        }
                    ]
                },
            },
            False,
        )
        call(
            "CreateTags",
            {
                "resourcesSet": {"items": [{"resourceId": instance}]},
                "tagSet": {"items": [{"key": "team", "value": "platform"}]},
            },
            {"requestId": random_uuid(self.rng), "_return": True},
            False,
        )
        call(
            "StopInstances",
            {
                "instancesSet": {"items": [{"instanceId": "i-0" + hex_digits(self.rng, 16)}]},
                "force": False,
            },
            None,
            False,
        )


def background(
    rng: random.Random,
    host: Host,
    start: datetime,
    fmt: str,
    reserved: Sequence[tuple[float, float]] = (),
) -> list[Step]:
    """Benign steps on ``host`` within eight minutes either side of ``start``.

    No benign step starts within a ``reserved`` span (seconds from ``start``): the attack's
    seconds stay its own, so a row can be attributed by its time even in formats that
    record whole seconds.
    """
    day = _Day(rng, host, start, fmt, reserved)
    parts: list[Callable[[], None]] = [day.cloud]
    if host.os == "windows":
        parts.append(day.windows_day)
    else:
        shell = day.linux_session()
        parts += [lambda: day.linux_commands(shell), day.cron, lambda: day.containers(shell)]
    for part in parts:
        part()
    return day.steps
